"""Tables: the shared base table and columns every list page uses, and the registry's own tables.

Other apps subclass :class:`BaseTable` (and its ``Meta``) and reuse the columns defined here, so an
account link, a timestamp or a status badge looks and exports the same on every page::

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
from django.db.models import QuerySet, TextChoices
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_tables2 import A

from accounts.choices import AccessStatus, AccountStatus, Environment
from accounts.models import AwsAccount, Team
from accounts.params import page_param, per_page_param, sort_param

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
        """Order and paginate from the request, every value validated (:mod:`accounts.params`).

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


class AccountColumn(tables.Column):
    """A link to an account: its name, then its ID in small type. Exports the 12-digit ID.

    The queryset must ``select_related`` the accessor (``account`` by default) so the column costs
    no query per row.
    """

    def __init__(self, accessor: str = "account", verbose_name: str = "Account", **kwargs: Any) -> None:
        kwargs.setdefault("order_by", (f"{accessor.replace('.', '__')}__name",))
        super().__init__(accessor=accessor, verbose_name=verbose_name, **kwargs)

    def render(self, value: AwsAccount) -> str:
        return format_html(
            '<a href="{}">{}</a> <span class="muted mono">{}</span>',
            reverse("accounts:account_detail", args=[value.pk]),
            value.name,
            value.account_id,
        )

    def value(self, value: AwsAccount) -> str:
        return value.account_id


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


GUESSED = "guessed from the name"


class EnvironmentColumn(BadgeColumn):
    """The environment badge, marked "guessed from the name" when discovery or an import guessed it:
    a guess is shown as one until the security team confirms or changes it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Environment, prefix="env-", **kwargs)

    def render(self, value: Any, record: Any, bound_column: Any) -> str:
        badge = super().render(value, record, bound_column)
        if not getattr(record, "environment_guessed", False):
            return badge
        return format_html('{} <span class="muted guessed">({})</span>', badge, GUESSED)

    def value(self, value: Any, record: Any, bound_column: Any) -> str:
        label = super().value(value, record, bound_column)
        return f"{label} ({GUESSED})" if getattr(record, "environment_guessed", False) else label


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


ACCESS_CSS: dict[str, str] = {
    AccessStatus.OK: "ok",
    AccessStatus.FAILED: "failed",
    AccessStatus.UNKNOWN: "unknown",
}
STATUS_CSS: dict[str, str] = {
    AccountStatus.ACTIVE: "ok",
    AccountStatus.SUSPENDED: "warn",
    AccountStatus.CLOSED: "",
    AccountStatus.NOT_IN_ORG: "bad",
}


class AccessStatusColumn(tables.Column):
    """The last access check: a badge, with the failure reason underneath when it failed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("verbose_name", "Access")
        kwargs.setdefault("empty_values", ())
        super().__init__(accessor="access_status", **kwargs)

    def render(self, record: AwsAccount) -> str:
        label = record.get_access_status_display()
        checked = (
            timezone.localtime(record.access_checked_at, dt.UTC).strftime("checked %Y-%m-%d %H:%M UTC")
            if record.access_checked_at
            else "never checked"
        )
        badge = format_html(
            '<span class="badge {}" title="{}">{}</span>',
            ACCESS_CSS.get(record.access_status, ""),
            checked,
            label,
        )
        if record.access_status == AccessStatus.FAILED and (
            record.access_message or record.access_error_code
        ):
            message = record.access_message or record.access_error_code
            short = message if len(message) <= 120 else message[:119] + "…"
            return format_html('{}<div class="cell-note" title="{}">{}</div>', badge, message, short)
        return badge

    def value(self, record: AwsAccount) -> str:
        label = record.get_access_status_display()
        if record.access_status == AccessStatus.FAILED and record.access_message:
            return f"{label}: {record.access_message}"
        return label


# Columns the upper apps add to the accounts list (see register_account_column): name -> annotator.
_ACCOUNT_ANNOTATORS: dict[str, Callable[[QuerySet[AwsAccount]], QuerySet[AwsAccount]]] = {}


class AwsAccountTable(BaseTable):
    """The registry (plus any column an upper app registered with :func:`register_account_column`)."""

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if isinstance(data, QuerySet):
            for annotate in _ACCOUNT_ANNOTATORS.values():
                data = annotate(data)
        super().__init__(data, *args, **kwargs)

    name = tables.Column(linkify=True, attrs={"td": {"class": "nowrap"}})
    account_id = tables.Column(verbose_name="Account ID", attrs={"td": {"class": "mono nowrap"}})
    environment = EnvironmentColumn()
    owner = tables.Column(linkify=lambda record: record.owner.get_absolute_url() if record.owner_id else None)
    status = BadgeColumn(choices=AccountStatus, css=STATUS_CSS)
    org_unit = TextColumn(verbose_name="OU", length=40)
    access = AccessStatusColumn(order_by=("access_status", "name"))
    access_checked_at = TimestampColumn(verbose_name="Access checked")
    collection_enabled = BooleanBadgeColumn(verbose_name="Collection")
    description = TextColumn(length=80)
    contact_email = tables.Column(verbose_name="Contact email")
    email = tables.Column(verbose_name="AWS account email")
    read_role = ArnColumn(verbose_name="Read role")
    allowed_regions = ListColumn(verbose_name="Allowed regions", orderable=False)
    notes = TextColumn(length=60)
    discovered_at = TimestampColumn(verbose_name="Discovered")
    created = TimestampColumn()
    updated = TimestampColumn()

    default_columns: tuple[str, ...] = (
        "name",
        "account_id",
        "environment",
        "owner",
        "status",
        "org_unit",
        "access",
        "collection_enabled",
        "updated",
    )

    class Meta(BaseTable.Meta):
        model = AwsAccount
        fields = (
            "name",
            "account_id",
            "environment",
            "owner",
            "status",
            "org_unit",
            "access",
            "access_checked_at",
            "collection_enabled",
            "description",
            "contact_email",
            "email",
            "read_role",
            "allowed_regions",
            "notes",
            "discovered_at",
            "created",
            "updated",
        )
        sequence = fields
        empty_text = "No accounts match these filters."


def register_account_column(
    name: str,
    column: tables.Column,
    annotate: Callable[[QuerySet[AwsAccount]], QuerySet[AwsAccount]] | None = None,
    default: bool = True,
) -> None:
    """Add a column to the accounts list from an upper app (call it in ``AppConfig.ready()``).

    ``accounts`` stays ignorant of the app: ``annotate`` adds what the column reads to the list's
    queryset (an annotation, so no query per row and the column sorts); ``default`` shows it
    when the user has not picked columns. Registering a name again replaces it.
    """
    AwsAccountTable.base_columns[name] = column
    if default and name not in AwsAccountTable.default_columns:
        AwsAccountTable.default_columns = (*AwsAccountTable.default_columns, name)
    if annotate is not None:
        _ACCOUNT_ANNOTATORS[name] = annotate
    else:
        _ACCOUNT_ANNOTATORS.pop(name, None)


class TeamTable(BaseTable):
    """Teams with how many accounts and members they have (annotated, no query per row)."""

    name = tables.Column(linkify=True)
    contact_email = tables.Column(verbose_name="Contact email")
    description = TextColumn(length=80)
    account_count = tables.Column(verbose_name="Accounts", attrs={"td": {"class": "num"}})
    member_count = tables.Column(verbose_name="Members", attrs={"td": {"class": "num"}})
    updated = TimestampColumn()

    default_columns = ("name", "contact_email", "account_count", "member_count")

    class Meta(BaseTable.Meta):
        model = Team
        fields = ("name", "contact_email", "description", "account_count", "member_count", "updated")
        sequence = fields
        empty_text = "No teams match these filters."
