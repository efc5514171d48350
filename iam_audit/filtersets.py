"""Filters of the findings list and the IAM principals list (django-filter) and of the checks
catalogue (a plain form over code)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from accounts.choices import Environment
from accounts.models import AwsAccount
from core.filtersets import (
    BOOLEAN_SELECT,
    SEARCH_MAX_LENGTH,
    BoundedModelMultipleChoiceFilter,
    SearchFilterSet,
)
from iam_audit.choices import ACTIVE_STATUSES, FindingStatus, Severity
from iam_audit.models import Finding, Principal, PrincipalKind, PrivilegeLevel

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def check_choices() -> list[tuple[str, str]]:
    from iam_audit.engine import catalogue

    return [(check_id, check_id) for check_id in catalogue()]


def service_choices() -> list[tuple[str, str]]:
    from iam_audit.engine import catalogue

    return [(s, s) for s in sorted({c.service for c in catalogue().values()}, key=str.casefold)]


class FindingFilterSet(SearchFilterSet):
    """Findings: severity, status (open and reopened unless asked), account, environment, check,
    service, region, first seen between two dates, and ``q`` over title, summary and subject."""

    search_fields = ("title", "summary", "subject")

    severity = django_filters.MultipleChoiceFilter(
        distinct=False, choices=Severity.choices, widget=forms.CheckboxSelectMultiple
    )
    status = django_filters.MultipleChoiceFilter(
        distinct=False, choices=FindingStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    account = BoundedModelMultipleChoiceFilter(
        distinct=False, queryset=AwsAccount.objects.order_by("name"), widget=forms.CheckboxSelectMultiple
    )
    environment = django_filters.MultipleChoiceFilter(
        distinct=False,
        field_name="account__environment",
        choices=Environment.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Environment",
    )
    check = django_filters.MultipleChoiceFilter(
        distinct=False,
        field_name="check_id",
        choices=check_choices,
        widget=forms.CheckboxSelectMultiple,
        label="Check",
    )
    service = django_filters.MultipleChoiceFilter(
        distinct=False, choices=service_choices, widget=forms.CheckboxSelectMultiple, label="Service"
    )
    region = django_filters.CharFilter(label="Region", max_length=32, method="filter_region")
    first_seen_after = django_filters.DateFilter(
        label="First seen from", method="filter_seen_after", widget=DATE_INPUT
    )
    first_seen_before = django_filters.DateFilter(
        label="First seen to", method="filter_seen_before", widget=DATE_INPUT
    )

    class Meta:
        model = Finding
        fields = [
            "q",
            "severity",
            "status",
            "account",
            "environment",
            "check",
            "service",
            "region",
            "first_seen_after",
            "first_seen_before",
        ]

    def __init__(self, data: QueryDict | None = None, *args: Any, **kwargs: Any) -> None:
        # Without a status choice the list shows what needs attention: open and reopened findings.
        data = data.copy() if data is not None else QueryDict(mutable=True)
        if not data.getlist("status"):
            data.setlist("status", [str(s) for s in ACTIVE_STATUSES])
        super().__init__(data, *args, **kwargs)

    # whole UTC days as half-open ranges: the index on first_seen serves them (a __date lookup would not)
    def filter_seen_after(self, queryset: QuerySet[Finding], name: str, value: dt.date) -> QuerySet[Finding]:
        return queryset.filter(first_seen__gte=dt.datetime.combine(value, dt.time.min, tzinfo=dt.UTC))

    def filter_seen_before(self, queryset: QuerySet[Finding], name: str, value: dt.date) -> QuerySet[Finding]:
        if value >= dt.date.max:  # to the last day there is: no end (the day after would overflow)
            return queryset
        end = dt.datetime.combine(value + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        return queryset.filter(first_seen__lt=end)

    def filter_region(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        return queryset.filter(region=value.strip()) if value.strip() else queryset


class CheckFilterForm(forms.Form):
    """Filters of the checks catalogue (checks live in code, so this filters a list, not a queryset)."""

    q = forms.CharField(required=False, max_length=SEARCH_MAX_LENGTH, label="Search")
    service = forms.MultipleChoiceField(
        required=False, choices=service_choices, widget=forms.CheckboxSelectMultiple
    )
    severity = forms.MultipleChoiceField(
        required=False, choices=Severity.choices, widget=forms.CheckboxSelectMultiple
    )
    scope = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("account", "Account"), ("resource", "Resource")]
    )
    baseline = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("true", "Baseline items"), ("false", "Not baseline")]
    )
    state = forms.ChoiceField(
        required=False,
        label="Outcome",
        choices=[
            ("", "Any"),
            ("failing", "Failing somewhere"),
            ("unknown", "Unknown somewhere"),
            ("clean", "Passing everywhere"),
        ],
    )

    def keep(self, row: dict[str, Any]) -> bool:
        """Whether a catalogue row passes the (valid) filters."""
        data = self.cleaned_data
        q = (data.get("q") or "").strip().casefold()
        if q and not any(
            q in str(row.get(k, "")).casefold() for k in ("id", "title", "description", "service")
        ):
            return False
        if data.get("service") and row["service"] not in data["service"]:
            return False
        if data.get("severity") and row["severity"] not in data["severity"]:
            return False
        if data.get("scope") and row["scope"] != data["scope"]:
            return False
        if data.get("baseline") and row["baseline"] != (data["baseline"] == "true"):
            return False
        state = data.get("state")
        if state == "failing" and not row["failing"]:
            return False
        if state == "unknown" and not row["accounts_unknown"]:
            return False
        if state == "clean" and (row["failing"] or row["accounts_unknown"] or not row["passing"]):
            return False
        return True


class PrincipalFilterSet(SearchFilterSet):
    """Type, account, environment, privilege class, MFA, console, and ``q`` over name and ARN."""

    search_fields = ("name", "arn")

    kind = django_filters.MultipleChoiceFilter(
        choices=PrincipalKind.choices, widget=forms.CheckboxSelectMultiple, label="Type"
    )
    account = BoundedModelMultipleChoiceFilter(
        queryset=AwsAccount.objects.order_by("name"), widget=forms.CheckboxSelectMultiple
    )
    environment = django_filters.MultipleChoiceFilter(
        field_name="account__environment",
        choices=Environment.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Environment",
    )
    privilege = django_filters.MultipleChoiceFilter(
        choices=PrivilegeLevel.choices, widget=forms.CheckboxSelectMultiple, label="Privilege"
    )
    mfa = django_filters.BooleanFilter(label="MFA", widget=BOOLEAN_SELECT)
    console = django_filters.BooleanFilter(label="Console", widget=BOOLEAN_SELECT)

    class Meta:
        model = Principal
        fields = ["q", "kind", "account", "environment", "privilege", "mfa", "console"]
