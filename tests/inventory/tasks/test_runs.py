"""Run lifecycle: the per-account lock, staleness, queueing from the schedule and the buttons."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from accounts.choices import AccountStatus
from accounts.models import AwsAccount
from inventory.models import CollectionRun, Resource, RunState, RunTrigger
from inventory.services import runs
from inventory.services.collect import collect_account

from .fakes import Boxes, FakeAccess


@pytest.fixture
def account(db: None) -> AwsAccount:
    return AwsAccount.objects.create(account_id="111122223333", name="prod")


@pytest.mark.django_db
def test_second_claim_of_one_account_is_skipped(account: AwsAccount) -> None:
    first, second = runs.create_run(account), runs.create_run(account)
    assert runs.claim_run(first, task_id="t1")
    assert not runs.claim_run(second, task_id="t2")
    second.refresh_from_db()
    assert second.state == RunState.SKIPPED and "already running" in second.message
    first.refresh_from_db()
    assert first.state == RunState.RUNNING and first.celery_task_id == "t1" and first.attempts == 1


@pytest.mark.django_db
def test_other_accounts_are_not_blocked(account: AwsAccount) -> None:
    other = AwsAccount.objects.create(account_id="444455556666", name="dev")
    assert runs.claim_run(runs.create_run(account))
    assert runs.claim_run(runs.create_run(other))


@pytest.mark.django_db
def test_finished_run_is_not_claimed_again(account: AwsAccount) -> None:
    run = runs.create_run(account)
    CollectionRun.objects.filter(pk=run.pk).update(state=RunState.DONE)
    assert not runs.claim_run(run)
    run.refresh_from_db()
    assert run.state == RunState.DONE


@pytest.mark.django_db
def test_same_task_retried_reclaims_its_running_run(account: AwsAccount) -> None:
    run = runs.create_run(account)
    assert runs.claim_run(run, task_id="abc")
    assert not runs.claim_run(run, task_id="other")  # a duplicate delivery to another worker
    assert runs.claim_run(run, task_id="abc")
    run.refresh_from_db()
    assert run.attempts == 2


@pytest.mark.django_db
def test_stale_running_run_no_longer_blocks_the_account(account: AwsAccount) -> None:
    lost = runs.create_run(account)
    assert runs.claim_run(lost, task_id="dead-worker")
    CollectionRun.objects.filter(pk=lost.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    fresh = runs.create_run(account)
    assert runs.claim_run(fresh)
    lost.refresh_from_db()
    assert lost.state == RunState.FAILED and "Worker lost" in lost.message


@pytest.mark.django_db
def test_a_run_queued_for_a_whole_interval_is_lost_and_the_next_refresh_queues_a_new_one(
    account: AwsAccount,
) -> None:
    """A queued run is reused by the next refresh of its account; one whose task the broker lost
    must not block the account's refreshes for ever."""
    sent: list[int] = []
    [lost] = runs.queue_runs([account], RunTrigger.SCHEDULE, enqueue=lambda run: sent.append(run.pk))
    assert runs.queue_runs([account], RunTrigger.SCHEDULE, enqueue=sent.append) == [lost]  # still waiting
    CollectionRun.objects.filter(pk=lost.pk).update(
        created=timezone.now() - runs.queued_stale_after() - dt.timedelta(minutes=1)
    )
    [fresh] = runs.refresh_all(enqueue=lambda run: sent.append(run.pk))
    assert fresh.pk != lost.pk and fresh.state == RunState.QUEUED
    lost.refresh_from_db()
    assert lost.state == RunState.FAILED and lost.message.startswith(
        "Never started: no worker took it for 6 hours"
    )
    assert not runs.claim_run(lost, task_id="its-task-after-all")  # a late delivery does nothing


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_of_one_account_at_once_run_only_once(
    account: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor == "sqlite" and ":memory:" in str(connection.settings_dict["NAME"]):
        pytest.fail("needs a file or server database shared by threads (see tests/conftest.py)")
    entered, release = threading.Event(), threading.Event()

    class Slow(Boxes):
        def collect(self, ctx):  # type: ignore[no-untyped-def]
            entered.set()
            release.wait(10)
            yield from super().collect(ctx)

    def fake_collect(acct, run, **kwargs):  # type: ignore[no-untyped-def]
        return collect_account(acct, run, access=FakeAccess(regions=["eu-west-1"]), collectors=[Slow()])

    monkeypatch.setattr("inventory.services.collect.collect_account", fake_collect)
    results: list[CollectionRun | None] = []

    def first() -> None:
        try:
            results.append(runs.refresh_account(account.pk, trigger=RunTrigger.SCHEDULE))
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert entered.wait(10)
        second = runs.refresh_account(account.pk, trigger=RunTrigger.MANUAL)
    finally:
        release.set()
        thread.join(20)
    assert second is not None and second.state == RunState.SKIPPED
    assert results[0] is not None and results[0].state == RunState.DONE
    assert CollectionRun.objects.filter(account=account, state=RunState.DONE).count() == 1
    assert Resource.objects.count() == 3


@pytest.mark.django_db
def test_refresh_account_of_a_vanished_account_returns_none() -> None:
    assert runs.refresh_account(987654) is None


@pytest.mark.django_db
def test_refresh_all_queues_enabled_open_accounts_after_commit(
    account: AwsAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    AwsAccount.objects.create(account_id="222233334444", name="off", collection_enabled=False)
    AwsAccount.objects.create(account_id="333344445555", name="closed", status=AccountStatus.CLOSED)
    suspended = AwsAccount.objects.create(
        account_id="444455556666", name="susp", status=AccountStatus.SUSPENDED
    )
    sent: list[CollectionRun] = []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = runs.refresh_all(enqueue=sent.append)
        assert sent == []  # nothing is sent before the runs are committed
    for callback in callbacks:
        callback()
    assert {r.account_id for r in queued} == {account.pk, suspended.pk}
    assert [r.pk for r in sent] == [r.pk for r in queued]
    assert all(r.state == RunState.QUEUED and r.trigger == RunTrigger.SCHEDULE for r in queued)
    assert len({r.batch for r in queued}) == 1


@pytest.mark.django_db
def test_refresh_all_does_not_pile_up_runs_for_a_busy_account(
    account: AwsAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        first = runs.refresh_all(enqueue=lambda run: None)
    with django_capture_on_commit_callbacks(execute=True):
        again = runs.refresh_all(enqueue=lambda run: None)
    assert [r.pk for r in again] == [r.pk for r in first]
    assert CollectionRun.objects.count() == 1


@pytest.mark.django_db
def test_refresh_now_is_for_the_security_team(
    account: AwsAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    viewer = User.objects.create_user("viewer", password="x" * 12)
    with pytest.raises(PermissionDenied):
        runs.refresh_now([account], viewer, enqueue=lambda run: None)
    analyst = User.objects.create_user("analyst", password="x" * 12)
    analyst.groups.add(Group.objects.create(name="security"))
    sent: list[int] = []
    with django_capture_on_commit_callbacks(execute=True):
        queued = runs.refresh_now([account], analyst, enqueue=lambda run: sent.append(run.pk))
    assert queued[0].requested_by == analyst and queued[0].trigger == RunTrigger.MANUAL
    assert sent == [queued[0].pk]


@pytest.mark.django_db
def test_unreachable_broker_fails_the_queued_run_visibly(
    account: AwsAccount, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    def down(run: CollectionRun) -> None:
        raise ConnectionRefusedError("redis down")

    with django_capture_on_commit_callbacks(execute=True):
        queued = runs.refresh_all(enqueue=down)
    queued[0].refresh_from_db()
    assert queued[0].state == RunState.FAILED and "broker" in queued[0].message
