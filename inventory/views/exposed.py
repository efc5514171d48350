"""The "Exposed" page: every way into the estate's resources, and the account panel about it.

=========================  ========  =======  =======  ==========
page                       security  owner    viewer   anonymous
=========================  ========  =======  =======  ==========
exposed list, CSV / XLSX   yes       yes      yes      login page
=========================  ========  =======  =======  ==========

Rows come from :func:`inventory.services.exposure.exposed_rows` (the per-account analysis, cached
until the account's next collection), so the page costs two small queries per account in scope
plus one for the linked findings. One row per way into a resource, with its vector: a network path
(shown hop by hop: the internet gateway route, the subnet, the network ACL rule, the security-group
rule and the resource), a Lambda function URL, a resource-policy statement, an ACL grant, a
snapshot / AMI attribute or a role trust statement (shown as the evidence: the statement, grant or
attribute, escaped: every string in it comes from AWS and may be written by an attacker).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponseBase

from accounts.models import AwsAccount
from core.secrets import redactor_for
from core.ui import object_list, url_or_none
from inventory.exposure.results import ACL, RESOURCE_POLICY, SHARING, VECTORS
from inventory.forms import ExposedFilterForm
from inventory.services import exposure as service
from inventory.services.runs import ever_collected
from inventory.tables import ExposedTable

PANEL_ROWS = 5
# Ports whose exposure matters most: remote administration, databases and caches.
SENSITIVE_PORTS = (22, 23, 3389, 5900, 1433, 1521, 3306, 5432, 6379, 9200, 11211, 27017)


def accounts_in_scope(cleaned: dict[str, Any]) -> list[AwsAccount]:
    """The accounts a valid filter form (or no filter at all) covers."""
    qs = AwsAccount.objects.order_by("name", "account_id")
    if cleaned.get("account") is not None:
        qs = qs.filter(pk=cleaned["account"].pk)
    if cleaned.get("environment"):
        qs = qs.filter(environment__in=cleaned["environment"])
    return list(qs)


def exposed(request: HttpRequest) -> HttpResponseBase:
    """Every way into a resource, filtered; ``?export=csv`` / ``xlsx`` downloads it."""
    form = ExposedFilterForm(request.GET or None)
    rows: list[service.ExposedRow] = []
    if not form.is_bound or form.is_valid():
        cleaned = form.cleaned_data if form.is_bound else {}
        rows = service.exposed_rows(
            accounts_in_scope(cleaned),
            region=(cleaned.get("region") or "").strip().lower(),
            port=cleaned.get("port"),
            vector=cleaned.get("vector") or (),
        )
        service.attach_findings(rows)
        redactor = redactor_for(request.user)
        if redactor:  # a trust statement's ExternalId condition is the security team's to read
            rows = [dataclasses.replace(r, exposure=redactor.data(r.exposure)) for r in rows]
    params = request.GET
    return object_list(
        request,
        # a list, not a queryset: the table pages and sorts it in memory
        queryset=rows,  # type: ignore[arg-type]
        table_class=ExposedTable,
        template_name="inventory/exposed.html",
        title="Exposed: every way in",
        export_name="exposed",
        extra_context={
            "filter_form": form,
            "filters_active": any(params.getlist(k) for k in ExposedFilterForm.base_fields),
            "map_url": url_or_none("inventory:map"),
        },
    )


# ---------------------------------------------------------------------- the account panel
def _rank(x: dict[str, Any]) -> tuple[int, int, str]:
    sensitive = any(
        p.get("protocol") == "all"
        or (
            p.get("protocol") in ("tcp", "udp")
            and any(p.get("from_port", 0) <= s <= p.get("to_port", -1) for s in SENSITIVE_PORTS)
        )
        for p in x.get("ports") or []
    )
    # a policy, ACL or sharing that lets anyone in is as open as a path from the whole internet
    anyone = x.get("world") or x.get("vector") in (RESOURCE_POLICY, ACL, SHARING)
    return (
        0 if anyone else 1,
        0 if sensitive else 1,
        str(x.get("name") or x.get("resource_id") or ""),
    )


def top_exposed(exposed_list: Sequence[dict[str, Any]], limit: int = PANEL_ROWS) -> list[dict[str, Any]]:
    """The exposures to look at first: open to anyone (the whole internet, a public policy, ACL or
    sharing), then on admin/database ports."""
    return sorted(exposed_list, key=_rank)[:limit]


def account_panel(request: HttpRequest | None, account: AwsAccount) -> dict[str, Any]:
    """The account page's exposure panel: how many ways in (by vector), the first few, links."""
    exposure = service.account_exposure(account)
    top = [{**x, "url": service.resource_url(x.get("resource_pk"))} for x in top_exposed(exposure.exposed)]
    if request is not None:
        top = redactor_for(request.user).data(top)
    exposed_url = url_or_none("inventory:exposed")
    map_url = url_or_none("inventory:map")
    by_vector = [
        {
            "vector": vector,
            "label": VECTORS.get(vector, vector),
            "count": n,
            "url": f"{exposed_url}?{urlencode({'account': account.pk, 'vector': vector})}"
            if exposed_url
            else "",
        }
        for vector, n in exposure.by_vector().items()
    ]
    return {
        # never collected: nothing is known, which must not read as "nothing reachable"
        "collected": ever_collected(account),
        "count": exposure.count,
        "resources": exposure.resource_count,
        "by_vector": by_vector,
        "top": top,
        "more": max(0, exposure.count - len(top)),
        "via_load_balancer": len({t["target"] for t in exposure.via_load_balancer}),
        "exposed_url": f"{exposed_url}?account={account.pk}" if exposed_url else "",
        "map_url": f"{map_url}?account={account.pk}" if map_url else "",
    }
