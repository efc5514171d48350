"""Benchmark: the IAM pages over a stored estate of 100 accounts x 200 roles and 2,000 users.

Run from the repository root:

    .venv/bin/python bench/iam/pages.py                                   # SQLite file in /tmp
    .venv/bin/python bench/iam/pages.py --database-url postgres://postgres@127.0.0.1:5432/skyledger_bench_iam

The estate is bench/iam/run.py's synthetic landing zone, stored through the real ingest (one IAM
pass per account, the organisation with its OUs and SCPs in the management account). Then, in one
process, as a web worker would see it:

* the bridge: the stamp (per request), loading the estate from the database, building the graph,
  rewriting the principals table, the graph checks per account (what the engine stores);
* the pages, through Django's test client (a logged-in viewer): the principals list (first page,
  filtered, sorted), a user's page, the access page of the most connected account (first view:
  its paths computed and cached; next views: from the cache), the trust graph, the paths export
  of that account — each with its wall time, queries and response size.

Writes the figures to --json when given. The database is created and migrated on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def org_records(est: Any) -> list[Any]:
    """The bench estate's organisation as the organizations collector would record it."""
    from run import ADMIN, GUARDRAILS, SANDBOX_SCP

    from inventory.records import GLOBAL_REGION, Record

    mgmt, org_id = est.mgmt, "o-bench00001"
    root = {"Id": "r-root", "Name": "Root", "Type": "ROOT"}
    workloads = {"Id": "ou-workloads", "Name": "Workloads", "Type": "ORGANIZATIONAL_UNIT"}
    sandbox = {"Id": "ou-sandbox", "Name": "Sandbox", "Type": "ORGANIZATIONAL_UNIT"}
    out = [
        Record(
            "organizations:organization",
            f"arn:aws:organizations::{mgmt}:organization/{org_id}",
            org_id,
            org_id,
            GLOBAL_REGION,
            data={"Id": org_id, "MasterAccountId": mgmt, "FeatureSet": "ALL"},
        )
    ]
    policies = [
        ("p-FullAWSAccess", "FullAWSAccess", ADMIN, ["r-root", "ou-workloads", "ou-sandbox"]),
        ("p-guardrails", "Guardrails", GUARDRAILS, ["r-root"]),
        ("p-sandbox", "Sandbox", SANDBOX_SCP, ["ou-sandbox"]),
    ]
    for pid, name, content, targets in policies:
        out.append(
            Record(
                "organizations:policy",
                f"arn:aws:organizations::{mgmt}:policy/{org_id}/service_control_policy/{pid}",
                pid,
                name,
                GLOBAL_REGION,
                data={
                    "Id": pid,
                    "Name": name,
                    "Type": "SERVICE_CONTROL_POLICY",
                    "Content": content,
                    "Targets": [{"TargetId": t} for t in targets],
                },
            )
        )
    for account_id in est.ids:
        in_sandbox = est.env[account_id] == "sandbox"
        path = [root, sandbox] if in_sandbox else [root, workloads]
        policy_ids = ["p-FullAWSAccess", "p-guardrails"] + (["p-sandbox"] if in_sandbox else [])
        out.append(
            Record(
                "organizations:account",
                f"arn:aws:organizations::{mgmt}:account/{org_id}/{account_id}",
                account_id,
                f"{est.env[account_id]}-{account_id[-4:]}",
                GLOBAL_REGION,
                data={"Id": account_id, "Status": "ACTIVE", "ParentPath": path, "PolicyIds": policy_ids},
            )
        )
    return out


def store(est: Any) -> dict[str, Any]:
    """Register the accounts and ingest every account's IAM and the organisation."""
    from accounts.models import AwsAccount
    from iam_audit.graph.model import IAM_TYPES
    from inventory.records import GLOBAL_REGION, Coverage, Record
    from inventory.services.ingest import ingest

    AwsAccount.objects.all().delete()
    accounts = {
        a: AwsAccount.objects.create(account_id=a, name=f"{est.env[a]}-{a[-4:]}", environment=est.env[a])
        for a in est.ids
    }
    ok = {t: Coverage.OK for t in IAM_TYPES}
    for account_id, items in est.items.items():
        records = (
            Record(i.type, i.arn, i.resource_id, i.name, GLOBAL_REGION, dict(i.tags), dict(i.data))
            for i in items
        )
        ingest(accounts[account_id], GLOBAL_REGION, list(IAM_TYPES), records, ok)
    org_types = [
        "organizations:organization",
        "organizations:account",
        "organizations:ou",
        "organizations:policy",
    ]
    ingest(
        accounts[est.mgmt], GLOBAL_REGION, org_types, org_records(est), {t: Coverage.OK for t in org_types}
    )
    return accounts


def timed(fn: Any) -> tuple[Any, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - t0, time.process_time() - c0


def page(client: Any, url: str) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert response.status_code == 200, (url, response.status_code)
    return {
        "ms": round(elapsed * 1000, 1),
        "cpu_ms": round(cpu * 1000, 1),  # this process (SQLite's work included; PostgreSQL's not)
        "queries": len(queries),
        "kb": round(len(body) / 1024, 1),
    }


def child(args: argparse.Namespace) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from run import Estate

    from iam_audit import graph_store
    from iam_audit.graph.actions import universe
    from iam_audit.models import Principal
    from tests.factories import UserFactory

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    figures: dict[str, Any] = {"database": connection.vendor}
    universe()
    est = Estate(args.accounts, args.roles, args.users, args.seed)
    est.build()
    if not args.reuse:
        _, wall, _ = timed(lambda: store(est))
        figures["store_s"] = round(wall, 1)
    figures["resources"] = sum(len(v) for v in est.items.values())

    rows = graph_store._account_rows()
    _, wall, _ = timed(lambda: graph_store.graph_stamp(rows))
    figures["stamp_ms"] = round(wall * 1000, 1)
    loaded, wall, cpu = timed(lambda: graph_store.load_estate(rows))
    figures["load_s"] = round(wall, 2)
    figures["load_cpu_s"] = round(cpu, 2)
    del loaded
    graph_store.invalidate()
    state, wall, cpu = timed(lambda: graph_store.current(refresh_table=False))
    figures["build_total_s"] = round(wall, 2)  # stamp + load + graph
    figures["build_total_cpu_s"] = round(cpu, 2)
    figures["build_graph_s"] = round(state.build_seconds, 2)
    figures["principals"] = len(state.graph.principals)
    figures["paths"] = len(state.graph.paths)
    written, wall, cpu = timed(lambda: graph_store.refresh_principals(state, force=True))
    figures["table_refresh_s"] = round(wall, 2)
    figures["table_refresh_cpu_s"] = round(cpu, 2)
    figures["table_rows"] = written
    _, wall, cpu = timed(lambda: graph_store.refresh_principals(state))
    figures["table_refresh_noop_ms"] = round(wall * 1000, 1)
    # the usual case: a new stamp (another collection) with few principals changed
    import dataclasses

    moved = dataclasses.replace(state, stamp=state.stamp[::-1], _memo={})
    written, wall, cpu = timed(lambda: graph_store.refresh_principals(moved))
    figures["table_refresh_unchanged_s"] = round(wall, 2)
    figures["table_refresh_unchanged_cpu_s"] = round(cpu, 2)
    figures["table_refresh_unchanged_rows_written"] = written
    graph_store.refresh_principals(state)
    results, wall, cpu = timed(lambda: graph_store.graph_results_by_account())
    figures["graph_checks_s"] = round(wall, 2)
    figures["graph_checks_cpu_s"] = round(cpu, 2)
    figures["graph_failures"] = dict(
        Counter(
            check for per in results.values() for check, rs in per.items() for r in rs if r.status == "fail"
        )
    )
    figures["peak_rss_mb_after_graph"] = round(rss_mb())

    by_account = Counter(p.target_account for p in state.graph.paths)
    top, top_count = by_account.most_common(1)[0]
    figures["most_connected_account"] = {"id": top, "environment": est.env[top], "paths_in": top_count}
    # the most connected workload account (identity is reached by its 2,000 users' own policies)
    workload = [(a, n) for a, n in by_account.most_common() if est.env[a] in ("prod", "staging", "dev")]
    top_prod, top_prod_count = workload[0]
    figures["most_connected_workload"] = {
        "id": top_prod,
        "environment": est.env[top_prod],
        "paths_in": top_prod_count,
    }

    user = UserFactory(username="bench-viewer")
    client = Client()
    client.force_login(user)
    account_pk = state.loaded.accounts[top].pk
    prod_pk = state.loaded.accounts[top_prod].pk
    user0 = Principal.objects.get(arn=f"arn:aws:iam::{est.identity}:user/user0000")
    pages = {
        "principal_list": reverse("iam_audit:principal_list"),
        "principal_list_filtered": reverse("iam_audit:principal_list")
        + "?kind=role&privilege=administrator&environment=prod&q=app&sort=-reachable_accounts",
        "principal_list_page_40": reverse("iam_audit:principal_list") + "?page=40",
        "principal_detail_user0000": reverse("iam_audit:principal_detail", args=[user0.pk]),
        "account_access_most_connected": reverse("iam_audit:account_access", args=[account_pk]),
        "account_access_most_connected_workload": reverse("iam_audit:account_access", args=[prod_pk]),
        "trust_graph": reverse("iam_audit:trust_graph"),
        "account_page_with_iam_panel": reverse("accounts:account_detail", args=[prod_pk]),
        "paths_export_csv_most_connected_workload": reverse("iam_audit:access_paths_export")
        + f"?format=csv&to_account={top_prod}",
    }
    figures["pages_first_view"] = {name: page(client, url) for name, url in pages.items()}
    figures["pages_next_view"] = {name: page(client, url) for name, url in pages.items()}
    figures["peak_rss_mb_end"] = round(rss_mb())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--roles", type=int, default=200)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", f"sqlite:///{Path(tempfile.gettempdir()) / 'skyledger-bench-iam.sqlite3'}"
        ),
    )
    parser.add_argument("--reuse", action="store_true", help="the database already holds this estate")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "SKYLEDGER_DEV": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "AXES_ENABLED": "0",
    }
    if args.database_url.startswith("postgres"):
        sys.path.insert(0, str(ROOT / "bench" / "ingest"))
        from run import ensure_database  # bench/ingest/run.py

        ensure_database(args.database_url)
        sys.modules.pop("run", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    command = [
        sys.executable,
        __file__,
        "--child",
        "--accounts",
        str(args.accounts),
        "--roles",
        str(args.roles),
    ]
    command += ["--users", str(args.users), "--seed", str(args.seed)] + (["--reuse"] if args.reuse else [])
    proc = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    for key, value in figures.items():
        if isinstance(value, dict) and key.startswith("pages"):
            print(f"{key}:")
            for name, fig in value.items():
                print(
                    f"  {name:>42}: {fig['ms']:>9} ms wall {fig['cpu_ms']:>9} ms CPU "
                    f"{fig['queries']:>3} queries {fig['kb']:>8} KB"
                )
        else:
            print(f"{key:>28}: {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
