"""The network map (one account's region, optionally one VPC) and the estate overview treemap.

=========================  ========  =======  =======  ==========
page                       security  owner    viewer   anonymous
=========================  ========  =======  =======  ==========
map, map data (JSON)       yes       yes      yes      login page
=========================  ========  =======  =======  ==========

The figure is laid out on the server (:func:`inventory.exposure.mapgraph.build_map`) and cached
per (account, collection stamp, filters) by :mod:`inventory.services.exposure`; the page ships it as
JSON (``json_script``) and ``static/js/map.js`` draws it with our own plotly.js. A click on a node
follows the server-made link for its ``customdata`` (resource page, filtered list, exposed list):
the browser never builds a URL from data.

Without an account the page shows the estate overview: live resources per account → region →
service → type, counted in one grouped query, as a treemap whose sectors link into the inventory.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.models import AwsAccount
from core.ui import url_or_none
from inventory.forms import MapFilterForm
from inventory.services import exposure as service
from inventory.views.report import is_unexpected

log = logging.getLogger(__name__)


def _stats(payload: dict[str, Any]) -> list[tuple[str, int]]:
    stats = payload.get("stats", {})
    return [
        ("Resources", stats.get("resources", 0)),
        ("Exposed", stats.get("exposed", 0)),
        ("Open by policy", stats.get("opened", 0)),
        ("Nodes", stats.get("nodes", 0)),
        ("Edges", stats.get("edges", 0)),
        ("Grouped", stats.get("grouped", 0)),
        ("VPCs", stats.get("vpcs", 0)),
        ("Subnets", stats.get("subnets", 0)),
    ]


def region_is_unexpected(account: AwsAccount, region: str) -> bool:
    """Whether the mapped region is outside the account's allowed regions: all of it is unexpected."""
    return is_unexpected(region, set(account.effective_allowed_regions()))


def map_view(request: HttpRequest) -> HttpResponse:
    """The map of one account's region, or the estate overview when no account is chosen."""
    form = MapFilterForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "title": "Map"}
    filters = form.map_filters()
    account = form.cleaned_data.get("account") if form.is_bound and form.is_valid() else None
    if account is not None and filters is not None:
        payload = service.map_payload(account, filters)
        context.update(
            unexpected_region=region_is_unexpected(account, filters.region),
            allowed_regions=account.effective_allowed_regions(),
            account=account,
            filters=filters,
            payload=payload,
            stats=_stats(payload),
            exposed_url=url_or_none("inventory:exposed"),
            data_url=url_or_none("inventory:map_data"),
        )
    elif account is not None:
        context.update(account=account, no_network=True)
    else:
        environment = form.cleaned_data.get("environment") if form.is_bound and form.is_valid() else ""
        accounts = AwsAccount.objects.filter(environment=environment) if environment else None
        context.update(
            overview=service.estate_overview(accounts), resources_url=url_or_none("inventory:resource_list")
        )
    return render(request, "inventory/map.html", context)


def map_data(request: HttpRequest) -> JsonResponse:
    """The map as JSON (same parameters as the page): figure, stats, node links, exposed nodes."""
    form = MapFilterForm(request.GET or None)
    filters = form.map_filters()
    if filters is None:
        errors = form.errors.get_json_data() if form.is_bound else {}
        if not errors:
            errors = {"account": [{"message": "Choose an account with collected network resources."}]}
        return JsonResponse({"errors": errors}, status=400)
    account = form.cleaned_data["account"]
    payload = service.map_payload(account, filters)
    return JsonResponse(
        {
            **payload,
            "account_id": account.account_id,
            "account_name": account.name,
            "unexpected_region": region_is_unexpected(account, filters.region),
        }
    )
