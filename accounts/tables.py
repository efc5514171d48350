"""Tables: the registry's own tables, the account-specific columns other apps reuse, and the
accounts list's column registry (:func:`register_account_column`).

The base table and the generic columns are in :mod:`core.tables`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import django_tables2 as tables
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.choices import AccessStatus, AccountStatus, Environment
from accounts.models import AwsAccount, Team
from core.tables import (
    ArnColumn,
    BadgeColumn,
    BaseTable,
    BooleanBadgeColumn,
    ListColumn,
    TextColumn,
    TimestampColumn,
)


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
