"""The findings part of the home page: counts, severity × environment chart, trend, top 10, compliance."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from iam_audit.checks import BASELINE_ITEMS
from iam_audit.choices import CheckState, EventKind, FindingStatus
from iam_audit.models import FindingEvent
from iam_audit.views.home import daily_trend, home_findings_context, open_by_severity_and_environment
from tests.factories import AwsAccountFactory
from tests.iam_audit.builders import make_finding, set_result

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client: Client, viewer_user: Any) -> Client:
    client.force_login(viewer_user)
    return client


def test_open_findings_are_counted_by_severity_and_environment(
    prod_account: Any, sandbox_account: Any
) -> None:
    make_finding(prod_account, severity="critical")
    make_finding(prod_account, severity="critical", status=FindingStatus.REOPENED)
    make_finding(sandbox_account, severity="low")
    make_finding(sandbox_account, severity="low", status=FindingStatus.SUPPRESSED)
    make_finding(prod_account, severity="high", status=FindingStatus.RESOLVED)
    assert open_by_severity_and_environment() == {("critical", "prod"): 2, ("low", "sandbox"): 1}


def test_the_trend_counts_new_and_resolved_findings_per_day(prod_account: Any) -> None:
    today = dt.date(2026, 11, 20)
    finding = make_finding(prod_account)
    at = lambda day, hour=12: dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)  # noqa: E731
    FindingEvent.objects.all().delete()
    for kind, day in [
        (EventKind.OPENED, today),
        (EventKind.OPENED, today),
        (EventKind.REOPENED, today - dt.timedelta(days=1)),
        (EventKind.RESOLVED, today - dt.timedelta(days=1)),
        (EventKind.SUPPRESSED, today),  # triage is not "new"
        (EventKind.OPENED, today - dt.timedelta(days=40)),  # outside the window
    ]:
        FindingEvent.objects.create(finding=finding, at=at(day), kind=kind)
    days, new, resolved = daily_trend(7, today=today)
    assert days[0] == today - dt.timedelta(days=6) and days[-1] == today
    assert new[-1] == 2 and new[-2] == 1 and resolved[-2] == 1 and sum(new) == 3 and sum(resolved) == 1


def test_home_shows_counts_charts_top_findings_and_compliance(viewer: Client, prod_account: Any) -> None:
    for i in range(12):
        make_finding(prod_account, priority=i, title=f"finding number {i}")
    for _, check_id in BASELINE_ITEMS:
        set_result(prod_account, check_id, CheckState.PASS)
    set_result(prod_account, "org.member", CheckState.FAIL)
    body = viewer.get(reverse("home")).content.decode()
    assert "12</span> open findings" in body
    assert 'id="chart-findings-severity"' in body and 'id="chart-findings-trend"' in body
    assert 'id="chart-baseline-compliance"' in body
    assert "finding number 11" in body and "finding number 2" in body and "finding number 1<" not in body
    assert "/static/js/plotly.min.js" in body and "cdn.plot.ly" not in body


def test_the_findings_part_of_home_costs_the_same_queries_for_few_or_many_findings_and_accounts() -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            home_findings_context()
        return len(ctx.captured_queries)

    def add(n: int) -> None:
        for i in range(n):
            account = AwsAccountFactory(environment=("prod", "dev", "sandbox")[i % 3])
            make_finding(account, first_seen=timezone.now())
            set_result(account, "org.member", CheckState.PASS)

    add(2)
    few = count()
    add(20)
    assert count() == few


def test_home_with_an_empty_estate_says_there_is_nothing_yet(viewer: Client) -> None:
    body = viewer.get(reverse("home")).content.decode()
    assert "No open findings." in body and "No account has been evaluated" in body
