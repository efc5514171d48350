"""Tables: the shared base table and the generic columns every list page uses.

Every app subclasses :class:`BaseTable` (and its ``Meta``) and reuses the columns defined here, so a
timestamp, a status badge or an ARN looks and exports the same on every page (the account link,
:class:`accounts.tables.AccountColumn`, lives with the accounts)::

    class ResourceTable(BaseTable):
        account = AccountColumn()
        last_seen = TimestampColumn()
        default_columns = ("name", "account", "region", "last_seen")

        class Meta(BaseTable.Meta):
            model = Resource
            fields = ("name", "account", "region", "type", "arn", "first_seen", "last_seen")

``Meta.fields`` (plus declared columns) lists every column a user may pick; ``default_columns`` is
the short set shown when the user has not chosen (empty means all).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import django_tables2 as tables
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import TextChoices
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.html import format_html
from django_tables2 import A

from core.params import page_param, per_page_param, sort_param

EMPTY = "—"


class BaseTable(tables.Table):
    """The base of every table: our template, 50 rows a page, and a default column set."""

    #: Columns shown when the user has not picked any (empty: every column).
    default_columns: tuple[str, ...] = ()

    class Meta:
        template_name = "includes/table.html"
        attrs = {"class": "table"}
        per_page = 50
        empty_text = "Nothing matches these filters."
        default = EMPTY

    def __init__(
        self, data: Any = None, *args: Any, request: HttpRequest | None = None, **kwargs: Any
    ) -> None:
        # tables2 would read ?sort=, ?page= and ?per_page= itself, with int() alone (a negative
        # page size made a server error); our own configure() validates them first
        super().__init__(data, *args, **kwargs)
        if request is not None:
            self.configure(request)

    @classmethod
    def column_names(cls) -> list[str]:
        """Every column a user may pick, in display order."""
        return list(cls.base_columns.keys())

    def sort_keys(self, params: QueryDict) -> list[str]:
        """The ``?sort=`` keys that name a sortable column of this table (unknown ones are dropped)."""
        sortable = [column.name for column in self.columns if column.orderable]
        return sort_param(params.getlist(self.prefixed_order_by_field), sortable)

    def configure(self, request: HttpRequest, per_page: int | None = None) -> None:
        """Order and paginate from the request, every value validated (:mod:`core.params`).

        A page size the tables do not offer gives ``per_page`` (the table's own by default); a page
        number past the end shows the last page, one that is no number the first.
        """
        self.request = request
        params = request.GET
        order_by = self.sort_keys(params)
        if order_by:
            self.order_by = tuple(order_by)
        default = per_page or self._meta.per_page
        size = per_page_param(params, default, self.prefixed_per_page_field)
        number = page_param(params, self.prefixed_page_field)
        try:
            self.paginate(per_page=size, page=number)
        except PageNotAnInteger:
            self.page = self.paginator.page(1)
        except EmptyPage:
            self.page = self.paginator.page(self.paginator.num_pages)


class TimestampColumn(tables.Column):
    """A date and time in UTC, short on screen (full ISO timestamp on hover), ISO in exports."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("attrs", {"td": {"class": "nowrap"}})
        super().__init__(**kwargs)

    def render(self, value: dt.datetime | dt.date) -> str:
        if isinstance(value, dt.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value, dt.UTC)
            return format_html(
                '<time datetime="{}" title="{}">{}</time>',
                value.isoformat(),
                value.isoformat(),
                value.strftime("%Y-%m-%d %H:%M"),
            )
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), value.isoformat())

    def value(self, value: dt.datetime | dt.date) -> dt.datetime | dt.date:
        return value


class BadgeColumn(tables.Column):
    """A choice shown as a coloured badge: the label from ``choices``, a CSS class per value.

    ``css`` maps a value to a class (``badge.ok``, ``badge.sev-high``...); without it the class is
    ``prefix + value``. Exports the human label.
    """

    def __init__(
        self,
        choices: type[TextChoices] | None = None,
        css: Mapping[str, str] | Callable[[str], str] | None = None,
        prefix: str = "",
        **kwargs: Any,
    ) -> None:
        self.labels: dict[str, str] = {str(k): str(v) for k, v in choices.choices} if choices else {}
        self.css = css
        self.prefix = prefix
        super().__init__(**kwargs)

    def css_class(self, value: str) -> str:
        if callable(self.css):
            return self.css(value)
        if self.css is not None:
            return self.css.get(value, "")
        return f"{self.prefix}{value}"

    @staticmethod
    def raw(record: Any, bound_column: Any, value: Any) -> str:
        # tables2 hands render() the display label of a model choice field; the CSS wants the value.
        try:
            return str(A(bound_column.accessor).resolve(record))
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            return str(value)

    def render(self, value: Any, record: Any, bound_column: Any) -> str:
        raw = self.raw(record, bound_column, value)
        return format_html(
            '<span class="badge {}">{}</span>', self.css_class(raw), self.labels.get(raw, str(value))
        )

    def value(self, value: Any, record: Any, bound_column: Any) -> str:
        raw = self.raw(record, bound_column, value)
        return self.labels.get(raw, str(value))


class BooleanBadgeColumn(tables.Column):
    """A yes/no badge (green yes, grey no); exports "yes"/"no"."""

    def __init__(self, yes: str = "yes", no: str = "no", **kwargs: Any) -> None:
        self.yes, self.no = yes, no
        kwargs.setdefault("empty_values", ())
        super().__init__(**kwargs)

    def render(self, value: Any) -> str:
        if value is None:
            return EMPTY
        return format_html(
            '<span class="badge {}">{}</span>', "ok" if value else "", self.yes if value else self.no
        )

    def value(self, value: Any) -> str:
        return "" if value is None else (self.yes if value else self.no)


class TextColumn(tables.Column):
    """Free text (descriptions, messages): shortened on screen with the whole text on hover."""

    def __init__(self, length: int = 80, mono: bool = False, **kwargs: Any) -> None:
        self.length = length
        self.mono = mono
        super().__init__(**kwargs)

    def render(self, value: Any) -> str:
        text = str(value)
        short = text if len(text) <= self.length else text[: self.length - 1] + "…"
        return format_html(
            '<span class="{}" title="{}">{}</span>', "mono wrap" if self.mono else "", text, short
        )

    def value(self, value: Any) -> str:
        return str(value)


class ArnColumn(TextColumn):
    """An ARN or other long identifier, monospaced and allowed to wrap anywhere."""

    def __init__(self, length: int = 120, **kwargs: Any) -> None:
        super().__init__(length=length, mono=True, **kwargs)


class ListColumn(tables.Column):
    """A list of strings (regions, SCP names), comma separated."""

    def render(self, value: Any) -> str:
        return ", ".join(map(str, value)) if value else EMPTY

    def value(self, value: Any) -> str:
        return ", ".join(map(str, value)) if value else ""
