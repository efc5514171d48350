"""Filtersets: the registry's own filters (the shared base is :mod:`core.filtersets`)."""

from __future__ import annotations

import django_filters
from django import forms

from accounts.choices import AccessStatus, AccountStatus, Environment
from accounts.models import AwsAccount, Team
from core.filtersets import BOOLEAN_SELECT, BoundedModelChoiceFilter, SearchFilterSet


class AwsAccountFilterSet(SearchFilterSet):
    """Registry filters: environment, owner, status, access, collection, and ``q``."""

    search_fields = ("name", "account_id", "description", "org_unit", "email")

    environment = django_filters.MultipleChoiceFilter(
        choices=Environment.choices, widget=forms.CheckboxSelectMultiple
    )
    owner = BoundedModelChoiceFilter(queryset=Team.objects.all(), null_label="(no owner)", empty_label="Any")
    status = django_filters.MultipleChoiceFilter(
        choices=AccountStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    access_status = django_filters.ChoiceFilter(
        choices=AccessStatus.choices, label="Access", empty_label="Any"
    )
    collection_enabled = django_filters.BooleanFilter(label="Collection", widget=BOOLEAN_SELECT)

    class Meta:
        model = AwsAccount
        fields = ["q", "environment", "owner", "status", "access_status", "collection_enabled"]


class TeamFilterSet(SearchFilterSet):
    """Team filters: ``q`` over name, description and contact address."""

    search_fields = ("name", "description", "contact_email")

    class Meta:
        model = Team
        fields = ["q"]
