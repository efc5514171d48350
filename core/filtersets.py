"""Filtersets: the shared base (a ``q`` search) and bounded model-choice filters every app uses.

Other apps subclass :class:`SearchFilterSet` and name the fields ``q`` searches::

    class ResourceFilterSet(SearchFilterSet):
        search_fields = ("name", "arn", "account__account_id")
        account_id = django_filters.ModelChoiceFilter(queryset=AwsAccount.objects.all(), field_name="account")

        class Meta:
            model = Resource
            fields = ["region", "service"]
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from core.params import BoundedFilterModelChoiceField, BoundedFilterModelMultipleChoiceField

SEARCH_MAX_LENGTH = 200
#: A yes/no filter as a select reading "Any / On / Off" rather than Django's "Unknown / Yes / No".
BOOLEAN_SELECT = forms.Select(choices=[("", "Any"), ("true", "On"), ("false", "Off")])


class BoundedModelChoiceFilter(django_filters.ModelChoiceFilter):
    """A model choice filter whose id is checked against the key's range (a form error, not a 500)."""

    field_class = BoundedFilterModelChoiceField


class BoundedModelMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Model choices filter whose ids are checked against the key's range: ``?account=2**63`` is the
    form's "not a valid value" error, where ``pk__in`` would raise in the database driver."""

    field_class = BoundedFilterModelMultipleChoiceField


class SearchFilterSet(django_filters.FilterSet):
    """A filterset with a free-text ``q`` that matches any of ``search_fields`` (case-insensitive)."""

    #: ORM paths ``q`` searches with ``icontains`` (OR-ed together).
    search_fields: tuple[str, ...] = ()

    q = django_filters.CharFilter(method="search", label="Search", max_length=SEARCH_MAX_LENGTH)

    def search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        value = value.strip()
        if not value or not self.search_fields:
            return queryset
        condition = reduce(
            operator.or_, (Q(**{f"{field}__icontains": value}) for field in self.search_fields)
        )
        return queryset.filter(condition)
