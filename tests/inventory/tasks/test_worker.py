"""The schedule end to end: beat -> ``inventory.refresh_all`` -> a real Celery worker on Redis -> moto.

Beat and the worker run as subprocesses sharing this test's database (a file SQLite database, see
conftest, or PostgreSQL) and a private queue, so they cannot take other tasks or be taken by other
workers. A small simulated organisation of three accounts is refreshed; a fourth, with collection
off, must not be.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import AwsAccount
from iam_audit.graph import GRAPH_CHECKS
from iam_audit.models import CheckResult
from inventory.models import FINISHED_STATES, CollectionRun, CoverageRecord, Resource, RunState, RunTrigger

pytestmark = [pytest.mark.redis, pytest.mark.moto, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
ORG = {"100000000001": "management", "100000000002": "prod", "100000000003": "dev"}
OFF = "100000000004"
REGION = "eu-west-1"


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        if ":memory:" in str(db["NAME"]) or "mode=memory" in str(db["NAME"]):
            pytest.fail("the worker test needs a file SQLite test database (see conftest)")
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(db.get("USER") or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    pytest.skip(f"no worker database URL for {connection.vendor}")


def _seed(endpoint: str) -> None:
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    for account_id, name in ORG.items():
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/seed", RoleSessionName="seed")[
            "Credentials"
        ]
        keys = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
            "endpoint_url": endpoint,
        }
        boto3.client("s3", region_name="us-east-1", **keys).create_bucket(Bucket=f"{name}-logs-{account_id}")
        boto3.client("iam", region_name="us-east-1", **keys).create_user(UserName=f"{name}-admin")
        boto3.client("ec2", region_name=REGION, **keys).create_security_group(
            GroupName="app", Description=name
        )


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", *args],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def private_queue() -> Iterator[str]:
    import redis

    name = f"skyledger-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(name)  # kombu keeps a queue's messages in a list named after it
    client.close()


def test_scheduled_refresh_all_collects_every_account_through_a_real_worker(
    moto_endpoint: str, private_queue: str, tmp_path: Path
) -> None:
    _seed(moto_endpoint)
    for account_id, name in ORG.items():
        AwsAccount.objects.create(account_id=account_id, name=name, allowed_regions=[REGION])
    AwsAccount.objects.create(account_id=OFF, name="off", collection_enabled=False)

    # the schedule made by the data migration (re-made if an earlier test flushed it), due now,
    # routed to our private queue
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=settings.SKYLEDGER_REFRESH_HOURS, period="hours"
    )
    task, _ = PeriodicTask.objects.get_or_create(
        name="Refresh all accounts", defaults={"task": "inventory.refresh_all", "interval": interval}
    )
    PeriodicTask.objects.filter(pk=task.pk).update(
        queue=private_queue, enabled=True, last_run_at=timezone.now() - dt.timedelta(hours=24)
    )

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "AWS_ENDPOINT_URL": moto_endpoint,
        # the repository first, then what the caller had (make test-shifted-clock adds its sitecustomize)
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    worker = _spawn(
        ["worker", "--pool=threads", "-c", "2", "-Q", private_queue, "-n", f"{private_queue}@%h",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        env, tmp_path / "worker.log",
    )  # fmt: skip
    beat = _spawn(
        ["beat", "-S", "django_celery_beat.schedulers:DatabaseScheduler", "--max-interval", "1", "-l", "info",
         "--pidfile", str(tmp_path / "beat.pid")],
        env, tmp_path / "beat.log",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            runs = list(CollectionRun.objects.all())
            if len(runs) >= len(ORG) and all(r.state in FINISHED_STATES for r in runs):
                break
            if worker.poll() is not None or beat.poll() is not None:
                break
            time.sleep(1)
    finally:
        _stop(beat)
        _stop(worker)
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in tmp_path.glob("*.log"))

    runs = list(CollectionRun.objects.select_related("account"))
    assert {r.account.account_id for r in runs} == set(ORG), logs
    for run in runs:
        assert run.trigger == RunTrigger.SCHEDULE and run.celery_task_id and run.worker, logs
        # moto does not implement IAM Access Analyzer: that alone makes a run partial
        not_ok = set(
            CoverageRecord.objects.filter(account=run.account)
            .exclude(coverage="ok")
            .values_list("type", "coverage")
        )
        assert not_ok <= {("accessanalyzer:analyzer", "unsupported")}, (not_ok, logs)
        assert run.state == (RunState.PARTIAL if not_ok else RunState.DONE), (run.message, logs)
        assert run.units_done == run.units_planned > 0
    for account_id, name in ORG.items():
        stored = Resource.objects.filter(account__account_id=account_id, deleted_at__isnull=True)
        assert stored.filter(type="s3:bucket", name=f"{name}-logs-{account_id}").exists(), logs
        assert stored.filter(type="iam:user", name=f"{name}-admin").exists()
        assert stored.filter(type="ec2:security-group", name="app", region=REGION).exists()
    assert not Resource.objects.filter(account__account_id=OFF).exists()

    # the checks ran after each collection; the IAM graph's, estate-wide, once for the whole batch
    # by its last run (one evaluation time for every account), not once per account
    graph_rows = CheckResult.objects.filter(check_id__in=list(GRAPH_CHECKS))
    assert set(graph_rows.values_list("account__account_id", "check_id")) == {
        (a, c) for a in ORG for c in GRAPH_CHECKS
    }, logs
    assert len(set(graph_rows.values_list("evaluated_at", flat=True))) == 1, logs
