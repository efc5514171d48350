"""Benchmark: the resource list's search box over a million stored resources (PostgreSQL).

Run from the repository root:

    .venv/bin/python bench/search/run.py [--rows 1000000] [--repeat 3] [--json out.json]

Fills a database of its own (``skyledger_bench_search``, kept between runs while it holds the same
rows) with ``--rows`` resources in six accounts and four regions (instances, volumes, security
groups, buckets, roles with paths, functions), in set-based SQL, then ANALYZEs it. Django's test
client then asks for ``/inventory/resources/?q=<term>`` as a logged-in viewer, for terms of each
kind :mod:`inventory.search` knows, then for the list's other filters (account, region, type,
service, environment, tag, deleted), and prints the page's wall time (fastest of ``--repeat``, after
one request to warm the cache), how many rows it found (the list counts up to 10,000) and the
plan's access path. ``--before`` measures the same pages as they were before migration 0008 (the
two trigram indexes on the whole name and the whole ARN, and "name or ARN contains"), to compare.
Nothing touches the network: the test client calls the WSGI handler in process.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/skyledger_bench_search"
ACCOUNTS = [f"7777000000{n:02d}" for n in range(6)]
FILL_VERSION = "bench/search fill 2"  # kept in the accounts' description: another fill starts afresh
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"]

# (label, term): one of each kind the search box knows, and the ones no index serves
TERMS = [
    ("no search", ""),
    ("a name, unique", "app-460-123460"),
    ("a name's part, 2,000 rows", "app-42-"),
    ("a resource id", "i-0000000000001e244"),
    ("part of an id", "00001e24"),
    ("resource part of ARNs", "role/team-3/"),
    ("a pasted ARN", "arn:aws:iam::777700000004:role/team-14/svc-500018"),
    ("an account's roles (ARN start)", "arn:aws:iam::777700000002:role/"),
    ("ARN head only", "arn:aws:iam::777700000002:"),
    ("an account id", "777700000003"),
    ("a region", "eu-west-1"),
    ("a service", "lambda"),
    ("two characters (no trigram)", "zq"),
    ("nothing matches", "nothing-like-this"),
]
# (label, filters): the list's other filters, alone and with a search ("{account}": 777700000002's key)
FILTERS = [
    ("account", {"account_id": "{account}"}),
    ("region", {"region": "eu-west-1"}),
    ("type", {"type": "iam:role"}),
    ("service", {"service": "lambda"}),
    ("account and type", {"account_id": "{account}", "type": "ec2:volume"}),
    ("environment", {"environment": "prod"}),
    ("tag key and value", {"tag_key": "team", "tag_value": "team-3"}),
    ("deleted only", {"deleted": "only"}),
    ("account and a search", {"account_id": "{account}", "q": "app-42-"}),
]

# one row per n: the type by n % 20, its account by (n / 3) % 6 (so that accounts and types do not
# share n's parity), region by n % 4 (global for IAM/S3)
FILL_SQL = """
INSERT INTO inventory_resource
  (account_id, region, service, type, arn, resource_id, name, tags, data, data_hash, first_seen, last_seen)
SELECT a.id, t.region, split_part(t.type, ':', 1), t.type, t.arn, t.rid, t.name,
       jsonb_build_object('team', 'team-' || (n %% 17), 'env', 'prod'), '{}'::jsonb, md5(n::text), now(), now()
FROM generate_series(1, %(rows)s) AS n
JOIN (SELECT id, row_number() OVER (ORDER BY account_id) - 1 AS k FROM accounts_awsaccount
      WHERE account_id LIKE '7777%%') AS a ON a.k = (n / 3) %% 6
CROSS JOIN LATERAL (
  SELECT CASE WHEN n %% 20 < 12 THEN 'ec2:instance' WHEN n %% 20 < 15 THEN 'ec2:volume'
              WHEN n %% 20 < 17 THEN 'ec2:security-group' WHEN n %% 20 = 17 THEN 's3:bucket'
              WHEN n %% 20 = 18 THEN 'iam:role' ELSE 'lambda:function' END AS type,
         (ARRAY['us-east-1','eu-west-1','eu-central-1','ap-southeast-2'])[n %% 4 + 1] AS r,
         '7777000000' || lpad(((n / 3) %% 6)::text, 2, '0') AS acct
) AS k
CROSS JOIN LATERAL (
  SELECT CASE k.type WHEN 'ec2:instance' THEN 'i-' || lpad(to_hex(n), 17, '0')
                     WHEN 'ec2:volume' THEN 'vol-' || lpad(to_hex(n), 17, '0')
                     WHEN 'ec2:security-group' THEN 'sg-' || lpad(to_hex(n), 17, '0')
                     WHEN 'iam:role' THEN 'AROA' || upper(lpad(to_hex(n), 17, '0'))
                     ELSE 'res-' || n END AS rid,
         CASE k.type WHEN 'iam:role' THEN 'svc-' || n WHEN 's3:bucket' THEN 'logs-' || n
                     ELSE 'app-' || (n %% 500) || '-' || n END AS name
) AS i
CROSS JOIN LATERAL (
  SELECT CASE WHEN k.type IN ('iam:role', 's3:bucket') THEN 'global' ELSE k.r END AS region, k.type,
         i.rid, i.name,
         CASE k.type
           WHEN 'ec2:instance' THEN 'arn:aws:ec2:' || k.r || ':' || k.acct || ':instance/' || i.rid
           WHEN 'ec2:volume' THEN 'arn:aws:ec2:' || k.r || ':' || k.acct || ':volume/' || i.rid
           WHEN 'ec2:security-group' THEN 'arn:aws:ec2:' || k.r || ':' || k.acct || ':security-group/' || i.rid
           WHEN 's3:bucket' THEN 'arn:aws:s3:::' || i.name
           WHEN 'iam:role' THEN 'arn:aws:iam::' || k.acct || ':role/team-' || (n %% 17) || '/' || i.name
           ELSE 'arn:aws:lambda:' || k.r || ':' || k.acct || ':function:' || i.name END AS arn
) AS t
"""

SEARCH_INDEX = (
    "CREATE INDEX IF NOT EXISTS inv_res_search_trgm ON inventory_resource USING gin "
    "(UPPER(name || ' ' || regexp_replace(arn, '^arn:[^:]*:[^:]*:[^:]*:[^:]*:', '')) gin_trgm_ops)"
)
BEFORE_INDEXES = [
    "CREATE INDEX IF NOT EXISTS inv_res_name_trgm ON inventory_resource USING gin (UPPER(name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS inv_res_arn_trgm ON inventory_resource USING gin (UPPER(arn) gin_trgm_ops)",
]


def _fill(rows: int) -> float:
    """Make the bench accounts hold exactly ``rows`` resources; seconds spent (0 when they did)."""
    from django.db import connection, transaction

    from accounts.models import AwsAccount

    accounts = []
    for n, account_id in enumerate(ACCOUNTS):
        environment = "prod" if n % 2 == 0 else "dev"
        account, _ = AwsAccount.objects.get_or_create(account_id=account_id)
        filled = account.description == FILL_VERSION
        account.name, account.environment = f"search-{n:02d}", environment
        account.save(update_fields=["name", "environment"])
        accounts.append(account)
    ids = [a.pk for a in accounts]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM inventory_resource WHERE account_id = ANY(%s)", [ids])
        if cursor.fetchone()[0] == rows and filled:
            _mark_deleted(ids)
            return 0.0
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM inventory_resource WHERE account_id = ANY(%s)", [ids])
        cursor.execute("DROP INDEX IF EXISTS inv_res_search_trgm")  # built once, after the rows
        for statement in BEFORE_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {statement.split()[5]}")
        cursor.execute(FILL_SQL, {"rows": rows})
    _mark_deleted(ids)
    AwsAccount.objects.filter(pk__in=ids).update(description=FILL_VERSION)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE inventory_resource")
    return time.perf_counter() - started


def _mark_deleted(ids: list[int]) -> None:
    """One resource in a hundred is one a collection no longer saw (the same ones every run)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_resource SET deleted_at = now() "
            "WHERE account_id = ANY(%s) AND id %% 100 = 7 AND deleted_at IS NULL",
            [ids],
        )


def _use_indexes(before: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if before:
            for statement in BEFORE_INDEXES:
                cursor.execute(statement)
            cursor.execute("DROP INDEX IF EXISTS inv_res_search_trgm")
        else:
            cursor.execute(SEARCH_INDEX)
            for statement in BEFORE_INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {statement.split()[5]}")
        cursor.execute("ANALYZE inventory_resource")


def _search_as_before() -> None:
    """The search as it was before migration 0008: name or ARN contains, or the id is."""
    from django.db.models import Q

    from inventory.filtersets import ResourceFilterSet

    def search(self: Any, queryset: Any, name: str, value: str) -> Any:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(arn__icontains=value) | Q(resource_id=value))

    ResourceFilterSet.search = search  # type: ignore[method-assign]


def _access_paths(queries: list[dict[str, str]]) -> str:
    """How the page's queries of resources reach them (its capped count, its rows): the indexes
    each plan uses, or "scan"."""
    from django.db import connection

    paths = []
    for query in queries:
        sql = query["sql"]
        if not sql.startswith("SELECT") or '"inventory_resource"' not in sql.split(" WHERE ")[0]:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        used = sorted(
            set(re.findall(r"(?:Index Scan|Index Only Scan)(?: Backward)? using (\w+)", plan))
            | set(re.findall(r"Bitmap Index Scan on (\w+)", plan))
        )
        if "Seq Scan on inventory_resource" in plan:
            used.append("scan")
        paths.append("+".join(used))
    return " ; ".join(paths)


def child(rows: int, repeat: int, before: bool) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from accounts.models import AwsAccount

    setup_test_environment()  # responses carry their template context (the table's paginator)
    fill_s = _fill(rows)
    started = time.perf_counter()
    _use_indexes(before)
    index_s = time.perf_counter() - started
    if before:
        _search_as_before()
    user, _ = get_user_model().objects.get_or_create(username="bench-search-viewer")
    client = Client()
    client.force_login(user)
    client.get("/inventory/resources/")  # imports and the account choices are not part of a search
    out: dict[str, Any] = {
        "rows": rows,
        "search": "before 0008" if before else "current",
        "fill_s": round(fill_s, 1),
        "index_s": round(index_s, 1),
        "pages": [],
    }
    account = str(AwsAccount.objects.get(account_id="777700000002").pk)
    cases = [(label, {"q": term} if term else {}) for label, term in TERMS]
    cases += [(label, {k: v.replace("{account}", account) for k, v in f.items()}) for label, f in FILTERS]
    for label, params in cases:
        client.get("/inventory/resources/", params)  # warm the cache
        best = float("inf")
        for _ in range(repeat):
            gc.collect()
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get("/inventory/resources/", params)
                best = min(best, time.perf_counter() - t0)
            assert response.status_code == 200, (params, response.status_code)
        paginator = response.context["table"].paginator
        found = f"{paginator.cap:,}+" if paginator.capped else f"{paginator.count:,}"
        shown = {k: ("ACCOUNT" if k == "account_id" else v) for k, v in params.items()}
        out["pages"].append(
            {
                "label": label,
                "query": " ".join(f"{k}={v}" for k, v in shown.items()),
                "ms": round(best * 1000, 1),
                "found": found,
                "path": _access_paths(queries.captured_queries),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="requests per term; the fastest is reported")
    parser.add_argument("--before", action="store_true", help="as before migration 0008, to compare")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_SEARCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.rows, args.repeat, args.before)))
        return
    from bench.common import ensure_database

    ensure_database(args.database_url)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SKYLEDGER_DEV": "1",
        "ALLOWED_HOSTS": "testserver",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    command = [sys.executable, __file__, "--child", "--rows", str(args.rows), "--repeat", str(args.repeat)]
    result = subprocess.run(
        command + (["--before"] if args.before else []),
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    print(
        f"{out['rows']:,} resources, search {out['search']} (filled in {out['fill_s']} s, "
        f"indexes built in {out['index_s']} s)"
    )
    print(f"{'':<32} {'query':<52} {'page ms':>8} {'found':>8}  access paths (count ; rows)")
    for p in out["pages"]:
        print(f"{p['label']:<32} {p['query'] or '-':<52} {p['ms']:>8} {p['found']:>8}  {p['path']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
