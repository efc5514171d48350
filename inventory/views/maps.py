"""The network map (one account's region, optionally one VPC) and the estate overview treemap.

=========================  ========  =======  =======  ==========
page                       security  owner    viewer   anonymous
=========================  ========  =======  =======  ==========
map, map data (JSON)       yes       yes      yes      login page
=========================  ========  =======  =======  ==========

The figure is laid out on the server (:func:`inventory.exposure.mapgraph.build_map`) and cached
per (account, collection stamp, filters) by :mod:`inventory.exposure_service`; the page ships it as
JSON (``json_script``) and ``static/js/map.js`` draws it with our own plotly.js. A click on a node
follows the server-made link for its ``customdata`` (resource page, filtered list, exposed list):
the browser never builds a URL from data.

Without an account the page shows the estate overview: live resources per account → region →
service → type, counted in one grouped query, as a treemap whose sectors link into the inventory.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.choices import Environment
from accounts.models import AwsAccount
from core.params import BoundedModelChoiceField, int_param
from core.ui import url_or_none
from inventory import exposure_service as service
from inventory.views.report import is_unexpected

log = logging.getLogger(__name__)

TAG_MAX_LENGTH = 256


class AccountChoiceField(BoundedModelChoiceField):
    """Accounts shown as ``name (123456789012)``; an id no account can have is an invalid choice."""

    def label_from_instance(self, obj: Any) -> str:
        return service.account_label(obj.name, obj.account_id)


class MapFilterForm(forms.Form):
    """The map's filters. Region and VPC choices depend on the chosen account (the page reloads)."""

    environment = forms.ChoiceField(choices=[("", "Any"), *Environment.choices], required=False)
    account = AccountChoiceField(
        queryset=AwsAccount.objects.order_by("name", "account_id"), required=False, empty_label="Choose…"
    )
    region = forms.ChoiceField(required=False, choices=[("", "Busiest")])
    vpc = forms.ChoiceField(required=False, label="VPC", choices=[("", "All VPCs")])
    tag_key = forms.CharField(required=False, max_length=TAG_MAX_LENGTH, label="Tag key")
    tag_value = forms.CharField(required=False, max_length=TAG_MAX_LENGTH, label="Tag value")
    exposed = forms.BooleanField(required=False, label="Exposed only")

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        raw = data or {}
        environment = raw.get("environment", "")
        field = self.fields["account"]
        assert isinstance(field, forms.ModelChoiceField)
        if environment in Environment.values:
            field.queryset = field.queryset.filter(environment=environment)  # type: ignore[union-attr]
        self.regions: list[str] = []
        self.vpcs: list[tuple[str, str]] = []
        account_pk = _int(raw.get("account"))
        if account_pk is not None:
            self.regions = service.network_regions(account_pk)
            self.fields["region"].choices = [("", "Busiest"), *((r, r) for r in self.regions)]  # type: ignore[attr-defined]
            region = raw.get("region") if raw.get("region") in self.regions else ""
            region = region or (self.regions[0] if self.regions else "")
            if region:
                self.vpcs = service.vpcs_in(account_pk, region)
                self.fields["vpc"].choices = [("", "All VPCs"), *self.vpcs]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("tag_value") and not cleaned.get("tag_key"):
            self.add_error("tag_value", "Give the tag key too.")
        return cleaned

    def map_filters(self) -> service.MapFilters | None:
        """The filters of a valid form with an account (the busiest region when none was chosen)."""
        if not self.is_valid() or self.cleaned_data.get("account") is None:
            return None
        region = self.cleaned_data.get("region") or (self.regions[0] if self.regions else "")
        if not region:
            return None
        return service.MapFilters(
            region=region,
            vpc_id=self.cleaned_data.get("vpc") or "",
            tag_key=(self.cleaned_data.get("tag_key") or "").strip(),
            tag_value=(self.cleaned_data.get("tag_value") or "").strip(),
            exposed_only=bool(self.cleaned_data.get("exposed")),
        )


def _int(value: Any) -> int | None:
    """A positive id within the database's range, else None."""
    return int_param(value, None, minimum=1)


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
