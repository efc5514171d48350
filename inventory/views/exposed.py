"""The "Exposed" page: every way into the estate's resources, and the account panel about it.

=========================  ========  =======  =======  ==========
page                       security  owner    viewer   anonymous
=========================  ========  =======  =======  ==========
exposed list, CSV / XLSX   yes       yes      yes      login page
=========================  ========  =======  =======  ==========

Rows come from :func:`inventory.exposure_service.exposed_rows` (the per-account analysis, cached
until the account's next collection), so the page costs two small queries per account in scope
plus one for the linked findings. One row per way into a resource, with its vector: a network path
(shown hop by hop: the internet gateway route, the subnet, the network ACL rule, the security-group
rule and the resource), a Lambda function URL, a resource-policy statement, an ACL grant, a
snapshot / AMI attribute or a role trust statement (shown as the evidence: the statement, grant or
attribute, escaped: every string in it comes from AWS and may be written by an attacker).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import django_tables2 as tables
from django import forms
from django.http import HttpRequest, HttpResponseBase
from django.utils.html import format_html, format_html_join

from accounts.choices import Environment
from accounts.models import AwsAccount
from accounts.tables import AccountColumn
from core.secrets import redactor_for
from core.tables import EMPTY, BaseTable
from core.ui import object_list, url_or_none
from inventory import exposure_service as service
from inventory.exposure.results import ACL, RESOURCE_POLICY, SHARING, VECTORS
from inventory.services.runs import ever_collected
from inventory.views.maps import AccountChoiceField

PANEL_ROWS = 5
# Ports whose exposure matters most: remote administration, databases and caches.
SENSITIVE_PORTS = (22, 23, 3389, 5900, 1433, 1521, 3306, 5432, 6379, 9200, 11211, 27017)


class ExposedFilterForm(forms.Form):
    """Filters of the exposed list: account, environment, way in, region, port."""

    account = AccountChoiceField(
        queryset=AwsAccount.objects.order_by("name", "account_id"), required=False, empty_label="Any"
    )
    environment = forms.MultipleChoiceField(
        choices=Environment.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    vector = forms.MultipleChoiceField(
        choices=list(VECTORS.items()),
        required=False,
        label="Way in",
        widget=forms.CheckboxSelectMultiple,
    )
    region = forms.CharField(
        required=False, max_length=32, widget=forms.TextInput(attrs={"placeholder": "any"})
    )
    port = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=65535,
        help_text="TCP or UDP port (network ways in only)",
        widget=forms.NumberInput(attrs={"placeholder": "any"}),
    )


def accounts_in_scope(cleaned: dict[str, Any]) -> list[AwsAccount]:
    """The accounts a valid filter form (or no filter at all) covers."""
    qs = AwsAccount.objects.order_by("name", "account_id")
    if cleaned.get("account") is not None:
        qs = qs.filter(pk=cleaned["account"].pk)
    if cleaned.get("environment"):
        qs = qs.filter(environment__in=cleaned["environment"])
    return list(qs)


def _evidence_html(record: service.ExposedRow) -> str:
    """The statements / grants / attributes that open the resource, one a line, escaped."""
    evidence = [e for e in record.exposure.get("evidence") or [] if isinstance(e, dict)]
    if not evidence:
        return EMPTY
    return format_html(
        '<ul class="evidence">{}</ul>',
        format_html_join(
            "",
            "<li>{}{}</li>",
            (
                (
                    str(e.get("summary", ""))[:400],
                    format_html(
                        ' <details class="small"><summary>as written</summary><pre class="mono">{}</pre></details>',
                        json.dumps(e.get("statement"), indent=1, default=str)[:4000],
                    )
                    if e.get("statement")
                    else "",
                )
                for e in evidence
            ),
        ),
    )


class HopsColumn(tables.Column):
    """The way in: the network path, one hop a line (hops that are stored resources link to their
    page); for the other vectors, the evidence."""

    def render(self, record: service.ExposedRow) -> str:
        hops = record.exposure.get("hops") or []
        if not hops:
            return _evidence_html(record)
        items = []
        for hop in hops:
            url = service.resource_url(hop.get("resource_pk"))
            ident = format_html('<a href="{}">{}</a>', url, hop.get("id", "")) if url else hop.get("id", "")
            detail = hop.get("detail") or ""
            items.append(
                format_html(
                    '<li><span class="hop-kind">{}</span> {}{}</li>',
                    hop.get("title", ""),
                    ident,
                    format_html(' <span class="muted">({})</span>', detail[:300]) if detail else "",
                )
            )
        return format_html('<ol class="hops">{}</ol>', format_html_join("", "{}", ((i,) for i in items)))

    def value(self, record: service.ExposedRow) -> str:
        return str(record.exposure.get("path_text") or record.exposure.get("evidence_text") or "")


class ResourceColumn(tables.Column):
    """The resource's name (linked to its page) with its id underneath."""

    def render(self, record: service.ExposedRow) -> str:
        x = record.exposure
        name = x.get("name") or x.get("resource_id") or x.get("arn")
        url = service.resource_url(x.get("resource_pk"))
        link = format_html('<a href="{}">{}</a>', url, name) if url else format_html("{}", name)
        if x.get("resource_id") and x.get("resource_id") != name:
            return format_html('{} <div class="muted mono small">{}</div>', link, x["resource_id"])
        return link

    def value(self, record: service.ExposedRow) -> str:
        return str(record.exposure.get("name") or record.exposure.get("resource_id") or "")


class FindingsColumn(tables.Column):
    """Unresolved findings on the resource or on the security groups that expose it."""

    def render(self, record: service.ExposedRow) -> str:
        if not record.findings:
            return EMPTY
        return format_html(
            '<ul class="finding-links">{}</ul>',
            format_html_join(
                "",
                '<li><span class="badge sev-{}">{}</span> <a href="{}" title="{}">{}</a>{}</li>',
                (
                    (
                        f["severity"],
                        f["severity"],
                        f["url"] or "#",
                        f["title"],
                        f["check_id"],
                        " (suppressed)" if f["status"] == "suppressed" else "",
                    )
                    for f in record.findings
                ),
            ),
        )

    def value(self, record: service.ExposedRow) -> str:
        return ", ".join(f"{f['check_id']} ({f['severity']})" for f in record.findings)


class ExposedTable(BaseTable):
    """One row per way into a resource."""

    account = AccountColumn(order_by=("account__name", "exposure__region"))
    account_id = tables.Column(accessor="account__account_id", verbose_name="Account ID")
    environment = tables.Column(accessor="account__environment", verbose_name="Environment")
    region = tables.Column(accessor="exposure__region", attrs={"td": {"class": "nowrap"}})
    resource = ResourceColumn(accessor="exposure__name", empty_values=(), order_by=("exposure__resource_id",))
    type = tables.Column(accessor="exposure__type", attrs={"td": {"class": "mono small"}})
    vector = tables.Column(accessor="exposure__vector", verbose_name="Way in")
    ports = tables.Column(accessor="exposure__ports_text", verbose_name="Ports / protocols")
    world = tables.Column(accessor="exposure__world", verbose_name="Whole internet")
    path = HopsColumn(empty_values=(), orderable=False, verbose_name="Path in / evidence")
    findings = FindingsColumn(empty_values=(), orderable=False)
    resource_id = tables.Column(accessor="exposure__resource_id", verbose_name="Resource ID")
    arn = tables.Column(accessor="exposure__arn", verbose_name="ARN", attrs={"td": {"class": "mono wrap"}})
    cidrs = tables.Column(accessor="exposure__cidrs", verbose_name="From", orderable=False)
    security_groups = tables.Column(accessor="exposure__security_groups", orderable=False)
    public_addresses = tables.Column(accessor="exposure__public_addresses", orderable=False)
    reasons = tables.Column(accessor="exposure__reasons", orderable=False)
    evidence = tables.Column(accessor="exposure__evidence_text", orderable=False, verbose_name="Evidence")

    default_columns = (
        "account",
        "environment",
        "region",
        "resource",
        "type",
        "vector",
        "ports",
        "path",
        "findings",
    )

    class Meta(BaseTable.Meta):
        empty_text = "Nothing is reachable from the internet or open to anyone with these filters."
        orderable = True

    def render_environment(self, record: service.ExposedRow) -> str:
        return format_html(
            '<span class="badge env-{}">{}</span>',
            record.account.environment,
            record.account.get_environment_display(),
        )

    def value_environment(self, record: service.ExposedRow) -> str:
        return record.account.environment

    def render_vector(self, record: service.ExposedRow) -> str:
        vector = str(record.exposure.get("vector", ""))
        return format_html(
            '<span class="badge vector-{}">{}</span>', vector, VECTORS.get(vector, vector) or EMPTY
        )

    def value_vector(self, record: service.ExposedRow) -> str:
        return str(record.exposure.get("vector", ""))

    def render_evidence(self, record: service.ExposedRow) -> str:
        return _evidence_html(record)

    def value_evidence(self, record: service.ExposedRow) -> str:
        return str(record.exposure.get("evidence_text", ""))

    def render_ports(self, record: service.ExposedRow) -> str:
        if not record.exposure.get("ports"):
            return EMPTY
        return format_html(
            '<span class="mono ports" title="{}">{}</span>',
            record.exposure.get("ports_text", ""),
            record.exposure.get("port_label", ""),
        )

    def value_ports(self, record: service.ExposedRow) -> str:
        return str(record.exposure.get("ports_text", ""))

    def render_world(self, value: Any) -> str:
        return "yes" if value else "some addresses"

    def value_world(self, value: Any) -> str:
        return "yes" if value else "no"

    def _join(self, value: Any) -> str:
        return ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value or "")

    def render_cidrs(self, value: Any) -> str:
        return self._join(value) or EMPTY

    def render_security_groups(self, value: Any) -> str:
        return self._join(value) or EMPTY

    def render_public_addresses(self, value: Any) -> str:
        return self._join(value) or EMPTY

    def render_reasons(self, value: Any) -> str:
        return "; ".join(str(v) for v in value) if value else EMPTY

    def value_cidrs(self, value: Any) -> str:
        return self._join(value)

    def value_security_groups(self, value: Any) -> str:
        return self._join(value)

    def value_public_addresses(self, value: Any) -> str:
        return self._join(value)

    def value_reasons(self, value: Any) -> str:
        return "; ".join(str(v) for v in value) if value else ""


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
