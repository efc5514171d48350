"""Redis restarted without its data loses the queued tasks: the run is not left "queued" for ever.

A private Redis (its own port, no persistence) is the broker. A run is queued, Redis is killed and
started again empty, and a worker starts: its heartbeat sweep finds the run waiting past the stale
limit, sends its task again, and collects the account.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone
from kombu import Connection

from accounts.models import AwsAccount
from inventory.models import FINISHED_STATES, CollectionRun, Resource, RunState, RunTrigger
from inventory.services import runs

from .test_worker import ORG, REGION, _database_url, _seed, _spawn, _stop

pytestmark = [pytest.mark.redis, pytest.mark.moto, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
QUEUE = "skyledger-broker-restart"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _real_clock_env() -> dict[str, str]:
    """The environment without libfaketime: Redis is a service like PostgreSQL, on the real clock
    (under ``make test-shifted-clock`` it would otherwise inherit the shift and fail to start)."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}


class PrivateRedis:
    def __init__(self, tmp: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install -y redis-server)")
        self.binary, self.dir, self.port = binary, tmp, _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            env=_real_clock_env(),
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the private Redis did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def queued(self) -> int:
        with Connection(self.url) as conn:
            return int(conn.default_channel.client.llen(QUEUE))


@pytest.fixture
def redis_broker(tmp_path: Path) -> Iterator[PrivateRedis]:
    broker = PrivateRedis(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


def test_a_run_queued_before_redis_lost_its_data_is_sent_again_and_collected(
    moto_endpoint: str, redis_broker: PrivateRedis, tmp_path: Path
) -> None:
    from inventory.tasks import refresh_account

    _seed(moto_endpoint)
    account_id = next(iter(ORG))
    account = AwsAccount.objects.create(account_id=account_id, name=ORG[account_id])

    def enqueue(run: CollectionRun) -> None:  # what send_task does, through the private broker
        CollectionRun.objects.filter(pk=run.pk).update(celery_task_id=f"task-{run.pk}", queue=QUEUE)
        with Connection(redis_broker.url) as conn:
            refresh_account.apply_async(
                args=[run.account_id, run.pk], task_id=f"task-{run.pk}", queue=QUEUE, connection=conn
            )

    [run] = runs.queue_runs([account], RunTrigger.MANUAL, enqueue=enqueue)
    assert redis_broker.queued() == 1
    redis_broker.kill()  # no persistence: the message is gone
    redis_broker.start()
    assert redis_broker.queued() == 0
    # the run has waited past the stale limit since its task was sent
    CollectionRun.objects.filter(pk=run.pk).update(sent_at=timezone.now() - dt.timedelta(minutes=2))

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_broker.url,
        "SKYLEDGER_RUN_STALE_MINUTES": "1",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    worker = _spawn(
        ["worker", "--pool=threads", "-c", "1", "-Q", QUEUE, "-n", f"{QUEUE}@%h", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-l", "info"],
        env, tmp_path / "worker.log",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            if CollectionRun.objects.get(pk=run.pk).state in FINISHED_STATES or worker.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        _stop(worker)
    logs = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    run.refresh_from_db()
    assert run.state in (RunState.DONE, RunState.PARTIAL), (run.state, run.message, logs)
    # collected by a copy the sweep sent (a task id of its own), on the first attempt
    assert run.celery_task_id not in ("", f"task-{run.pk}") and run.attempts == 1, logs
    assert CollectionRun.objects.count() == 1
    stored = Resource.objects.filter(account=account, deleted_at__isnull=True)
    assert stored.filter(type="ec2:security-group", name="app", region=REGION).exists(), logs
