"""Collection benchmark: a simulated estate collected straight and 50 ms away (a latency relay).

    .venv/bin/python bench/collect/run.py                  # 2 accounts x 16 regions x 20 groups
    .venv/bin/python bench/collect/run.py --accounts 1 --regions 4 --resources 5 --quick

The estate is seeded with boto3 directly: N accounts (assumed into, so moto creates them), each with
K security groups in each of R regions (plus the default VPC moto makes per account-region). Then:

1. the endpoint's ceiling: light ``ec2:DescribeVpcs`` calls from T threads with pre-made clients
   and no collection logic, straight and through the relay;
2. collection with every registered collector: warm-up passes (moto builds each service's
   backend on first touch; a Hub makes the clients its account sessions share once, as a worker
   process does on its first collection), then N accounts straight with regions in parallel; the first account
   straight with regions serial; the same two through the latency relay (``LatencyRelay``: every
   request reaches moto 50 ms late; in its own process, so it does not share our GIL). The relay
   parses nothing, so it takes little CPU from the two cores collector and moto share (AWS's
   distance takes none). One Hub serves every pass, as one serves every account in a worker;
3. the replay ceiling: every call the straight parallel pass made (same accounts, regions,
   operations, parameters and pages), replayed from clients made beforehand on the same number of
   threads, with no collection logic and nothing stored. ``straight_vs_replay`` is the fraction of
   that rate collection reaches; ``straight_vs_ceiling`` compares with the light call.

Reports wall time, API calls, calls/s, resources/s, boto3 clients created during the pass (0 once
warm: see ``inventory.aws.session.AccountSession``), peak RSS and the serial/parallel ratio; writes
bench/collect/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

REGIONS = [
    "us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-1", "ap-northeast-1", "us-east-2",
    "us-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "ap-south-1", "ap-southeast-2", "ap-northeast-2",
    "ca-central-1", "sa-east-1",
]  # fmt: skip
ROLE = "SkyledgerReadOnly"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_relay(upstream: str, delay: float) -> tuple[subprocess.Popen[str], str]:
    """The latency relay (inventory.simulation.latency) in its own process; returns (process, url)."""
    code = (
        "import sys, time\n"
        "from inventory.simulation.latency import LatencyRelay\n"
        f"p = LatencyRelay({upstream!r}, delay={delay!r}).start()\n"
        "print(p.url, flush=True)\n"
        "sys.stdin.read()\n"  # runs until the parent closes stdin
        "p.stop()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        raise RuntimeError(f"relay did not start: {url!r}")
    return process, url


def seed(endpoint: str, accounts: list[str], regions: list[str], per_region: int) -> int:
    from inventory.aws.session import AwsSettings, Hub, Target

    hub = Hub(AwsSettings(endpoint_url=endpoint, max_pool_connections=32))
    calls = 0

    def one_region(session: Any, region: str) -> None:
        nonlocal calls
        ec2 = session.client("ec2", region)
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]  # the default VPC moto makes
        for n in range(per_region):
            ec2.create_security_group(GroupName=f"app-{n}", Description=f"app tier {n}", VpcId=vpc)
        calls += per_region + 1

    for account_id in accounts:
        session = hub.assume(Target(account_id, f"arn:aws:iam::{account_id}:role/{ROLE}"))
        threads = [threading.Thread(target=one_region, args=(session, r)) for r in regions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return calls


def ceiling(endpoint: str, account: str, threads: int, seconds: float) -> float:
    """Calls/s the endpoint serves for a light describe call from ``threads`` threads."""
    from inventory.aws.session import AwsSettings, Hub, Target

    hub = Hub(AwsSettings(endpoint_url=endpoint, max_pool_connections=threads + 4, max_attempts=1))
    session = hub.assume(Target(account, f"arn:aws:iam::{account}:role/{ROLE}"))
    clients = [session.client("ec2", REGIONS[i % len(REGIONS)]) for i in range(threads)]
    for c in clients:
        c.describe_vpcs()  # warm connections
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def hammer(i: int) -> None:
        client = clients[i]
        while time.monotonic() < stop:
            client.describe_vpcs()
            counts[i] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=hammer, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.monotonic() - started)


_HUBS: dict[Any, Any] = {}
POOL = 32  # connections per endpoint host: 2 x the default 16 region workers


class RecordingAccess:
    """The real access layer, remembering sessions (for clients created) and, when asked, every call
    made (account, region, service, operation, parameters) for :func:`replay`."""

    def __init__(self, endpoint: str, pool: int, record: bool = False) -> None:
        from inventory.aws.session import AwsSettings, Hub
        from inventory.services.collect import AwsAccess

        # one Hub per endpoint for the whole benchmark (serial passes included), as a worker
        # process keeps one for all the accounts it collects (inventory.services.collect._HUBS)
        settings = AwsSettings(endpoint_url=endpoint, max_pool_connections=pool)
        hub = _HUBS.get(settings) or _HUBS.setdefault(settings, Hub(settings))
        self.inner = AwsAccess(hub)
        self.sessions: list[Any] = []
        self.record = record
        self.calls: list[tuple[str, str, str, str, dict[str, Any]]] = []

    def assume(self, target: Any) -> Any:
        session = self.inner.assume(target)
        self.sessions.append(session)
        if self.record:
            account = target.account_id

            def remember(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
                service = model.service_model.service_name
                self.calls.append(
                    (account, context.get("client_region") or "", service, model.name, dict(params))
                )

            session.on_every_client("provide-client-params", remember)
        return session

    def regions(self, session: Any, allowed: Any) -> list[str]:
        return self.inner.regions(session, allowed)


def replay(endpoint: str, calls: list[tuple[str, str, str, str, dict[str, Any]]], workers: int) -> float:
    """The endpoint's ceiling for collection's own work: the very calls a collection made (same
    accounts, regions, operations, parameters, pages), from clients made beforehand, each
    (account, region)'s calls in order on ``workers`` threads as collection runs them, with no
    collection logic and nothing stored. Returns calls/s."""
    from concurrent.futures import ThreadPoolExecutor

    from botocore import xform_name

    from inventory.aws.session import AwsSettings, Hub, Target

    hub = Hub(AwsSettings(endpoint_url=endpoint, max_pool_connections=max(10, 2 * workers), max_attempts=1))
    sessions = {a: hub.assume(Target(a, f"arn:aws:iam::{a}:role/{ROLE}")) for a in {c[0] for c in calls}}
    groups: dict[tuple[str, str], list[tuple[Any, str, dict[str, Any]]]] = {}
    for account, region, service, operation, params in calls:
        client = sessions[account].client(service, region)  # created now, outside the timing
        groups.setdefault((account, region), []).append((client, xform_name(operation), params))

    def run(group: list[tuple[Any, str, dict[str, Any]]]) -> None:
        for client, method, params in group:
            try:
                getattr(client, method)(**params)
            except Exception:  # noqa: BLE001  (the same answers collection got: denied, not implemented)
                pass

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, groups.values()))
    return len(calls) / (time.monotonic() - started)


def collect(
    endpoint: str, accounts: list[Any], workers: int, label: str, record: list[Any] | None = None
) -> dict[str, Any]:
    from inventory.services.collect import collect_account
    from inventory.services.runs import create_run

    access = RecordingAccess(endpoint, POOL, record=record is not None)
    started = time.monotonic()
    cpu = time.process_time()
    # the seeded regions only (--regions): every enabled region is collected otherwise, as it should be
    runs = [
        collect_account(
            a, create_run(a), access=access, region_workers=workers, only_regions=a.allowed_regions
        )
        for a in accounts
    ]
    wall = time.monotonic() - started
    if record is not None:
        record.extend(access.calls)
    calls = sum(r.api_calls for r in runs)
    seen = sum(r.resources_seen for r in runs)
    return {
        "label": label,
        "accounts": len(accounts),
        "region_workers": workers,
        "wall_s": round(wall, 2),
        "our_cpu_s": round(time.process_time() - cpu, 2),
        "api_calls": calls,
        "api_retries": sum(r.api_retries for r in runs),
        "calls_per_s": round(calls / wall, 1),
        "resources": seen,
        "resources_per_s": round(seen / wall, 1),
        "clients_created": sum(s.clients_created for s in access.sessions),
        "units": sum(r.units_done for r in runs),
        "states": sorted({r.state for r in runs}),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=2)
    parser.add_argument("--regions", type=int, default=16)
    parser.add_argument("--resources", type=int, default=20, help="security groups per account-region")
    parser.add_argument(
        "--delay", type=float, default=0.05, help="latency the relay adds to each request (s)"
    )
    parser.add_argument("--workers", type=int, default=16, help="regions in parallel")
    parser.add_argument("--ceiling-threads", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--ceiling-seconds", type=float, default=4.0)
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--quick", action="store_true", help="skip the serial passes")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args()

    db_file = Path(tempfile.gettempdir()) / f"skyledger-bench-collect-{os.getpid()}.sqlite3"
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{db_file}"
    os.environ.setdefault("SKYLEDGER_DEV", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_PROFILE", None)
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.models import AwsAccount
    from inventory.simulation import server

    call_command("migrate", verbosity=0)
    from inventory import hooks

    hooks._RECEIVERS.clear()  # measure collection alone, not the checks that follow it
    from inventory.runtime import settle_for_collection

    settle_for_collection()  # as a Celery worker process does when it starts (config/celery.py)
    regions = REGIONS[: args.regions]
    ids = [f"3000000000{n:02d}" for n in range(1, args.accounts + 1)]
    AwsAccount.objects.filter(account_id__in=ids).delete()
    accounts = [
        AwsAccount.objects.create(account_id=i, name=f"bench-{i}", allowed_regions=regions) for i in ids
    ]

    results: dict[str, Any] = {
        "estate": {"accounts": args.accounts, "regions": len(regions), "groups_per_region": args.resources},
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
    }
    moto = server.start()
    relay, relay_url = start_relay(moto.url, args.delay)
    try:
        t = time.monotonic()
        results["seed_calls"] = seed(moto.url, ids, regions, args.resources)
        results["seed_s"] = round(time.monotonic() - t, 1)
        results["ceiling_calls_per_s"] = {
            f"straight/{n}": round(ceiling(moto.url, ids[0], n, args.ceiling_seconds), 1)
            for n in args.ceiling_threads
        }
        results["ceiling_calls_per_s"].update(
            {
                f"delay/{n}": round(ceiling(relay_url, ids[0], n, args.ceiling_seconds), 1)
                for n in args.ceiling_threads
            }
        )
        # Warm-up passes, discarded: moto builds each service's backend on first touch, and each
        # endpoint's Hub makes its shared account clients, as a worker process does on its first run
        results["warm_up"] = [
            collect(moto.url, accounts, args.workers, "warm-up, straight"),
            collect(relay_url, accounts[:1], args.workers, "warm-up through the relay"),
        ]
        recorded: list[Any] = []
        passes = [collect(moto.url, accounts, args.workers, "straight, parallel regions", record=recorded)]
        results["replay_calls"] = len(recorded)
        results["ceiling_calls_per_s"][f"replay/{args.workers}"] = round(
            replay(moto.url, recorded, args.workers), 1
        )
        if not args.quick:
            passes.append(collect(moto.url, accounts[:1], 1, "straight, serial regions (1 account)"))
        passes.append(
            collect(
                relay_url, accounts[:1], args.workers, f"{args.delay * 1000:.0f} ms, parallel (1 account)"
            )
        )
        if not args.quick:
            passes.append(
                collect(relay_url, accounts[:1], 1, f"{args.delay * 1000:.0f} ms, serial (1 account)")
            )
        results["passes"] = passes
    finally:
        assert relay.stdin is not None
        relay.stdin.close()
        relay.wait(timeout=20)
        moto.stop()
        if not args.database_url:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)

    by_label = {p["label"]: p for p in results["passes"]}
    best_ceiling = max(v for k, v in results["ceiling_calls_per_s"].items() if k.startswith("straight"))
    straight = results["passes"][0]
    # against the lightest call (DescribeVpcs) the endpoint serves, and against the replay of
    # collection's own calls: the second is the fraction of the achievable rate collection reaches
    results["straight_vs_ceiling"] = round(straight["calls_per_s"] / best_ceiling, 2)
    results["straight_vs_replay"] = round(
        straight["calls_per_s"] / results["ceiling_calls_per_s"][f"replay/{args.workers}"], 2
    )
    if not args.quick:
        ms = f"{args.delay * 1000:.0f} ms"
        serial, parallel = by_label[f"{ms}, serial (1 account)"], by_label[f"{ms}, parallel (1 account)"]
        results["delay_parallel_speedup"] = round(serial["wall_s"] / parallel["wall_s"], 2)
        s_serial, s_parallel = by_label["straight, serial regions (1 account)"], straight
        per_account_parallel = s_parallel["wall_s"] / max(1, s_parallel["accounts"])
        results["straight_parallel_speedup"] = round(s_serial["wall_s"] / per_account_parallel, 2)

    print(json.dumps({k: v for k, v in results.items() if k not in ("passes", "warm_up")}, indent=1))
    header = f"{'pass':<38} {'wall s':>7} {'calls':>6} {'calls/s':>8} {'res':>6} {'res/s':>7} {'clients':>7} {'RSS MB':>7}"
    print(header)
    for p in [*results["warm_up"], *results["passes"]]:
        print(
            f"{p['label']:<38} {p['wall_s']:>7} {p['api_calls']:>6} {p['calls_per_s']:>8} {p['resources']:>6} "
            f"{p['resources_per_s']:>7} {p['clients_created']:>7} {p['peak_rss_mb']:>7}"
        )
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
