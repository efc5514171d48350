"""The home page's inventory part and the account page's inventory panel."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import AwsAccount
from inventory.models import CollectionRun, CoverageRecord, CoverageState, RunState
from inventory.views.home import REFRESH_TASK_NAME, home_context, refresh_schedule
from inventory.views.report import account_panel
from tests.factories import AwsAccountFactory
from tests.inventory.pages.conftest import XSS, make_resource

pytestmark = pytest.mark.django_db


def run(account: AwsAccount, state: str, hours_ago: float = 1, message: str = "") -> CollectionRun:
    created = timezone.now() - dt.timedelta(hours=hours_ago)
    return CollectionRun.objects.create(
        account=account,
        state=state,
        created=created,
        started_at=created,
        finished_at=created + dt.timedelta(minutes=5),
        message=message,
    )


# --- home ----------------------------------------------------------------------------------------


def test_home_needs_a_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["security_user", "owner_user", "viewer_user"])
def test_home_shows_totals_and_charts_to_every_role(
    client: Client, estate: dict[str, Any], role: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(role))
    response = client.get("/")
    inventory = response.context["inventory"]
    assert inventory.total == 7 and inventory.account_count == 2
    assert inventory.region_count == 4 and inventory.service_count == 3
    assert [(a.name, n) for a, n, _ in inventory.top_accounts] == [("payments-prod", 5), ("sandbox-dev", 2)]
    page = response.content.decode()
    assert '<script src="/static/js/plotly.min.js">' in page
    assert '<script src="/static/js/charts.js" defer>' in page  # draws the figures from their JSON
    assert page.count('class="chart chart-links chart-bar"') == 3  # by service, by region, by account
    assert "Plotly.newPlot" not in page  # no inline script
    assert '"customdata": ["/inventory/resources/?service=ec2"' in page  # bars link to the list


def test_home_refresh_all_button_only_for_security(
    client: Client, estate: dict[str, Any], security_user: Any, viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    assert 'action="/inventory/refresh/"' not in client.get("/").content.decode()
    client.force_login(security_user)
    assert 'action="/inventory/refresh/"' in client.get("/").content.decode()


def test_home_with_nothing_collected(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    response = client.get("/")
    page = response.content.decode()
    assert response.context["inventory"].total == 0
    assert "No resources recorded yet." in page and "Plotly.newPlot" not in page
    assert "never" in page


def test_home_shows_last_refresh_and_recent_failures_with_links(
    client: Client, prod: AwsAccount, dev: AwsAccount, viewer_user: Any
) -> None:
    run(prod, RunState.DONE, hours_ago=30)
    failed = run(dev, RunState.FAILED, hours_ago=2, message=f"AccessDenied {XSS}")
    partial = run(prod, RunState.PARTIAL, hours_ago=1)
    run(prod, RunState.FAILED, hours_ago=24 * 9)  # too old to list
    CollectionRun.objects.create(account=dev, state=RunState.RUNNING, started_at=timezone.now())
    client.force_login(viewer_user)
    response = client.get("/")
    inventory = response.context["inventory"]
    assert inventory.last_run == partial
    assert inventory.failed_runs == [partial, failed]
    assert inventory.active_runs == 1
    page = response.content.decode()
    assert f'href="/inventory/runs/{failed.pk}/"' in page
    assert "AccessDenied &lt;script&gt;" in page and "<script>alert" not in page
    assert "1 running or queued" in page


def test_next_refresh_comes_from_the_beat_schedule(client: Client, viewer_user: Any) -> None:
    task = PeriodicTask.objects.get(name=REFRESH_TASK_NAME)  # created by migration 0003
    task.last_run_at = timezone.now() - dt.timedelta(hours=1)
    task.save()
    schedule = refresh_schedule()
    assert schedule is not None and schedule.enabled and schedule.every == "every 6 hours"
    assert abs((schedule.next_at - (task.last_run_at + dt.timedelta(hours=6))).total_seconds()) < 60
    assert not schedule.overdue
    client.force_login(viewer_user)
    assert "every 6 hours" in client.get("/").content.decode()


def test_an_overdue_schedule_is_flagged(client: Client, viewer_user: Any) -> None:
    PeriodicTask.objects.filter(name=REFRESH_TASK_NAME).update(
        last_run_at=timezone.now() - dt.timedelta(hours=8)
    )
    assert refresh_schedule().overdue
    client.force_login(viewer_user)
    assert "Overdue: is celery beat running?" in client.get("/").content.decode()


def test_schedule_never_run_off_or_missing(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    schedule = refresh_schedule()
    assert schedule.next_at is None and schedule.last_run_at is None
    assert "once the scheduler has started" in client.get("/").content.decode()
    PeriodicTask.objects.filter(name=REFRESH_TASK_NAME).update(enabled=False)
    assert "schedule off" in client.get("/").content.decode()
    PeriodicTask.objects.filter(name=REFRESH_TASK_NAME).delete()
    assert refresh_schedule() is None
    assert "no schedule" in client.get("/").content.decode()


def test_home_part_query_count_does_not_grow(
    rf: RequestFactory, viewer_user: Any, django_assert_num_queries: Any
) -> None:
    # measured on our part alone: the page also carries other apps' parts, with their own budgets
    request = rf.get("/")
    request.user = viewer_user
    account = AwsAccountFactory()
    make_resource(account)
    run(account, RunState.FAILED)
    # grouped counts, top accounts, last run, failures, active runs, schedule, "is security?", the
    # regions not looked at (accounts, their latest collections), "anything queued over a minute?"
    with django_assert_num_queries(10):
        home_context(request)
    for i in range(20):
        other = AwsAccountFactory()
        make_resource(other, region=("eu-west-1", "us-east-1")[i % 2], type=("ec2:vpc", "s3:bucket")[i % 2])
        run(other, RunState.FAILED if i % 2 else RunState.PARTIAL)
    request.user = type(viewer_user).objects.get(pk=viewer_user.pk)  # no cached role
    with django_assert_num_queries(10):
        context = home_context(request)
    assert context["inventory"].total == 21 and len(context["inventory"].failed_runs) == 8


# --- the account panel ---------------------------------------------------------------------------


def test_account_page_panel_shows_counts_last_run_and_unexpected_regions(
    client: Client, estate: dict[str, Any], prod: AwsAccount, viewer_user: Any
) -> None:
    latest = run(prod, RunState.PARTIAL, hours_ago=1, message="2 regions could not be read")
    run(prod, RunState.DONE, hours_ago=10)
    client.force_login(viewer_user)
    page = client.get(prod.get_absolute_url()).content.decode()
    assert 'id="panel-inventory"' in page
    assert "<strong>5</strong> live resources" in page
    assert f'href="/inventory/runs/{latest.pk}/"' in page and "2 regions could not be read" in page
    assert f"/inventory/resources/?account_id={prod.pk}&amp;service=ec2" in page
    assert 'class="region-chip unexpected"' in page and "1 region outside the allowed list" in page


def test_account_panel_lists_collection_gaps_not_complete_types(
    client: Client, prod: AwsAccount, viewer_user: Any
) -> None:
    for type_, region, coverage, message in [
        ("ec2:instance", "eu-west-1", CoverageState.OK, ""),
        ("ec2:instance", "ap-south-1", CoverageState.DENIED, f"not authorized {XSS}"),
        ("guardduty:detector", "eu-west-1", CoverageState.UNSUPPORTED, "not offered here"),
        ("guardduty:detector", "us-east-1", CoverageState.FAILED, "throttled"),
    ]:
        CoverageRecord.objects.create(
            account=prod, type=type_, region=region, coverage=coverage, message=message
        )
    client.force_login(viewer_user)
    response = client.get(prod.get_absolute_url())
    page = response.content.decode()
    assert "Access denied" in page and "Not supported" in page and "Failed" in page
    assert "not authorized &lt;script&gt;" in page and "<script>alert" not in page
    assert "EC2 instance" in page and "throttled" in page
    assert "eu-west-1</div>" not in page.split("EC2 instance")[1].split("</tr>")[0]  # the OK one is no gap


def test_account_panel_for_an_account_never_collected(
    client: Client, dev: AwsAccount, viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    page = client.get(dev.get_absolute_url()).content.decode()
    panel = page.split('id="panel-inventory"')[1].split("</section>")[0]
    assert panel.count("Not collected yet") == 3  # latest run, regions not looked at, collection gaps
    assert "<strong>0</strong> live resources" in page
    assert "None: every resource type was collected completely" not in page
    exposure = page.split('id="panel-exposure"')[1].split("</section>")[0]
    assert "Not collected yet" in exposure and "reachable from the internet" not in exposure
    findings = page.split('id="panel-findings"')[1].split("</section>")[0]
    assert "Not collected yet" in findings and "No open finding" not in findings


def test_account_panel_query_count_does_not_grow(prod: AwsAccount, django_assert_num_queries: Any) -> None:
    make_resource(prod)
    # grouped counts, latest run, coverage gaps
    with django_assert_num_queries(3):
        account_panel(None, prod)
    for i in range(30):
        make_resource(prod, region=f"eu-west-{i % 3 + 1}", type=("ec2:vpc", "s3:bucket", "iam:role")[i % 3])
        CoverageRecord.objects.create(
            account=prod, type=f"ec2:t{i}", region="eu-west-1", coverage=CoverageState.DENIED
        )
        run(prod, RunState.DONE, hours_ago=i + 2)
    with django_assert_num_queries(3):
        context = account_panel(None, prod)
    assert context["total"] == 31 and len(context["coverage_problems"]) == 30


# --- regions not looked at ------------------------------------------------------------------------


def test_every_summary_of_an_account_names_the_regions_not_looked_at_and_why(
    client: Client, prod: AwsAccount, dev: AwsAccount, viewer_user: Any, settings: Any
) -> None:
    settings.SKYLEDGER_ALLOWED_REGIONS = ["us-east-1", "eu-central-1"]
    collected = run(prod, RunState.PARTIAL)
    CollectionRun.objects.filter(pk=collected.pk).update(
        regions=["eu-west-1", "us-east-1"],
        regions_skipped=[
            {"region": "ap-east-1", "reason": "not-enabled", "detail": "opt-in region not enabled"},
            {"region": "ap-south-1", "reason": "excluded", "detail": "in the account's excluded regions"},
            {"region": "sa-east-1", "reason": "denied", "detail": f"every call was refused {XSS}"},
        ],
    )
    run(prod, RunState.FAILED, hours_ago=0.5)  # a later failure: the last collection still tells
    client.force_login(viewer_user)

    page = client.get(prod.get_absolute_url()).content.decode()
    panel = page.split('id="panel-inventory"')[1].split("</section>")[0]
    assert "ap-south-1 <span" in panel and "excluded by a collection setting" in panel
    assert "sa-east-1 <span" in panel and "denied by a policy (an SCP)" in panel
    assert "1 region not enabled in the account" in panel
    # the account's own list applies; dev has none, so the estate default applies and says so
    assert 'class="allowed-regions">eu-west-1<' in page
    dev_page = client.get(dev.get_absolute_url()).content.decode()
    assert (
        'class="allowed-regions">us-east-1, eu-central-1 <span class="muted">(estate default)</span>'
        in dev_page
    )

    report = client.get(reverse("inventory:report")).content.decode()
    section = report.split('id="not-looked-at"')[1].split("</section>")[0]
    assert prod.name in section and "sa-east-1" in section and "ap-south-1" in section
    assert dev.name in section and "Not collected yet" in section.split(dev.name)[1]
    assert "<script>alert" not in report

    run_page = client.get(reverse("inventory:run_detail", args=[collected.pk])).content.decode()
    assert "sa-east-1" in run_page and "every call was refused &lt;script&gt;" in run_page

    home = client.get("/").content.decode()
    assert "1</span> account not collected yet" in home
    assert "1</span> account with regions not looked at" in home


def test_an_account_with_only_opt_in_regions_left_out_is_not_listed_on_the_report(
    client: Client, dev: AwsAccount, viewer_user: Any
) -> None:
    collected = run(dev, RunState.DONE)
    CollectionRun.objects.filter(pk=collected.pk).update(
        regions_skipped=[{"region": "me-south-1", "reason": "not-enabled", "detail": ""}]
    )
    client.force_login(viewer_user)
    report = client.get(reverse("inventory:report")).content.decode()
    assert "None: every account was collected in every region it has enabled." in report
