"""Query parameters, validated where they are read: every page's ``request.GET`` goes through here.

A query string is whatever a visitor types, so each value is checked before it reaches the database
or a paginator: integers within bounds (an id past the database's integer range raises on
PostgreSQL and SQLite alike), choices from their allowed set, dates that exist, sort keys that are
columns, no NUL character (PostgreSQL refuses it in a string) and no value longer than any field
could hold. A value that fails gives the default (or the form's error, for form fields), never a
server error.

* :func:`int_param`, :func:`choice_param`, :func:`text_param`: one value (dates are form fields).
* :func:`per_page_param`, :func:`page_param`, :func:`sort_param`: a table's pagination and order.
* :class:`BoundedModelChoiceField`, :class:`BoundedModelMultipleChoiceField` (and their
  django-filter twins, used by the filters of :mod:`core.filtersets`): model choices whose ids
  are checked against the key column's range before the lookup (Django bounds ``pk=`` lookups,
  not ``pk__in=``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, TypeVar

import django_filters.fields
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections

#: The widest integer column (``bigint``, the primary keys): anything outside is no row's value.
DB_INT_MIN = -(2**63)
DB_INT_MAX = 2**63 - 1
#: Longer than any value a page reads (the longest are ARNs and search terms, 2048 at most).
MAX_VALUE_LENGTH = 4096
#: The page sizes a table offers (``?per_page=``); anything else gives the page's default.
PER_PAGE_CHOICES = (10, 25, 50, 100, 200)

T = TypeVar("T")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def int_param(value: Any, default: T, *, minimum: int = DB_INT_MIN, maximum: int = DB_INT_MAX) -> int | T:
    """``value`` as an integer in ``[minimum, maximum]``, else ``default``.

    Only ASCII digits with an optional sign are numbers here (``int()`` alone also takes ``1_000``,
    ``" 7 "`` and other scripts' digits); anything else, or anything out of range, is ``default``.
    """
    text = _text(value).strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or len(digits) > 20 or not (digits.isascii() and digits.isdigit()):
        return default
    number = int(text)
    return number if minimum <= number <= maximum else default


def choice_param(value: Any, allowed: Collection[str], default: T) -> str | T:
    """``value`` when it is one of ``allowed``, else ``default``."""
    text = _text(value)
    return text if text in allowed else default


def text_param(value: Any, max_length: int = MAX_VALUE_LENGTH, default: str = "") -> str:
    """``value`` stripped, or ``default`` when it is too long or holds a NUL character."""
    text = _text(value).strip()
    if len(text) > max_length or "\x00" in text:
        return default
    return text


def per_page_param(params: Mapping[str, Any], default: int, name: str = "per_page") -> int:
    """The page size asked for when it is one the tables offer (or the page's own), else ``default``."""
    asked = int_param(params.get(name), None)
    return asked if asked in PER_PAGE_CHOICES or asked == default else default


def page_param(params: Mapping[str, Any], name: str = "page") -> int:
    """A page number of at least 1. A number past the end stays (paginators show the last page);
    one past any integer, or no number at all, is the first page."""
    return int_param(params.get(name), 1, minimum=1)


def sort_param(values: Iterable[Any], allowed: Collection[str], limit: int = 3) -> list[str]:
    """The sort keys (``name`` or ``-name``) that name one of ``allowed``, at most ``limit``."""
    keys: list[str] = []
    for value in values:
        for key in _text(value).split(","):
            key = key.strip()
            if key.lstrip("-") in allowed and key not in keys:
                keys.append(key)
    return keys[:limit]


# --- model choices ------------------------------------------------------------------------------


def key_in_range(queryset: Any, key: str | None, value: Any) -> bool:
    """Whether ``value`` can be a value of the queryset's ``key`` column (``pk`` when None).

    For integer keys: digits within the column's range on the queryset's database. Other keys
    (text) only need no NUL character and a sane length.
    """
    model = queryset.model
    field = model._meta.pk if key in (None, "pk") else model._meta.get_field(key)
    text = _text(value).strip()
    if "\x00" in text or len(text) > MAX_VALUE_LENGTH:
        return False
    internal = field.get_internal_type()
    if "Integer" not in internal and "AutoField" not in internal:
        return True
    low, high = connections[queryset.db].ops.integer_field_range(internal)
    low = DB_INT_MIN if low is None else low
    high = DB_INT_MAX if high is None else high
    return int_param(text, None, minimum=low, maximum=high) is not None


class BoundedKeyMixin:
    """For model choice fields: an id outside the key column's range is an invalid choice, found
    before any query (``pk__in=[2**63]`` raises on both databases; ``pk=`` is bounded by Django)."""

    queryset: Any
    to_field_name: str | None
    error_messages: dict[str, Any]

    def check_key(self, value: Any, code: str = "invalid_choice") -> None:
        null_value = getattr(self, "null_value", None)
        if getattr(self, "null_label", None) is not None and value == null_value:
            return  # django-filter's "(none)" choice
        if not key_in_range(self.queryset, self.to_field_name, value):
            params = {"value": value} if code == "invalid_choice" else {"pk": value}
            raise ValidationError(self.error_messages[code], code=code, params=params)


class BoundedModelChoiceField(BoundedKeyMixin, forms.ModelChoiceField):
    """A form's model choice, its id checked against the key's range before the query."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not isinstance(value, self.queryset.model):
            self.check_key(value)
        return super().to_python(value)


class BoundedFilterModelChoiceField(BoundedKeyMixin, django_filters.fields.ModelChoiceField):
    """A filter's model choice (with django-filter's "(none)" choice), its id checked first."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not isinstance(value, self.queryset.model):
            self.check_key(value)
        return super().to_python(value)


class _CheckedValues(BoundedKeyMixin):
    def _check_values(self, value: Any) -> Any:
        if isinstance(value, list | tuple | set | frozenset):
            for pk in value:
                self.check_key(pk, code="invalid_pk_value")
        return super()._check_values(value)  # type: ignore[misc]


class BoundedModelMultipleChoiceField(_CheckedValues, forms.ModelMultipleChoiceField):
    """A form's model choices, every id checked against the key's range before the query."""


class BoundedFilterModelMultipleChoiceField(_CheckedValues, django_filters.fields.ModelMultipleChoiceField):
    """A filter's model choices, every id checked against the key's range before the query."""
