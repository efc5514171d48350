"""The findings part of the home page and the account-page panels (baseline, findings).

Each function runs a constant number of queries; the home page includes
``iam_audit/includes/home_findings.html`` with :func:`home_findings_context`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.choices import AccountStatus, Environment
from accounts.models import AwsAccount
from iam_audit import charts, compliance
from iam_audit.choices import ACTIVE_STATUSES, EventKind, Severity
from iam_audit.models import Finding, FindingEvent
from inventory.services.runs import ever_collected

if TYPE_CHECKING:
    from django.http import HttpRequest

TREND_DAYS = 30
TOP_FINDINGS = 10
COMPLIANCE_BARS = 15  # the least compliant accounts shown on the home page


def open_by_severity_and_environment() -> Counter[tuple[str, str]]:
    """(severity, environment) -> active findings (one query)."""
    rows = (
        Finding.objects.filter(status__in=ACTIVE_STATUSES)
        .values_list("severity", "account__environment")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return Counter({(severity, env): n for severity, env, n in rows})


def daily_trend(
    days: int = TREND_DAYS, today: dt.date | None = None
) -> tuple[list[dt.date], list[int], list[int]]:
    """New (opened / reopened) and resolved findings per day over the last ``days`` days (one query)."""
    today = today or timezone.now().date()
    start = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    counts: Counter[tuple[dt.date, str]] = Counter()
    rows = (
        FindingEvent.objects.filter(
            at__gte=since, kind__in=[EventKind.OPENED, EventKind.REOPENED, EventKind.RESOLVED]
        )
        .annotate(day=TruncDate("at", tzinfo=dt.UTC))
        .values_list("day", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for day, kind, n in rows:
        counts[(day, "resolved" if kind == EventKind.RESOLVED else "new")] += n
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    return dates, [counts[(d, "new")] for d in dates], [counts[(d, "resolved")] for d in dates]


def _unique_names(rows: list[compliance.Row]) -> list[tuple[str, float]]:
    names = Counter(r.account.name for r in rows)
    return [
        (
            r.account.name if names[r.account.name] == 1 else f"{r.account.name} ({r.account.account_id})",
            r.percent,
        )
        for r in rows
        if r.percent is not None
    ]


def home_findings_context() -> dict[str, Any]:
    """Context of the home page's findings part: severity × environment, trend, top 10, compliance."""
    by_sev_env = open_by_severity_and_environment()
    by_severity: Counter[str] = Counter()
    for (severity, _), n in by_sev_env.items():
        by_severity[severity] += n
    dates, opened, resolved = daily_trend()
    top = list(
        Finding.objects.filter(status__in=ACTIVE_STATUSES)
        .select_related("account")
        .order_by("-priority", "pk")[:TOP_FINDINGS]
    )
    accounts = AwsAccount.objects.exclude(status=AccountStatus.CLOSED).order_by("name")
    rows = [r for r in compliance.matrix(accounts) if r.percent is not None]
    worst = compliance.sort_rows(rows, "compliance")[:COMPLIANCE_BARS]
    return {
        "findings_open_total": sum(by_severity.values()),
        "findings_by_severity": [(s.value, s.label, by_severity.get(s.value, 0)) for s in Severity],
        "findings_chart": charts.severity_by_environment(by_sev_env, dict(Environment.choices)),
        "findings_trend_chart": charts.opened_vs_resolved(dates, opened, resolved),
        "findings_trend_days": TREND_DAYS,
        "top_findings": top,
        "compliance_chart": charts.compliance_by_account(_unique_names(worst)),
        "compliance_average": (sum(r.percent for r in rows) / len(rows)) if rows else None,  # type: ignore[misc]
        "compliance_accounts": len(rows),
        "compliance_shown": len(worst),
    }


# --- account-page panels -------------------------------------------------------------------------


def baseline_panel_context(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    """The account's baseline cells and compliance (two queries)."""
    (row,) = compliance.matrix([account])
    return {"row": row}


def findings_panel_context(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    """The account's active findings by severity and its five most urgent (three queries)."""
    active = Finding.objects.filter(account=account, status__in=ACTIVE_STATUSES)
    counts = active.aggregate(**{s.value: Count("pk", filter=Q(severity=s.value)) for s in Severity})
    top = list(active.order_by("-priority", "pk")[:5])
    return {
        "by_severity": [(s.value, s.label, counts.get(s.value) or 0) for s in Severity],
        "total": sum(n or 0 for n in counts.values()),
        "top": top,
        # no finding because nothing was collected is not "no finding"
        "collected": ever_collected(account),
    }
