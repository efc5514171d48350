"""The Celery tasks, called in-process (no broker): thin wrappers with retries for transient errors."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AwsAccount
from inventory import tasks
from inventory.aws.errors import ErrorKind
from inventory.models import CollectionRun, Resource, RunState

from .fakes import Boxes, FakeAccess, access_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> AwsAccount:
    return AwsAccount.objects.create(account_id="111122223333", name="prod")


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> FakeAccess:
    access = FakeAccess(regions=["eu-west-1", "us-east-1"])
    monkeypatch.setattr("inventory.services.collect.default_access", lambda *a, **k: access)
    monkeypatch.setattr("inventory.collectors.base.collectors", lambda only=None: [Boxes(per_region=2)])
    return access


def test_refresh_account_task_collects_the_account(account: AwsAccount, fake_aws: FakeAccess) -> None:
    result = tasks.refresh_account.apply(args=[account.pk]).get()
    run = CollectionRun.objects.get()
    assert result == {"run": run.pk, "state": RunState.DONE}
    assert run.trigger == "schedule" and run.celery_task_id
    assert Resource.objects.count() == 4


def test_refresh_account_task_uses_the_given_run(account: AwsAccount, fake_aws: FakeAccess) -> None:
    run = CollectionRun.objects.create(account=account, trigger="manual")
    tasks.refresh_account.apply(args=[account.pk, run.pk], kwargs={"trigger": "manual"}).get()
    run.refresh_from_db()
    assert run.state == RunState.DONE and CollectionRun.objects.count() == 1


def test_transient_assume_failure_is_retried_then_recorded(account: AwsAccount, fake_aws: FakeAccess) -> None:
    fake_aws.fail = access_error(ErrorKind.NETWORK, "EndpointConnectionError")
    tasks.refresh_account.apply(args=[account.pk])
    run = CollectionRun.objects.get()
    assert len(fake_aws.targets) == tasks.MAX_RETRIES + 1  # first try + retries, all on one run
    assert run.state == RunState.FAILED and run.errors[-1]["code"] == "network"
    assert run.attempts == tasks.MAX_RETRIES + 1


def test_permanent_assume_failure_is_not_retried(account: AwsAccount, fake_aws: FakeAccess) -> None:
    fake_aws.fail = access_error(ErrorKind.ROLE_MISSING)
    tasks.refresh_account.apply(args=[account.pk])
    assert len(fake_aws.targets) == 1
    assert CollectionRun.objects.get().state == RunState.FAILED


def test_refresh_all_task_sends_one_refresh_per_account(
    account: AwsAccount, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    other = AwsAccount.objects.create(account_id="444455556666", name="dev")
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.refresh_account, "apply_async", lambda **kw: sent.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        run_ids = tasks.refresh_all.apply().get()
    assert sorted(call["args"][0] for call in sent) == sorted([account.pk, other.pk])
    assert sorted(call["args"][1] for call in sent) == sorted(run_ids)


def test_migration_schedules_refresh_all_every_few_hours() -> None:
    from django.conf import settings
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.select_related("interval").get(name="Refresh all accounts")
    assert task.task == "inventory.refresh_all" and task.enabled
    assert (task.interval.every, task.interval.period) == (settings.SKYLEDGER_REFRESH_HOURS, "hours")
    # the name it points at is a registered task
    assert "inventory.refresh_all" in tasks.refresh_all.app.tasks
