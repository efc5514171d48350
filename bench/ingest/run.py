"""Ingest benchmark: batch upserts of N synthetic resources into PostgreSQL (or any DATABASE_URL).

    .venv/bin/python bench/ingest/run.py                       # 10k and 100k on PostgreSQL
    .venv/bin/python bench/ingest/run.py --sizes 1000 --database-url sqlite:////tmp/bench.sqlite3

Each size runs in a fresh child process (so peak memory is that size's own) and does three passes
over one account: all new; the same again (unchanged: only last_seen moves); then 10 % changed and
1 % gone (revisions and the deletion sweep). Records are generated lazily, as a collector yields
them, and prepared in a helper thread while the main thread writes (``prefetch=True``), as the
orchestrator's collector threads do in production. The figure to watch for memory is the growth
of the peak RSS over the process's baseline.
Writes bench/ingest/results.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/skyledger_bench"
ACCOUNT_ID = "555500001111"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def records(n: int, version: int = 0, changed_every: int = 0, skip_every: int = 0) -> Iterator[Any]:
    """Synthetic EC2 instances (~1.5 KB of metadata each), generated one at a time."""
    from inventory.records import Record

    for i in range(n):
        if skip_every and i % skip_every == 0:
            continue
        state = "stopped" if changed_every and i % changed_every == 0 else "running"
        region = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")[i % 4]
        iid = f"i-{i:017x}"
        yield Record(
            type="ec2:instance",
            arn=f"arn:aws:ec2:{region}:{ACCOUNT_ID}:instance/{iid}",
            resource_id=iid,
            name=f"app-{i % 500}-{i}",
            region=region,
            tags={"Name": f"app-{i % 500}-{i}", "team": f"team-{i % 17}", "env": "prod", "cost-centre": str(i % 91)},
            data={
                "InstanceId": iid,
                "InstanceType": "m6i.large",
                "ImageId": f"ami-{i % 40:017x}",
                "LaunchTime": "2025-01-02T03:04:05+00:00",
                "State": {"Code": 16, "Name": state},
                "PrivateIpAddress": f"10.{i % 250}.{(i // 250) % 250}.{i % 200 + 1}",
                "PublicIpAddress": None if i % 3 else f"54.1.{i % 250}.{i % 200 + 1}",
                "SubnetId": f"subnet-{i % 64:08x}",
                "VpcId": f"vpc-{i % 8:08x}",
                "IamInstanceProfile": {"Arn": f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/app-{i % 9}"},
                "MetadataOptions": {"HttpTokens": "required" if i % 5 else "optional", "HttpEndpoint": "enabled",
                                    "HttpPutResponseHopLimit": 2},
                "SecurityGroups": [{"GroupId": f"sg-{i % 30:08x}", "GroupName": f"app-{i % 30}"}],
                "NetworkInterfaces": [
                    {"NetworkInterfaceId": f"eni-{i:017x}", "SubnetId": f"subnet-{i % 64:08x}",
                     "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": f"10.0.{i % 250}.{i % 200}"}],
                     "Groups": [{"GroupId": f"sg-{i % 30:08x}"}], "Attachment": {"DeviceIndex": 0}}
                ],
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": f"vol-{i:017x}",
                                                                            "DeleteOnTermination": True}}],
                "Monitoring": {"State": "disabled"},
                "Placement": {"AvailabilityZone": f"{region}a", "Tenancy": "default"},
                "Architecture": "x86_64",
                "RootDeviceType": "ebs",
                "Version": version,
            },
        )  # fmt: skip


def _backend_pid(connection: Any) -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    return pid if Path(f"/proc/{pid}/stat").exists() else None  # a server on this machine only


def _cpu_of(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(size: int, chunk: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SKYLEDGER_DEV", "1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from accounts.models import AwsAccount
    from inventory.models import Resource, ResourceRevision
    from inventory.records import Coverage
    from inventory.services.ingest import ingest

    for stale in AwsAccount.objects.filter(account_id=ACCOUNT_ID):  # an interrupted earlier run
        _clean(stale.pk)
    _vacuum(connection)
    account = AwsAccount.objects.create(account_id=ACCOUNT_ID, name="bench")
    types = ["ec2:instance"]
    ok = {"ec2:instance": Coverage.OK}
    baseline = current_rss_mb()
    out: dict[str, Any] = {
        "size": size,
        "chunk": chunk,
        "vendor": connection.vendor,
        "baseline_rss_mb": round(baseline, 1),
    }
    start = timezone.now()
    passes = [
        ("new", records(size), start),
        ("unchanged", records(size), start + dt.timedelta(seconds=1)),
        (
            "10% changed, 1% gone",
            records(size, changed_every=10, skip_every=100),
            start + dt.timedelta(seconds=2),
        ),
    ]
    backend = _backend_pid(connection)
    for label, stream, seen_at in passes:
        t0, cpu0, db0 = time.perf_counter(), time.process_time(), _cpu_of(backend)
        result = ingest(
            account, "global", types, stream, ok, seen_at=seen_at, chunk_size=chunk, prefetch=True
        )
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        db_cpu = _cpu_of(backend) - db0 if backend else None
        out[label] = {
            "seconds": round(elapsed, 2),
            "python_cpu_seconds": round(cpu, 2),  # the rest is the database (and waiting for a core)
            # CPU the database server process spent on this pass (PostgreSQL on this machine)
            "db_cpu_seconds": round(db_cpu, 2) if db_cpu is not None else None,
            # a core each for us and the database (the writer overlaps the two): an estimate
            # that does not depend on what else the machine is doing, labelled as such
            "cpu_bound_resources_per_s": round(result.stats.seen / max(cpu, db_cpu or 0.0, 1e-9)),
            "resources_per_s": round(result.stats.seen / elapsed),
            "new": result.stats.new,
            "changed": result.stats.changed,
            "unchanged": result.stats.unchanged,
            "deleted": result.stats.deleted,
        }
    out["peak_rss_mb"] = round(rss_mb(), 1)
    out["peak_growth_mb"] = round(rss_mb() - baseline, 1)
    out["stored"] = Resource.objects.filter(account=account).count()
    out["revisions"] = ResourceRevision.objects.filter(resource__account=account).count()
    print(json.dumps(out), flush=True)  # the figures, before the clean-up
    _clean(account.pk)
    return out


def _clean(account_pk: int) -> None:
    """Remove the bench account's rows with set-based DELETEs.

    The ORM's cascade would load 100k resources into Python (to run other apps' ON DELETE rules on
    each one); the bench database holds nothing else that points at them.
    """
    from django.db import connection, transaction

    from accounts.models import AwsAccount

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM inventory_resourcerevision WHERE resource_id IN "
            "(SELECT id FROM inventory_resource WHERE account_id = %s)",
            [account_pk],
        )
        for table in ("inventory_coveragerecord", "inventory_resource", "inventory_collectionrun"):
            cursor.execute(f"DELETE FROM {table} WHERE account_id = %s", [account_pk])
    AwsAccount.objects.filter(pk=account_pk).delete()


def _vacuum(connection: Any) -> None:
    """Reclaim the rows earlier runs deleted, as autovacuum does on a production server.

    PostgreSQL on this machine runs with autovacuum off: without this, every run would start on a
    table bloated by all the runs before it. The statistics stay as they are (none, or taken while
    the table was empty): ingest must not depend on them.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM inventory_resource, inventory_resourcerevision, inventory_coveragerecord")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.chunk)  # prints its figures as one JSON line
        return

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "SKYLEDGER_DEV": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    sys.path.insert(0, str(ROOT))
    from bench.common import ensure_database

    ensure_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    results = []
    for size in args.sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(size), "--chunk", str(args.chunk)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("{"))))
    print(f"database: {results[0]['vendor']}  chunk: {args.chunk}")
    print(
        f"{'size':>8} {'pass':<22} {'seconds':>8} {'our CPU':>8} {'DB CPU':>8} {'res/s':>8} {'CPU-bound':>9}  "
        "new/changed/unchanged/deleted"
    )
    for r in results:
        for label in ("new", "unchanged", "10% changed, 1% gone"):
            p = r[label]
            counts = f"{p['new']}/{p['changed']}/{p['unchanged']}/{p['deleted']}"
            print(
                f"{r['size']:>8} {label:<22} {p['seconds']:>8} {p['python_cpu_seconds']:>8} "
                f"{p['db_cpu_seconds'] if p['db_cpu_seconds'] is not None else '-':>8} {p['resources_per_s']:>8} "
                f"{p['cpu_bound_resources_per_s']:>9}  {counts}"
            )
        print(
            f"{'':>8} peak RSS {r['peak_rss_mb']} MB (baseline {r['baseline_rss_mb']} MB, growth {r['peak_growth_mb']} MB)"
        )
    if len(results) > 1:
        small, large = results[0], results[-1]
        ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
        growth = (
            (large["peak_growth_mb"] / small["peak_growth_mb"])
            if small["peak_growth_mb"] > 0
            else float("nan")
        )
        print(
            f"peak RSS {large['size']:,} vs {small['size']:,}: x{ratio:.2f} (growth over baseline x{growth:.2f})"
        )
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
