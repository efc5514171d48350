"""The whole simulated estate through the 50 ms relay: the allowed regions only, then every enabled region.

    .venv/bin/python bench/collect/estate.py               # the demo estate (8 accounts, 3 regions)
    .venv/bin/python bench/collect/estate.py --delay 0.05 --workers 8

Skyledger used to collect only an account's allowed regions; it now collects every enabled region
(the allowed list only classifies). This measures what that costs on the simulated organisation:
each account collected with every collector through a ``LatencyRelay`` (every request reaches moto
``--delay`` seconds late, as AWS is tens of milliseconds away), first limited to the estate's
allowed regions (``only_regions``: the old behaviour), then over every enabled region, after one
warm-up pass per account that is reported but not compared (moto builds each region's backends on
first touch). Reports wall time, requests (API calls) and units per account for both, and writes
bench/collect/estate_results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--delay", type=float, default=0.05, help="latency the relay adds to each request (s)"
    )
    parser.add_argument("--workers", type=int, default=8, help="regions collected at once per account")
    parser.add_argument("--out", default=str(Path(__file__).with_name("estate_results.json")))
    args = parser.parse_args()

    db_file = Path(tempfile.gettempdir()) / f"skyledger-bench-estate-{os.getpid()}.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{db_file}"
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
    from inventory import hooks
    from inventory.aws.session import AwsSettings, Hub
    from inventory.services.collect import AwsAccess, collect_account
    from inventory.services.runs import create_run
    from inventory.simulation import server
    from inventory.simulation.estate import EstateSpec, seed
    from inventory.simulation.latency import LatencyRelay

    call_command("migrate", verbosity=0)
    hooks._RECEIVERS.clear()  # collection alone, not the checks after it
    moto = server.start()
    try:
        spec = EstateSpec()
        started = time.monotonic()
        estate = seed(moto.url, spec)
        seeded = time.monotonic() - started
        os.environ.update(estate.hub.environ())  # Skyledger runs as the hub role, as in the demo
        accounts = [
            AwsAccount.objects.create(
                account_id=info.id,
                name=info.name,
                read_role=spec.read_role,
                allowed_regions=list(spec.regions),
            )
            for info in estate.accounts.values()
        ]
        with LatencyRelay(moto.url, delay=args.delay) as relay:
            access = AwsAccess(
                Hub(AwsSettings(endpoint_url=relay.url, max_pool_connections=2 * args.workers))
            )

            def one_pass(label: str, only: bool) -> dict[str, Any]:
                rows: list[dict[str, Any]] = []
                for account in accounts:
                    t0 = time.monotonic()
                    run = collect_account(
                        account,
                        create_run(account),
                        access=access,
                        region_workers=args.workers,
                        only_regions=list(spec.regions) if only else None,
                    )
                    rows.append(
                        {
                            "account": account.name,
                            "state": run.state,
                            "regions": len(run.regions),
                            "units": run.units_done,
                            "requests": run.api_calls,
                            "wall_s": round(time.monotonic() - t0, 2),
                        }
                    )
                return {
                    "label": label,
                    "wall_s": round(sum(r["wall_s"] for r in rows), 2),
                    "requests_per_account": round(statistics.mean(r["requests"] for r in rows), 1),
                    "wall_s_per_account": round(statistics.mean(r["wall_s"] for r in rows), 2),
                    "accounts": rows,
                }

            results = {
                "delay_s": args.delay,
                "workers": args.workers,
                "seed_s": round(seeded, 1),
                "warm_up": one_pass("warm-up, every enabled region (not compared)", only=False),
                "before": one_pass(f"allowed regions only ({', '.join(spec.regions)})", only=True),
                "after": one_pass("every enabled region", only=False),
            }
    finally:
        moto.stop()
        db_file.unlink(missing_ok=True)
    for key in ("warm_up", "before", "after"):
        p = results[key]
        print(
            f"{p['label']}: {p['wall_s']} s for {len(p['accounts'])} accounts; per account "
            f"{p['wall_s_per_account']} s, {p['requests_per_account']} requests, "
            f"{p['accounts'][0]['regions']} regions"
        )
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
