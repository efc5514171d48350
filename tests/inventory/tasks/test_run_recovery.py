"""No run stays "running" or "queued" on a false promise: a lost worker is noticed within the stale
limit, its redelivered task completes the run afresh, a queued run's task is sent again when it may
have been lost, and `collect` says so when it collected nothing."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from accounts.models import AwsAccount
from inventory.checks import run_timings_agree
from inventory.models import CollectionRun, RunState, RunTrigger
from inventory.services import runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> AwsAccount:
    return AwsAccount.objects.create(account_id="111122223333", name="prod")


class Sent:
    def __init__(self) -> None:
        self.runs: list[int] = []

    def __call__(self, run: CollectionRun) -> None:
        self.runs.append(run.pk)


def running(account: AwsAccount, heartbeat_ago: dt.timedelta, task_id: str = "task-1") -> CollectionRun:
    run = runs.create_run(account)
    assert runs.claim_run(run, task_id=task_id)
    CollectionRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - heartbeat_ago,
        errors=[{"code": "throttled", "message": "first attempt's error"}],
        error_count=1,
    )
    return run


@override_settings(SKYLEDGER_RUN_STALE_MINUTES=2)
def test_a_run_whose_heartbeat_stopped_is_failed_within_the_stale_limit_from_settings(
    account: AwsAccount,
) -> None:
    alive = running(account, dt.timedelta(seconds=90))
    assert runs.expire_stale() == 0
    alive.refresh_from_db()
    assert alive.state == RunState.RUNNING

    CollectionRun.objects.filter(pk=alive.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=2, seconds=5)
    )
    assert runs.expire_stale() == 1
    alive.refresh_from_db()
    assert alive.state == RunState.FAILED and alive.worker_lost
    assert alive.message.startswith("Worker lost: the process collecting it stopped reporting for 2 minutes.")
    # the account is free again
    assert runs.active_run(account) is None


def test_the_redelivered_task_takes_its_lost_run_up_again_afresh(account: AwsAccount) -> None:
    run = running(account, dt.timedelta(hours=1), task_id="task-1")
    runs.expire_stale()
    assert not runs.claim_run(run, task_id="someone-else")  # not another task's to take
    assert runs.claim_run(run, task_id="task-1")
    run.refresh_from_db()
    assert (run.state, run.worker_lost, run.attempts, run.message) == (RunState.RUNNING, False, 2, "")
    assert run.errors == [] and run.error_count == 0  # this attempt reports its own errors only
    assert run.finished_at is None


def test_a_lost_run_is_not_taken_up_while_another_run_of_the_account_holds_the_lock(
    account: AwsAccount,
) -> None:
    lost = running(account, dt.timedelta(hours=1), task_id="task-1")
    runs.expire_stale()
    newer = runs.create_run(account)
    assert runs.claim_run(newer, task_id="task-2")
    assert not runs.claim_run(lost, task_id="task-1")
    lost.refresh_from_db()
    assert lost.state == RunState.FAILED


def test_a_refresh_asked_again_resends_a_queued_run_unless_just_sent(
    account: AwsAccount, django_capture_on_commit_callbacks: Any
) -> None:
    sent = Sent()

    def queue() -> list[CollectionRun]:
        with django_capture_on_commit_callbacks(execute=True):
            return runs.queue_runs([account], RunTrigger.MANUAL, enqueue=sent)

    [run] = queue()
    assert sent.runs == [run.pk]
    queue()  # a double click: not again
    assert sent.runs == [run.pk]
    # a minute later (the broker may have restarted without its data): sent again, same run
    CollectionRun.objects.filter(pk=run.pk).update(sent_at=timezone.now() - dt.timedelta(minutes=1))
    again = queue()
    assert [r.pk for r in again] == [run.pk] and sent.runs == [run.pk, run.pk]
    assert CollectionRun.objects.count() == 1


def test_each_send_has_its_own_task_id_so_a_late_copy_cannot_take_over_a_running_run(
    account: AwsAccount, monkeypatch: Any
) -> None:
    from inventory.tasks import refresh_account

    ids: list[str] = []
    monkeypatch.setattr(refresh_account, "apply_async", lambda *a, task_id="", **k: ids.append(task_id))
    run = runs.create_run(account)
    runs.send_task(run)
    runs.send_task(run)  # sent again: the broker may have lost the first copy, or not
    assert len(set(ids)) == 2 and run.celery_task_id == ids[1]
    assert runs.claim_run(run, task_id=ids[0])  # the first copy arrives and takes the run
    assert not runs.claim_run(run, task_id=ids[1])  # the second finds it taken and does nothing
    run.refresh_from_db()
    assert (run.state, run.celery_task_id, run.attempts) == (RunState.RUNNING, ids[0], 1)
    assert runs.claim_run(run, task_id=ids[0])  # while its own task may take it up again (redelivery)


@override_settings(SKYLEDGER_RUN_STALE_MINUTES=2)
def test_runs_waiting_a_whole_stale_limit_are_resent_once_by_one_process(account: AwsAccount) -> None:
    other = AwsAccount.objects.create(account_id="444455556666", name="dev")
    waiting, fresh = runs.create_run(account), runs.create_run(other)
    now = timezone.now()
    CollectionRun.objects.filter(pk=waiting.pk).update(sent_at=now - dt.timedelta(minutes=3))
    CollectionRun.objects.filter(pk=fresh.pk).update(sent_at=now - dt.timedelta(seconds=30))
    sent = Sent()
    assert runs.resend_waiting(enqueue=sent) == 1 and sent.runs == [waiting.pk]
    assert runs.resend_waiting(enqueue=sent) == 0  # sent_at moved on: not again until the next limit
    waiting.refresh_from_db()
    assert waiting.sent_at is not None and waiting.sent_at > now - dt.timedelta(seconds=5)


def test_the_run_heartbeat_thread_keeps_a_long_call_alive(transactional_db: None) -> None:
    account = AwsAccount.objects.create(account_id="111122223333", name="prod")
    run = runs.create_run(account)
    assert runs.claim_run(run, task_id="t")
    CollectionRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    with runs.run_heartbeat(run.pk, every=0.05):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            run.refresh_from_db()
            assert run.heartbeat_at is not None
            if timezone.now() - run.heartbeat_at < dt.timedelta(seconds=5):
                break
            time.sleep(0.05)
    assert timezone.now() - run.heartbeat_at < dt.timedelta(seconds=5)


def test_collect_exits_non_zero_when_it_did_not_collect(account: AwsAccount, monkeypatch: Any) -> None:
    holder = runs.create_run(account)
    assert runs.claim_run(holder, task_id="busy")  # another refresh of the account is running
    with pytest.raises(
        CommandError, match="1 account\\(s\\) not collected, a refresh of each was already running"
    ):
        call_command("collect", "--account", account.account_id, "--no-progress")


@override_settings(SKYLEDGER_RUN_STALE_MINUTES=2)
def test_the_timings_must_agree(settings: Any) -> None:
    from inventory.tasks import HARD_TIME_LIMIT

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": HARD_TIME_LIMIT + 60}
    assert run_timings_agree() == []
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": HARD_TIME_LIMIT}
    assert [e.id for e in run_timings_agree()] == ["inventory.E001"]
    settings.SKYLEDGER_RUN_STALE_MINUTES = 0
    assert [e.id for e in run_timings_agree()] == ["inventory.E001", "inventory.E002"]


def test_the_default_settings_agree() -> None:
    from django.conf import settings

    from inventory.tasks import HARD_TIME_LIMIT

    assert run_timings_agree() == []
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > HARD_TIME_LIMIT
    assert runs.stale_after() == dt.timedelta(minutes=settings.SKYLEDGER_RUN_STALE_MINUTES)
