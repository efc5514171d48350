"""Inventory filters: what the resource list (and the report's links into it) can ask for.

Every filter maps to an indexed column or a cheap condition on PostgreSQL at a million rows:
account / type / region / service use the btree indexes of :class:`inventory.models.Resource`
(with the list's order, type then region then name, which those indexes serve);
``q`` is :mod:`inventory.search` (one trigram index over name and the ARN's resource part,
migration 0008, plus btree equalities); a tag key/value is JSON containment
(``tags @> '{"k": "v"}'``), checked on the rows the other filters leave. SQLite (the demo) has no
containment operator, so there the tags are walked with ``json_each``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import django_filters
from django import forms
from django.db import connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTransform
from django.http import QueryDict

from accounts.choices import Environment
from accounts.models import AwsAccount
from core.filtersets import SEARCH_MAX_LENGTH, BoundedModelChoiceFilter, SearchFilterSet
from core.ui import query_string
from inventory.forms import ResourceFilterForm, SuggestInput, known_regions
from inventory.models import CollectionRun, Resource, RunState, RunTrigger
from inventory.resource_types import RESOURCE_TYPES
from inventory.search import filters_named, search

TAG_MAX_LENGTH = 256  # AWS: keys up to 128 characters, values up to 256

DELETED_INCLUDE = "include"
DELETED_ONLY = "only"
DELETED_CHOICES = [(DELETED_INCLUDE, "Live and deleted"), (DELETED_ONLY, "Deleted only")]


def type_choices() -> list[tuple[str, str]]:
    """Every catalogued type as ``(type, "Title (type)")``, grouped by service."""
    return [(t, f"{rt.title} ({t})") for t, rt in sorted(RESOURCE_TYPES.items())]


def service_choices() -> list[tuple[str, str]]:
    """Every service of the catalogue."""
    return [(s, s) for s in sorted({rt.service for rt in RESOURCE_TYPES.values()})]


def tag_condition(queryset: QuerySet[Resource], key: str, value: str | None) -> QuerySet[Resource]:
    """Resources tagged ``key`` (with ``value`` when given), the key taken literally.

    PostgreSQL: ``tags ? key`` / ``tags @> {key: value}``, checked on the rows the other filters
    leave (there is no index on ``tags``: one would be a GIN index, and GIN maintenance is already
    the largest part of ingest's database work, see ``inventory.services.ingest._pg_chunk_settings``).
    SQLite: its JSON paths cannot name every key (a ``"`` in a key has no escape), so the tags are
    walked with ``json_each``; fine for the demo's sizes.
    """
    vendor = connections[queryset.db].vendor
    if vendor == "postgresql":
        if value is None or value == "":
            return queryset.filter(tags__has_key=key)
        return queryset.filter(tags__contains={key: value})
    if vendor == "sqlite":
        table = connections[queryset.db].ops.quote_name(Resource._meta.db_table)
        sql = f'EXISTS (SELECT 1 FROM json_each({table}."tags") WHERE json_each.key = %s'
        params: list[str] = [key]
        if value not in (None, ""):
            sql += " AND json_each.type = 'text' AND json_each.value = %s"
            params.append(value)
        return queryset.filter(RawSQL(sql + ")", params, output_field=BooleanField()))
    if value is None or value == "":
        return queryset.filter(tags__has_key=key)
    return queryset.alias(_tag_value=KeyTransform(key, "tags")).filter(_tag_value=value)


class ResourceFilterSet(SearchFilterSet):
    """Resource filters. ``deleted`` empty means live resources only, also when nothing is asked."""

    q = django_filters.CharFilter(
        method="search",
        label="Search",
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={
                "placeholder": "name, id, ARN…",
                "title": "Names and the ARN after the account (role/Admin) that contain it, "
                "the resource id that is it; starting with arn:, ARNs that start with it; "
                "an account id, region or service offers its filter.",
            }
        ),
    )
    account_id = BoundedModelChoiceFilter(
        field_name="account", queryset=AwsAccount.objects.order_by("name"), label="Account", empty_label="Any"
    )
    environment = django_filters.MultipleChoiceFilter(
        method="filter_environment", choices=Environment.choices, widget=forms.CheckboxSelectMultiple
    )
    region = django_filters.CharFilter(
        method="filter_region",
        max_length=32,
        widget=SuggestInput(known_regions, attrs={"placeholder": "any"}),
    )
    service = django_filters.ChoiceFilter(choices=service_choices, empty_label="Any", method="filter_service")
    type = django_filters.ChoiceFilter(choices=type_choices, empty_label="Any")
    tag_key = django_filters.CharFilter(method="filter_tag", label="Tag key", max_length=TAG_MAX_LENGTH)
    tag_value = django_filters.CharFilter(
        method="filter_nothing", label="Tag value", max_length=TAG_MAX_LENGTH
    )
    deleted = django_filters.ChoiceFilter(
        choices=DELETED_CHOICES, method="filter_nothing", label="Deleted", empty_label="Live only"
    )

    class Meta:
        model = Resource
        form = ResourceFilterForm
        fields = [
            "q",
            "account_id",
            "environment",
            "region",
            "service",
            "type",
            "tag_key",
            "tag_value",
            "deleted",
        ]

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # always bound, so "live only" applies to the bare list as well as to a filtered one
        super().__init__(data if data is not None else {}, *args, **kwargs)

    @cached_property
    def search_hints(self) -> list[tuple[str, str]]:
        """``(text, query string)`` of the filter the search term names as a whole word (an account
        id, a region, a service): the same list with that filter instead of the search."""
        term = self.form.cleaned_data.get("q", "") if self.is_valid() else ""
        hints = filters_named(term) if term else []
        params = self.data if isinstance(self.data, QueryDict) else QueryDict(mutable=True)
        return [
            (hint.text, query_string(params, drop=("q", "page"), **{hint.param: hint.value}))
            for hint in hints
        ]

    def search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        """Name, resource id or ARN (see :mod:`inventory.search` for exactly what matches)."""
        return search(queryset, value)

    def filter_environment(
        self, queryset: QuerySet[Resource], name: str, value: list[str]
    ) -> QuerySet[Resource]:
        """Resources of the accounts in these environments, named by key: as a join, PostgreSQL read
        and sorted every resource of those accounts for a page (1 s at a million, ``bench/search``);
        as a list of keys, it walks the list's order index to the first page's rows."""
        if not value:
            return queryset
        accounts = list(AwsAccount.objects.filter(environment__in=value).values_list("pk", flat=True))
        return queryset.filter(account_id__in=accounts)

    def filter_region(self, queryset: QuerySet[Resource], name: str, value: str) -> QuerySet[Resource]:
        value = value.strip().lower()
        return queryset.filter(region=value) if value else queryset

    def filter_service(self, queryset: QuerySet[Resource], name: str, value: str) -> QuerySet[Resource]:
        """The service's catalogued types, plus the service itself.

        Why the types: the list is ordered by type, and a service's types sit together in that
        order, so "service = x" alone leads PostgreSQL to walk the (type, region) index from the
        start, filtering, until it reaches them (seconds at a million rows); naming the types lets
        it seek straight there. Every collector yields catalogued types (the catalogue is the
        contract), so nothing is lost.
        """
        types = [t for t, rt in RESOURCE_TYPES.items() if rt.service == value]
        queryset = queryset.filter(service=value)
        return queryset.filter(type__in=types) if types else queryset

    def filter_tag(self, queryset: QuerySet[Resource], name: str, value: str) -> QuerySet[Resource]:
        return tag_condition(queryset, value, self.form.cleaned_data.get("tag_value"))

    def filter_nothing(self, queryset: QuerySet[Resource], name: str, value: Any) -> QuerySet[Resource]:
        # read by filter_tag / filter_queryset, which see the other fields too
        return queryset

    def filter_queryset(self, queryset: QuerySet[Resource]) -> QuerySet[Resource]:
        queryset = super().filter_queryset(queryset)
        deleted = self.form.cleaned_data.get("deleted") or ""
        if deleted == DELETED_ONLY:
            return queryset.filter(deleted_at__isnull=False)
        if deleted == DELETED_INCLUDE:
            return queryset
        return queryset.filter(deleted_at__isnull=True)


class RunFilterSet(SearchFilterSet):
    """Runs by account, state, trigger; ``q`` searches the account's ID and name and the message."""

    search_fields = ("account__account_id", "account__name", "message")
    account_id = django_filters.ModelChoiceFilter(
        queryset=AwsAccount.objects.only("pk", "name", "account_id"), field_name="account", label="Account"
    )
    state = django_filters.MultipleChoiceFilter(choices=RunState.choices, widget=forms.CheckboxSelectMultiple)
    trigger = django_filters.ChoiceFilter(choices=RunTrigger.choices, empty_label="Any")
    batch = django_filters.UUIDFilter()

    class Meta:
        model = CollectionRun
        fields = ["account_id", "state", "trigger", "batch"]
