"""Tables of the audit pages: findings, the checks catalogue, IAM principals, and the accounts-list
compliance column."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.choices import Environment
from accounts.tables import AccountColumn
from core.tables import (
    EMPTY,
    ArnColumn,
    BadgeColumn,
    BaseTable,
    BooleanBadgeColumn,
    ListColumn,
    TextColumn,
    TimestampColumn,
)
from core.ui import url_or_none
from iam_audit.choices import FindingStatus, Severity
from iam_audit.models import Finding, Principal, PrincipalKind

STATUS_CSS: dict[str, str] = {
    FindingStatus.OPEN: "bad",
    FindingStatus.REOPENED: "bad",
    FindingStatus.SUPPRESSED: "",
    FindingStatus.RESOLVED: "ok",
}
TRIAGE_FORM_ID = "triage-form"


class SeverityColumn(BadgeColumn):
    """A severity badge; sorts by rank (critical first), exports the label."""

    def __init__(self, accessor: str = "severity", **kwargs: Any) -> None:
        kwargs.setdefault("order_by", ("severity_rank", "-priority"))
        super().__init__(choices=Severity, prefix="sev-", accessor=accessor, **kwargs)


class FindingTitleColumn(tables.Column):
    """The finding's title linking to its page, with its one-line summary underneath."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("verbose_name", "Finding")
        super().__init__(accessor="title", **kwargs)

    def render(self, value: str, record: Finding) -> str:
        summary = record.summary or ""
        short = summary if len(summary) <= 160 else summary[:159] + "…"
        html = format_html(
            '<a href="{}">{}</a><div class="cell-sub" title="{}">{}</div>',
            record.get_absolute_url(),
            value,
            summary,
            short,
        )
        if record.not_evaluated:
            html = format_html(
                '{}<div class="cell-sub"><span class="badge warn" title="{}">not re-evaluated</span></div>',
                html,
                record.not_evaluated,
            )
        return html

    def value(self, value: str) -> str:
        return value


class SubjectColumn(tables.Column):
    """What failed: the resource's name linking to its inventory page when that page exists, the ARN below."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("verbose_name", "Resource")
        super().__init__(accessor="subject", **kwargs)

    def render(self, value: str, record: Finding) -> str:
        resource = record.resource
        label = (resource.name or resource.resource_id) if resource is not None else ""
        url = url_or_none("inventory:resource_detail", resource.pk) if resource is not None else None
        short = value if len(value) <= 90 else value[:89] + "…"
        if label and url:
            head = format_html('<a href="{}">{}</a>', url, label)
        elif label:
            head = format_html("{}", label)
        else:
            return format_html('<span class="mono wrap" title="{}">{}</span>', value, short)
        return format_html('{}<div class="cell-sub mono wrap" title="{}">{}</div>', head, value, short)

    def value(self, value: str) -> str:
        return value


class FindingTable(BaseTable):
    """The prioritised findings list (the queryset must ``select_related("account", "resource")``)."""

    select = tables.CheckBoxColumn(
        accessor="pk",
        exclude_from_export=True,
        attrs={
            "td__input": {"name": "ids", "form": TRIAGE_FORM_ID, "aria-label": "Select this finding"},
            "th__input": {"class": "select-all", "aria-label": "Select every finding on this page"},
        },
    )
    priority = tables.Column(attrs={"td": {"class": "num"}})
    severity = SeverityColumn()
    title = FindingTitleColumn()
    account = AccountColumn()
    environment = BadgeColumn(
        accessor="account__environment",
        prefix="env-",
        verbose_name="Environment",
        order_by=("account__environment",),
    )
    subject = SubjectColumn()
    region = tables.Column(attrs={"td": {"class": "nowrap"}})
    service = tables.Column()
    check_id = tables.Column(
        verbose_name="Check",
        attrs={"td": {"class": "mono nowrap"}},
        linkify=lambda record: reverse("iam_audit:check_detail", args=[record.check_id]),
    )
    status = BadgeColumn(choices=FindingStatus, css=STATUS_CSS)
    exposure = tables.Column()
    resource_type = tables.Column(verbose_name="Type")
    summary = TextColumn(length=100)
    first_seen = TimestampColumn(verbose_name="First seen")
    last_seen = TimestampColumn(verbose_name="Last seen")
    resolved_at = TimestampColumn(verbose_name="Resolved")
    suppression_reason = tables.Column(verbose_name="Suppressed as")
    suppressed_until = TimestampColumn(verbose_name="Suppressed until")

    default_columns = (
        "select",
        "priority",
        "severity",
        "title",
        "account",
        "subject",
        "region",
        "status",
        "first_seen",
    )

    class Meta(BaseTable.Meta):
        model = Finding
        fields: tuple[str, ...] = (
            "select",
            "priority",
            "severity",
            "title",
            "account",
            "environment",
            "subject",
            "region",
            "service",
            "check_id",
            "status",
            "exposure",
            "resource_type",
            "summary",
            "first_seen",
            "last_seen",
            "resolved_at",
            "suppression_reason",
            "suppressed_until",
        )
        sequence = fields
        empty_text = "No findings match these filters."
        order_by = ("-priority",)


class CheckTable(BaseTable):
    """The checks catalogue; rows are dicts built by :func:`iam_audit.views.checks.catalogue_rows`."""

    id = tables.Column(
        verbose_name="Check",
        attrs={"td": {"class": "mono nowrap"}},
        linkify=lambda record: reverse("iam_audit:check_detail", args=[record["id"]]),
    )
    title = tables.Column()
    service = tables.Column()
    scope = tables.Column()
    severity = BadgeColumn(choices=Severity, prefix="sev-", order_by=("severity_rank", "id"))
    baseline = BooleanBadgeColumn(yes="baseline", no="")
    cis = ListColumn(verbose_name="CIS", orderable=False)
    failing = tables.Column(verbose_name="Failing", attrs={"td": {"class": "num"}})
    passing = tables.Column(verbose_name="Passing", attrs={"td": {"class": "num"}})
    unknown = tables.Column(verbose_name="Unknown", attrs={"td": {"class": "num"}})
    accounts_failing = tables.Column(verbose_name="Accounts failing", attrs={"td": {"class": "num"}})
    accounts_unknown = tables.Column(verbose_name="Accounts unknown", attrs={"td": {"class": "num"}})
    open_findings = tables.Column(verbose_name="Open findings", attrs={"td": {"class": "num"}})
    description = TextColumn(length=100)

    default_columns = (
        "id",
        "title",
        "service",
        "severity",
        "baseline",
        "cis",
        "failing",
        "passing",
        "unknown",
        "open_findings",
    )

    class Meta(BaseTable.Meta):
        fields = (
            "id",
            "title",
            "service",
            "scope",
            "severity",
            "baseline",
            "cis",
            "failing",
            "passing",
            "unknown",
            "accounts_failing",
            "accounts_unknown",
            "open_findings",
            "description",
        )
        sequence = fields
        empty_text = "No check matches these filters."
        order_by = ("id",)

    def render_open_findings(self, value: int, record: dict[str, Any]) -> str:
        if not value:
            return "0"
        return format_html(
            '<a href="{}?check={}">{}</a>', reverse("iam_audit:finding_list"), record["id"], value
        )


class ComplianceColumn(tables.Column):
    """The accounts list's baseline compliance: passed / applicable items, from an annotation."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("verbose_name", "Baseline")
        kwargs.setdefault("attrs", {"td": {"class": "num nowrap"}})
        super().__init__(accessor="baseline_compliance", order_by=("baseline_compliance",), **kwargs)

    def render(self, value: float, record: Any) -> str:  # not called for a missing value
        passed = getattr(record, "baseline_passed", 0)
        applicable = getattr(record, "baseline_applicable", 0)
        css = "ok" if value >= 100 else ("warn" if value >= 70 else "bad")
        return format_html(
            '<a class="badge {}" href="{}#account-{}" title="{} of {} applicable baseline items pass">{}%</a>',
            css,
            reverse("iam_audit:baseline"),
            record.pk,
            passed,
            applicable,
            f"{value:.0f}",
        )

    def value(self, value: float | None) -> float | str:
        return "" if value is None else round(value, 1)


__all__ = ["CheckTable", "ComplianceColumn", "FindingTable", "SeverityColumn"]


class PrivilegeColumn(tables.Column):
    """The privilege class as a coloured badge (the full description on hover); sorts by rank."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("order_by", ("privilege_rank",))
        kwargs.setdefault("verbose_name", "Privilege")
        super().__init__(**kwargs)

    def render(self, value: str, record: Principal) -> str:
        if record.kind not in ("user", "role"):
            return EMPTY
        return format_html(
            '<span class="badge priv-{}" title="{}">{}</span>',
            record.privilege,
            record.privilege_label,
            record.get_privilege_display(),
        )

    def value(self, value: str, record: Principal) -> str:
        return record.privilege_label if record.kind in ("user", "role") else ""


class AgeColumn(tables.Column):
    """How long ago a time was, in days ("412 d"); exports the number of days."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("attrs", {"td": {"class": "num nowrap"}})
        super().__init__(**kwargs)

    @staticmethod
    def days(value: dt.datetime) -> int:
        return max(0, (timezone.now() - value).days)

    def render(self, value: dt.datetime) -> str:
        return format_html('<span title="{}">{} d</span>', value.isoformat(), self.days(value))

    def value(self, value: dt.datetime) -> int:
        return self.days(value)


class PrincipalTable(BaseTable):
    """Principals with their credentials, memberships, power and reach."""

    name = tables.Column(linkify=True, attrs={"td": {"class": "wrap"}})
    kind = BadgeColumn(choices=PrincipalKind, prefix="kind-", verbose_name="Type")
    account = AccountColumn()
    environment = BadgeColumn(
        choices=Environment,
        prefix="env-",
        accessor="account__environment",
        order_by=("account__environment",),
        verbose_name="Environment",
    )
    mfa = BooleanBadgeColumn(verbose_name="MFA")
    console = BooleanBadgeColumn(verbose_name="Console")
    active_keys = tables.Column(verbose_name="Active keys", attrs={"td": {"class": "num"}})
    key_age = AgeColumn(
        accessor="oldest_key_created", verbose_name="Oldest key", order_by=("oldest_key_created",)
    )
    key_last_used = TimestampColumn(verbose_name="Key last used")
    last_used = TimestampColumn(verbose_name="Last used")
    groups = ListColumn(orderable=False)
    policies = ListColumn(orderable=False)
    privilege = PrivilegeColumn()
    reachable_accounts = tables.Column(verbose_name="Reachable accounts", attrs={"td": {"class": "num"}})
    inbound_paths = tables.Column(verbose_name="Paths in", attrs={"td": {"class": "num"}})
    arn = ArnColumn(verbose_name="ARN")
    path = tables.Column(verbose_name="IAM path")
    inside_org = BooleanBadgeColumn(verbose_name="In organisation")
    created = TimestampColumn()

    default_columns = (
        "name",
        "kind",
        "account",
        "environment",
        "mfa",
        "console",
        "active_keys",
        "key_age",
        "key_last_used",
        "groups",
        "privilege",
        "reachable_accounts",
    )

    class Meta(BaseTable.Meta):
        model = Principal
        fields = (
            "name",
            "kind",
            "account",
            "environment",
            "mfa",
            "console",
            "active_keys",
            "key_age",
            "key_last_used",
            "last_used",
            "groups",
            "policies",
            "privilege",
            "reachable_accounts",
            "inbound_paths",
            "arn",
            "path",
            "inside_org",
            "created",
        )
        sequence = fields
        empty_text = "No principal matches these filters."


class ViewerFindingTable(FindingTable):
    """The findings table without the triage checkboxes (for everyone outside the security team)."""

    select = None

    class Meta(FindingTable.Meta):
        fields = tuple(f for f in FindingTable.Meta.fields if f != "select")
        sequence = fields
