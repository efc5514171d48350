"""`kill -9` of a Celery worker in the middle of a collection: the run is not left "running", and the
broker's redelivery of its task to another worker completes it (a real worker, Redis, moto).

The first worker collects through a loopback relay that delays every request, so the run is still
going when it is killed. The broker redelivers the unacknowledged task after the visibility timeout
(20 s here); a second worker takes it up as the run's own task and finishes the run afresh.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import AwsAccount
from inventory.models import FINISHED_STATES, CollectionRun, Resource, RunState, RunTrigger
from inventory.services import runs
from inventory.simulation.latency import LatencyRelay

from .test_worker import ORG, REGION, _database_url, _seed, _spawn, _stop, private_queue  # noqa: F401

pytestmark = [pytest.mark.redis, pytest.mark.moto, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
VISIBILITY_S = 20


@pytest.fixture
def relay(moto_endpoint: str) -> Iterator[LatencyRelay]:
    slow = LatencyRelay(moto_endpoint, delay=0.25).start()
    try:
        yield slow
    finally:
        slow.stop()


def _wait(what: str, test: object, timeout: float, logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():  # type: ignore[operator]
            return
        time.sleep(0.5)
    text = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs.glob("*.log"))
    raise AssertionError(f"timed out waiting for {what}\n{text}")


def test_a_killed_workers_run_is_completed_by_the_redelivery(
    moto_endpoint: str,
    relay: LatencyRelay,
    private_queue: str,  # noqa: F811  (the fixture, imported above)
    tmp_path: Path,
) -> None:
    _seed(moto_endpoint)
    account_id = next(iter(ORG))
    account = AwsAccount.objects.create(account_id=account_id, name=ORG[account_id])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_S),
        "SKYLEDGER_RUN_STALE_MINUTES": "1",
        "PYTHONPATH": str(ROOT),
    }
    args = ["worker", "--pool=threads", "-c", "1", "-Q", private_queue, "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-l", "info"]  # fmt: skip
    first = _spawn([*args, "-n", f"first-{private_queue}@%h"], {**env, "AWS_ENDPOINT_URL": relay.url},
                   tmp_path / "first.log")  # fmt: skip
    second = None
    try:
        [run] = runs.queue_runs([account], RunTrigger.MANUAL, queue=private_queue)
        _wait(
            "the first worker to be collecting",
            lambda: CollectionRun.objects.filter(
                pk=run.pk, state=RunState.RUNNING, units_done__gt=0
            ).exists(),
            120,
            tmp_path,
        )
        os.kill(first.pid, signal.SIGKILL)  # no warm shutdown, no ack: the message stays unacknowledged
        first.wait(timeout=10)
        killed_at = time.monotonic()
        run.refresh_from_db()
        assert run.state == RunState.RUNNING and run.units_done < run.units_planned

        second = _spawn([*args, "-n", f"second-{private_queue}@%h"], {**env, "AWS_ENDPOINT_URL": moto_endpoint},
                        tmp_path / "second.log")  # fmt: skip
        _wait(
            "the redelivered task to finish the run",
            lambda: CollectionRun.objects.get(pk=run.pk).state in FINISHED_STATES,
            VISIBILITY_S + 150,
            tmp_path,
        )
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
    run.refresh_from_db()
    logs = (tmp_path / "second.log").read_text(errors="replace")[-3000:]
    assert run.state in (RunState.DONE, RunState.PARTIAL), (run.message, logs)
    assert run.attempts == 2 and run.units_done == run.units_planned, logs  # taken up again, afresh
    assert not run.worker_lost and CollectionRun.objects.count() == 1
    assert time.monotonic() - killed_at < VISIBILITY_S + 150
    stored = Resource.objects.filter(account=account, deleted_at__isnull=True)
    assert stored.filter(type="ec2:security-group", name="app", region=REGION).exists()
    assert stored.filter(type="iam:user", name=f"{ORG[account_id]}-admin").exists()
