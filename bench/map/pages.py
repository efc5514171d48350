"""Benchmark: the map page, its JSON and the "Exposed" page over a stored account (Django, SQLite file).

Run from the repository root:

    .venv/bin/python bench/map/pages.py [--sizes 200,2000,20000] [--database-url sqlite:////tmp/x.sqlite3]

For each size, the synthetic account of ``bench/map/run.py`` (VPCs, subnets, ALBs, auto-scaling
fleets, databases, functions...) is stored through the real ingest service into a fresh database
(``manage.py migrate`` first), then Django's test client asks, as a logged-in viewer:

- ``map data cold``: /inventory/map/data/ with an empty cache (load rows + analysis + layout);
- ``map data warm``: the same again (cache hit: collection stamp query + unpickling);
- ``map page cold`` / ``warm``: /inventory/map/ (the HTML with the figure as JSON);
- ``exposed cold`` / ``warm``: /inventory/exposed/ (the account's exposure analysis, the table);

and prints the CPU time of each (fastest of ``--repeat``; wall times are in ``--json``), the
queries, and the response sizes.
Nothing touches the network: the test client calls the WSGI handler in process.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def child(size: int, repeat: int) -> dict[str, Any]:
    """Measure one size in this (fresh) process; DATABASE_URL is already migrated."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import AwsAccount
    from bench.map.run import ACCOUNT, REGION, synthesise
    from inventory.records import Coverage, Record
    from inventory.services.exposure import NETWORK_TYPES
    from inventory.services.ingest import ingest

    items = synthesise(size)
    account = AwsAccount.objects.create(account_id=ACCOUNT, name="bench", environment="prod")
    started = time.perf_counter()
    ingest(
        account,
        REGION,
        list(NETWORK_TYPES),
        (Record(i.type, i.arn, i.resource_id, i.name, i.region, i.tags, i.data) for i in items),
        {t: Coverage.OK for t in NETWORK_TYPES},
    )
    ingest_s = time.perf_counter() - started
    user = get_user_model().objects.create_user("bench-viewer", password="x")
    client = Client()
    client.force_login(user)

    def timed(url: str, params: dict[str, Any], cold: bool) -> dict[str, Any]:
        best: dict[str, Any] = {}
        for _ in range(repeat):
            if cold:
                cache.clear()
            gc.collect()
            with CaptureQueriesContext(connection) as queries:
                t0, c0 = time.perf_counter(), time.process_time()
                response = client.get(url, params)
                body = response.content
                elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            assert response.status_code == 200, (url, response.status_code)
            run = {"s": elapsed, "cpu_s": cpu, "queries": len(queries), "bytes": len(body)}
            if not best or run["cpu_s"] < best["cpu_s"]:
                best = run
        return best

    params = {"account": account.pk}
    client.get("/inventory/map/data/", params)  # imports (plotly, networkx) are not part of a request
    out: dict[str, Any] = {"size": size, "stored": len(items), "ingest_s": round(ingest_s, 2)}
    for label, url in (
        ("map data", "/inventory/map/data/"),
        ("map page", "/inventory/map/"),
        ("exposed", "/inventory/exposed/"),
    ):
        for cold in (True, False):
            if not cold:
                client.get(url, params)  # warm the cache
            out[f"{label} {'cold' if cold else 'warm'}"] = timed(url, params, cold)
    stats = json.loads(client.get("/inventory/map/data/", params).content)["stats"]
    out["nodes"], out["edges"], out["exposed"] = stats["nodes"], stats["edges"], stats["exposed"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,2000,20000")
    parser.add_argument("--repeat", type=int, default=3, help="requests per measure; the fastest is reported")
    parser.add_argument("--database-url", default="", help="default: a new SQLite file per size in /tmp")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.repeat)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench-map.sqlite3"
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "SKYLEDGER_DEV": "1",
                "ALLOWED_HOSTS": "testserver",
            }
            subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
            result = subprocess.run(
                [sys.executable, __file__, "--child", str(size), "--repeat", str(args.repeat)],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    measures = ("map data", "map page", "exposed")
    print(
        f"{'resources':>9} {'nodes':>5} {'edges':>5} {'exposed':>7}  "
        + "  ".join(f"{m + ' cold/warm cpu s':>22}" for m in measures)
        + f"  {'JSON KB':>7} {'page KB':>7} {'queries warm':>12}"
    )
    for r in rows:
        cells = "  ".join(
            f"{r[m + ' cold']['cpu_s']:>10.3f} / {r[m + ' warm']['cpu_s']:<9.3f}" for m in measures
        )
        print(
            f"{r['stored']:>9} {r['nodes']:>5} {r['edges']:>5} {r['exposed']:>7}  {cells}  "
            f"{r['map data warm']['bytes'] / 1024:>7.0f} {r['map page warm']['bytes'] / 1024:>7.0f} "
            f"{r['map page warm']['queries']:>12}"
        )
    print(
        "CPU seconds of the web process per request (wall times, higher on a busy machine, are in --json); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; fastest of {args.repeat} requests each"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
