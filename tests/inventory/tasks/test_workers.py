"""Queued refreshes with no worker to take them are said out loud on the runs and home pages."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AwsAccount
from inventory.models import CollectionRun, RunState, WorkerBeat
from inventory.services import workers

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> AwsAccount:
    return AwsAccount.objects.create(account_id="111122223333", name="prod")


def queued(account: AwsAccount, minutes_ago: float) -> CollectionRun:
    run = CollectionRun.objects.create(account=account, state=RunState.QUEUED)
    CollectionRun.objects.filter(pk=run.pk).update(created=timezone.now() - dt.timedelta(minutes=minutes_ago))
    return run


def beat_at(hostname: str, seconds_ago: float) -> None:
    at = timezone.now() - dt.timedelta(seconds=seconds_ago)
    WorkerBeat.objects.create(hostname=hostname, started_at=at, last_seen=at)


def test_nothing_to_say_while_nothing_has_waited_a_minute(account: AwsAccount) -> None:
    assert workers.stalled_queue() is None
    queued(account, minutes_ago=0.5)
    assert workers.stalled_queue() is None
    CollectionRun.objects.create(account=account, state=RunState.DONE)
    assert workers.stalled_queue() is None


def test_a_run_queued_over_a_minute_with_no_worker_ever_is_reported(account: AwsAccount) -> None:
    queued(account, minutes_ago=3)
    stalled = workers.stalled_queue()
    assert stalled is not None and stalled.count == 1 and stalled.last_worker_seen is None
    assert "1 refresh has been queued for 3 minutes and no Celery worker is running" in stalled.message
    assert "none has ever reported" in stalled.message and "celery -A config worker" in stalled.message


def test_a_live_worker_silences_it_and_a_silent_one_does_not(account: AwsAccount) -> None:
    queued(account, minutes_ago=5)
    queued(AwsAccount.objects.create(account_id="444455556666", name="dev"), minutes_ago=2)
    beat_at("celery@busy", seconds_ago=5)
    assert workers.stalled_queue() is None  # a worker is alive: it will get to them
    WorkerBeat.objects.all().delete()
    beat_at("celery@gone", seconds_ago=workers.LIVE_FOR.total_seconds() + 30)
    stalled = workers.stalled_queue()
    assert stalled is not None and stalled.count == 2
    assert "2 refreshes have been queued for 5 minutes" in stalled.message
    assert "the last one reported at" in stalled.message


def test_the_heartbeat_thread_records_the_worker_and_a_clean_stop_removes_it(
    transactional_db: None,
) -> None:
    thread = workers.start_heartbeat("celery@test-host", every=0.05)
    deadline = time.monotonic() + 10
    while not WorkerBeat.objects.filter(hostname="celery@test-host").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    first = WorkerBeat.objects.get(hostname="celery@test-host").last_seen
    while (
        WorkerBeat.objects.get(hostname="celery@test-host").last_seen == first and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert WorkerBeat.objects.get(hostname="celery@test-host").last_seen > first
    assert [w.hostname for w in workers.live_workers()] == ["celery@test-host"]
    workers.stop_heartbeat("celery@test-host")
    thread.join(timeout=5)
    assert not thread.is_alive() and not WorkerBeat.objects.exists()


@pytest.mark.parametrize("page", ["inventory:run_list", "home"])
def test_the_runs_page_and_the_home_page_say_so(account: AwsAccount, page: str) -> None:
    client = Client()
    client.force_login(User.objects.create_user("viewer", password="x" * 12))
    queued(account, minutes_ago=4)
    html = client.get(reverse(page)).content.decode()
    assert 'id="stalled-queue"' in html and "no Celery worker is running" in html
    beat_at("celery@alive", seconds_ago=1)
    assert 'id="stalled-queue"' not in client.get(reverse(page)).content.decode()
