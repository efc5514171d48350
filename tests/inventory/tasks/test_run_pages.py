"""The Runs pages: list, one run with its errors, and the progress JSON the page polls."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from accounts.models import AwsAccount, Team
from inventory.models import CollectionRun, CoverageRecord, RunState

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> AwsAccount:
    return AwsAccount.objects.create(
        account_id="111122223333", name="prod", owner=Team.objects.create(name="web")
    )


@pytest.fixture
def run(account: AwsAccount) -> CollectionRun:
    return CollectionRun.objects.create(
        account=account, state=RunState.RUNNING, units_planned=10, units_done=4, resources_seen=123,
        api_calls=55, error_count=1, message="going",
        errors=[{"account": account.account_id, "region": "eu-west-1", "service": "s3", "resource_type": "s3:bucket",
                 "code": "access-denied", "message": "<script>alert(1)</script> denied", "operation": "ListBuckets",
                 "aws_code": "AccessDenied"}],
    )  # fmt: skip


def login(role: str) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    user = User.objects.create_user(role, password="x" * 12)
    if role == "security":
        user.groups.add(Group.objects.get_or_create(name="security")[0])
    if role == "owner":
        Team.objects.get(name="web").members.add(user)
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["security", "owner", "viewer"])
def test_every_logged_in_role_sees_the_runs(role: str, run: CollectionRun) -> None:
    client = login(role)
    listing = client.get(reverse("inventory:run_list"))
    assert listing.status_code == 200 and f"#{run.pk}" in listing.content.decode()
    detail = client.get(reverse("inventory:run_detail", args=[run.pk]))
    assert detail.status_code == 200
    assert client.get(reverse("inventory:run_progress", args=[run.pk])).status_code == 200


def test_anonymous_is_sent_to_the_login_page(run: CollectionRun) -> None:
    client = login("anonymous")
    for url in (
        reverse("inventory:run_list"),
        reverse("inventory:run_detail", args=[run.pk]),
        reverse("inventory:run_progress", args=[run.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_run_page_escapes_error_messages_and_polls_while_running(run: CollectionRun) -> None:
    CoverageRecord.objects.create(
        account=run.account, type="s3:bucket", region="global", coverage="denied", run=run
    )
    page = login("viewer").get(reverse("inventory:run_detail", args=[run.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; denied" in page
    assert "js/run-progress.js" in page and reverse("inventory:run_progress", args=[run.pk]) in page
    assert "s3:bucket" in page and "Access denied" in page


def test_finished_run_page_does_not_poll(run: CollectionRun) -> None:
    CollectionRun.objects.filter(pk=run.pk).update(state=RunState.DONE)
    page = login("viewer").get(reverse("inventory:run_detail", args=[run.pk])).content.decode()
    assert "run-progress.js" not in page


def test_progress_json_reports_the_counters(run: CollectionRun) -> None:
    data = login("viewer").get(reverse("inventory:run_progress", args=[run.pk])).json()
    assert data["state"] == "running" and data["finished"] is False
    assert (data["units_done"], data["units_planned"], data["progress"]) == (4, 10, 0.4)
    assert (data["resources_seen"], data["api_calls"], data["error_count"]) == (123, 55, 1)


def test_unknown_run_is_404() -> None:
    client = login("viewer")
    assert client.get(reverse("inventory:run_detail", args=[999])).status_code == 404
    assert client.get(reverse("inventory:run_progress", args=[999])).status_code == 404


def test_list_filters_by_state_and_queries_do_not_grow_with_rows(
    account: AwsAccount, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = login("viewer")
    CollectionRun.objects.create(account=account, state=RunState.FAILED, message="boom")
    page = client.get(reverse("inventory:run_list"), {"state": ["failed"]}).content.decode()
    assert "boom" in page
    client.get(reverse("inventory:run_list"))  # warm caches (session, user)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("inventory:run_list"))
    for n in range(40):
        CollectionRun.objects.create(
            account=AwsAccount.objects.create(account_id=f"2000000000{n:02d}", name=f"a{n}")
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("inventory:run_list"))
