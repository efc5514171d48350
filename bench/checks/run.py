"""Checks benchmark: every check over synthetic account snapshots of growing size; does cost grow linearly?

Run from the repository root:

    .venv/bin/python bench/checks/run.py                      # 1k, 10k, 100k, and 100 accounts x 1k
    .venv/bin/python bench/checks/run.py --sizes 1000 10000 --accounts 0 --repeat 1   # quick look
    .venv/bin/python bench/checks/run.py --db --db-only       # the Django side on a throwaway SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skyledger_bench_checks \\
        .venv/bin/python bench/checks/run.py --db --db-only   # ... on PostgreSQL (database created if needed)

Pure mode (no Django, no database): the accounts come from bench/checks/estate.py (a believable mix of
every catalogued type with the usual mistakes; see its docstring). Each scenario runs in a fresh child
process so its peak memory is its own. Every check runs through ``evaluate(check, snapshot)`` and its
results are kept in a list, as the engine does. Times are CPU seconds of this process (the machine may
be shared: CPU time does not count waiting for a core), best of ``--repeat`` runs per check (a single
account is run again until 3 s of CPU were measured, so the small sizes are not a single noisy blink);
wall time is shown beside. Memory: the RSS growth of building the snapshot and the further growth of the process
high-water mark while evaluating (ru_maxrss), and, in a second pass under tracemalloc, the bytes the
snapshot holds and the peak the evaluation allocates on top of it (results included).

The linearity verdict compares CPU time at 100k with 10x the time at 10k (and 10k with 10x 1k); a
check whose own ratio is well above 10 is listed as superlinear, with the figures.

``--db``: the engine as the worker runs it. A 10k-resource account is stored with
``inventory.services.ingest`` (one pass for the global types, one per region for the regional ones),
then ``iam_audit.engine.run_checks`` runs twice — the first run opens every finding, the second
refreshes them — with the number of queries (``CaptureQueriesContext``) and the time of each. The
database is a throwaway SQLite file unless DATABASE_URL (or --database-url) names another one; tables
are created with ``migrate``.

Results are printed and written to bench/results/checks.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DEFAULT_SIZES = (1_000, 10_000, 100_000)
SQLITE_PATH = Path("/tmp/skyledger_bench_checks.sqlite3")
LINEAR_SLACK = 1.25  # a 10x larger account may cost up to 12.5x before we call it superlinear
MIN_CPU = 3.0  # seconds of evaluation measured per single-account scenario, at least
MAX_REPEAT = 40
MEASURABLE = 0.01  # a check below 10 ms at the smaller size is too quick to judge its growth
# workload environments of the 100-account estate after management / identity / security / log archive
ENV_CYCLE = ("prod", "staging", "dev", "dev", "prod", "sandbox", "staging", "prod", "dev", "sandbox")


# ----------------------------------------------------------------------------------- measuring
def rss_mb() -> float:
    """The current resident set size."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def max_rss_mb() -> float:
    """The process's RSS high-water mark (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class GcTimer:
    """Time spent in the cyclic garbage collector (through gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.collections += 1

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def environments(count: int) -> list[str]:
    """Environments of the estate's accounts, in the order of estate.org_account_ids()."""
    head = ["org-root", "identity", "security", "operations"]
    return (head + [ENV_CYCLE[i % len(ENV_CYCLE)] for i in range(max(0, count - len(head)))])[:count]


def evaluate_all(
    checks: list[Any], snap: Any, cpu: dict[str, float], wall: dict[str, float]
) -> dict[str, list[Any]]:
    """Every check over ``snap`` (results kept, as the engine keeps them); adds each check's time."""
    from iam_audit.checks.base import evaluate

    results: dict[str, list[Any]] = {}
    for chk in checks:
        c0, w0 = time.process_time(), time.perf_counter()
        results[chk.id] = list(evaluate(chk, snap))
        cpu[chk.id] = cpu.get(chk.id, 0.0) + time.process_time() - c0
        wall[chk.id] = wall.get(chk.id, 0.0) + time.perf_counter() - w0
    return results


@dataclasses.dataclass
class Timing:
    """Per check, the best CPU and wall time over every run; and the best-of-``repeat`` total of
    each consecutive group of ``repeat`` runs (the estimator the many-accounts scenario uses per
    account, so the two compare like with like)."""

    cpu: dict[str, float]
    wall: dict[str, float]
    runs: int
    group_totals: list[float]


def best_of(
    repeat: int,
    run: Callable[[dict[str, float], dict[str, float]], dict[str, list[Any]]],
    min_cpu: float = 0.0,
) -> tuple[Timing, dict[str, list[Any]]]:
    """Run at least ``repeat`` times, more (up to MAX_REPEAT) until ``min_cpu`` seconds were
    measured: a 0.1 s run on a shared machine is noise unless it is repeated. Returns the timing
    and the last run's results."""
    timing = Timing({}, {}, 0, [])
    group: dict[str, float] = {}
    results: dict[str, list[Any]] = {}
    spent = 0.0
    while timing.runs < repeat or (spent < min_cpu and timing.runs < MAX_REPEAT):
        results = {}  # let the previous run's results go before the next one, as between engine runs
        cpu: dict[str, float] = {}
        wall: dict[str, float] = {}
        results = run(cpu, wall)
        for k, v in cpu.items():
            timing.cpu[k] = min(v, timing.cpu.get(k, v))
            timing.wall[k] = min(wall[k], timing.wall.get(k, wall[k]))
            group[k] = min(v, group.get(k, v))
        timing.runs += 1
        spent += sum(cpu.values())
        if timing.runs % repeat == 0:
            timing.group_totals.append(sum(group.values()))
            group = {}
    return timing, results


def tally(results: dict[str, list[Any]], into: Counter[str] | None = None) -> Counter[str]:
    """Results by status (plus "total")."""
    out = into if into is not None else Counter()
    for rs in results.values():
        for r in rs:
            out[str(r.status)] += 1
            out["total"] += 1
    return out


# ----------------------------------------------------------------------------------- pure children
def _setup() -> tuple[list[Any], list[str], Any, dict[str, Any]]:
    from bench.checks import estate
    from iam_audit.checks.base import all_checks

    checks = all_checks()
    ids = estate.org_account_ids(100)
    org = estate.organisation(ids, estate.org_trail(ids[0]))
    docs = estate.aws_documents()  # ReadOnlyAccess is built from the action catalogue: load it now
    return checks, ids, org, docs


def child_single(size: int, repeat: int, trace: bool) -> dict[str, Any]:
    """One account of ``size`` resources: build, evaluate ``repeat`` times, then measure memory."""
    from bench.checks import estate

    checks, ids, org, docs = _setup()
    account = ids[10]  # a production workload account of the organisation
    gc.collect()
    base_rss = rss_mb()
    c0, w0 = time.process_time(), time.perf_counter()
    snap = estate.AccountBuilder(account, size, org_ids=ids, aws_docs=docs).snapshot(org)
    build_cpu, build_wall = time.process_time() - c0, time.perf_counter() - w0
    after_build = rss_mb()
    peak_before_eval = max_rss_mb()
    with GcTimer() as gct:
        w0 = time.perf_counter()
        timing, results = best_of(repeat, lambda c, w: evaluate_all(checks, snap, c, w), MIN_CPU)
        cpu, wall, runs = timing.cpu, timing.wall, timing.runs
        total_wall_all = time.perf_counter() - w0
    out: dict[str, Any] = {
        "scenario": f"{size:,}",
        "accounts": 1,
        "resources": len(snap.items),
        "repeat": runs,
        "build_cpu_s": build_cpu,
        "build_wall_s": build_wall,
        "eval_cpu_s": sum(cpu.values()),
        "eval_cpu_s_best_of_repeat": sum(timing.group_totals) / len(timing.group_totals),
        "eval_wall_s": sum(wall.values()),
        "gc_s_per_run": gct.seconds / runs,
        "gc_share": gct.seconds / total_wall_all if total_wall_all else 0.0,
        "per_check_cpu_s": cpu,
        "per_check_wall_s": wall,
        "results": dict(tally(results)),
        "results_per_check": {k: len(v) for k, v in results.items()},
        "fails_per_check": {k: sum(1 for r in v if str(r.status) == "fail") for k, v in results.items()},
        "base_rss_mb": base_rss,
        "snapshot_rss_mb": after_build - base_rss,
        "eval_rss_growth_mb": max(0.0, max_rss_mb() - max(peak_before_eval, after_build)),
        "peak_rss_mb": max_rss_mb(),
    }
    del results, snap
    gc.collect()
    if trace:
        tracemalloc.start()
        snap = estate.AccountBuilder(account, size, org_ids=ids, aws_docs=docs).snapshot(org)
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        results = evaluate_all(checks, snap, {}, {})
        kept, peak = tracemalloc.get_traced_memory()  # the results are still alive here, as in the engine
        tracemalloc.stop()
        del results, snap
        out["snapshot_traced_mb"] = held / 2**20
        out["eval_traced_peak_mb"] = (peak - held) / 2**20
        out["results_traced_mb"] = (kept - held) / 2**20
    return out


def child_multi(accounts: int, size: int, repeat: int, trace: bool) -> dict[str, Any]:
    """``accounts`` accounts of ``size`` resources, one at a time as the engine's run_all does."""
    from bench.checks import estate

    checks, ids, org, docs = _setup()
    envs = environments(len(ids))

    def build(k: int) -> Any:
        return estate.AccountBuilder(ids[k % len(ids)], size, org_ids=ids, environment=envs[k % len(envs)],
                                     seed=k, aws_docs=docs).snapshot(org)  # fmt: skip

    gc.collect()
    base_rss = rss_mb()
    cpu_total: dict[str, float] = {}
    wall_total: dict[str, float] = {}
    counts: Counter[str] = Counter()
    fails: Counter[str] = Counter()
    build_cpu = build_wall = gc_seconds = 0.0
    snapshot_rss: list[float] = []
    resources = 0
    traced_snapshots: list[float] = []
    traced_peaks: list[float] = []
    for k in range(accounts):
        before = rss_mb()
        c0, w0 = time.process_time(), time.perf_counter()
        snap = build(k)
        build_cpu += time.process_time() - c0
        build_wall += time.perf_counter() - w0
        snapshot_rss.append(rss_mb() - before)
        resources += len(snap.items)
        with GcTimer() as gct:
            timing, results = best_of(repeat, functools.partial(evaluate_all, checks, snap))
            cpu, wall = timing.cpu, timing.wall
        gc_seconds += gct.seconds
        for cid in cpu:
            cpu_total[cid] = cpu_total.get(cid, 0.0) + cpu[cid]
            wall_total[cid] = wall_total.get(cid, 0.0) + wall[cid]
        tally(results, counts)
        for cid, rs in results.items():
            fails[cid] += sum(1 for r in rs if str(r.status) == "fail")
        del results, snap
        if trace and k % 10 == 0:
            # memory on every tenth account, in a separate pass (tracing slows everything down)
            tracemalloc.start()
            snap = build(k)
            held, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            results = evaluate_all(checks, snap, {}, {})
            traced_snapshots.append(held / 2**20)
            traced_peaks.append((tracemalloc.get_traced_memory()[1] - held) / 2**20)
            tracemalloc.stop()
            del results, snap
    eval_wall = sum(wall_total.values())
    return {
        "scenario": f"{accounts} x {size:,}",
        "accounts": accounts,
        "resources": resources,
        "repeat": repeat,
        "build_cpu_s": build_cpu,
        "build_wall_s": build_wall,
        "eval_cpu_s": sum(cpu_total.values()),
        "eval_cpu_s_best_of_repeat": sum(cpu_total.values()),
        "eval_wall_s": eval_wall,
        "gc_s_per_run": gc_seconds / repeat,
        "gc_share": gc_seconds / repeat / eval_wall if eval_wall else 0.0,
        "per_check_cpu_s": cpu_total,
        "per_check_wall_s": wall_total,
        "results": dict(counts),
        "fails_per_check": dict(fails),
        "base_rss_mb": base_rss,
        "snapshot_rss_mb": max(snapshot_rss),
        "eval_rss_growth_mb": None,
        "peak_rss_mb": max_rss_mb(),
        "peak_rss_growth_mb": max_rss_mb() - base_rss,
        "snapshot_traced_mb": max(traced_snapshots) if traced_snapshots else None,
        "eval_traced_peak_mb": max(traced_peaks) if traced_peaks else None,
        "eval_traced_peaks_mb": traced_peaks,
    }


# ----------------------------------------------------------------------------------- database child
def _passes(items: list[Any]) -> Iterator[tuple[str, list[str], list[Any]]]:
    """(region, types, records) per collection pass: the global types once, the regional ones per region."""
    from bench.checks import estate
    from inventory.records import GLOBAL_REGION, Record
    from inventory.resource_types import RESOURCE_TYPES

    global_types = [t for t, rt in RESOURCE_TYPES.items() if rt.scope == "global"]
    regional_types = [t for t, rt in RESOURCE_TYPES.items() if rt.scope == "regional"]
    by_pass: dict[str, list[Any]] = {GLOBAL_REGION: [], **{r: [] for r in estate.REGIONS}}
    for i in items:
        where = GLOBAL_REGION if RESOURCE_TYPES[i.type].scope == "global" else i.region
        by_pass[where].append(
            Record(i.type, i.arn, i.resource_id, i.name, i.region, dict(i.tags), dict(i.data))
        )
    yield GLOBAL_REGION, global_types, by_pass.pop(GLOBAL_REGION)
    for region, records in by_pass.items():
        yield region, regional_types, records


def _query_kinds(queries: list[dict[str, Any]]) -> dict[str, int]:
    kinds: Counter[str] = Counter()
    for q in queries:
        words = q["sql"].lstrip().split(None, 1)
        kinds[words[0].upper() if words else "?"] += 1
    return dict(kinds)


def child_db(size: int) -> dict[str, Any]:
    """Store one account of ``size`` resources, then time engine.run_checks twice."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import AwsAccount
    from bench.checks import estate
    from iam_audit import engine, snapshots
    from iam_audit.models import Finding, FindingEvent
    from inventory.records import Coverage
    from inventory.services.ingest import ingest

    call_command("migrate", verbosity=0)
    checks, ids, org, docs = _setup()
    account_id = ids[10]
    AwsAccount.objects.filter(account_id=account_id).delete()
    account = AwsAccount.objects.create(
        account_id=account_id, name="bench checks", environment="prod",
        allowed_regions=list(estate.ALLOWED_REGIONS), read_role=estate.READ_ROLE,
    )  # fmt: skip
    items = estate.AccountBuilder(account_id, size, org_ids=ids, aws_docs=docs).items()
    out: dict[str, Any] = {"vendor": connection.vendor, "resources": len(items), "checks": len(checks)}

    w0 = time.perf_counter()
    stored = 0
    for region, types, records in _passes(items):
        result = ingest(account, region, types, records, dict.fromkeys(types, Coverage.OK))
        stored += result.stats.new
    out["ingest_s"] = time.perf_counter() - w0
    out["stored"] = stored
    del items

    org_coverage = {t: Coverage.OK.value for t in snapshots.ORG_TYPES}
    gc.collect()
    with CaptureQueriesContext(connection) as q:
        w0, c0 = time.perf_counter(), time.process_time()
        snap, _ = snapshots.build(account, org=org)
        out["snapshot_build"] = {"seconds": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
                                 "queries": len(q.captured_queries)}  # fmt: skip
    w0, c0 = time.perf_counter(), time.process_time()
    results = evaluate_all(checks, snap, {}, {})
    out["evaluate_only"] = {"seconds": time.perf_counter() - w0, "cpu_s": time.process_time() - c0}
    out["evaluate_results"] = dict(tally(results))
    del results, snap
    gc.collect()

    runs = []
    for label in ("first run (opens findings)", "second run (refreshes them)"):
        base = rss_mb()
        with CaptureQueriesContext(connection) as q:
            w0, c0 = time.perf_counter(), time.process_time()
            summary = engine.run_checks(account, now=timezone.now(), org=org, org_coverage=org_coverage)
            seconds, cpu = time.perf_counter() - w0, time.process_time() - c0
        runs.append({
            "label": label, "seconds": seconds, "cpu_s": cpu, "queries": len(q.captured_queries),
            "query_kinds": _query_kinds(q.captured_queries), "summary": summary.line(),
            "opened": summary.opened, "refreshed": summary.refreshed, "resolved": summary.resolved,
            "errors": summary.errors, "rss_growth_mb": max_rss_mb() - base,
        })  # fmt: skip
        del q
        gc.collect()
    out["runs"] = runs
    out["findings"] = Finding.objects.filter(account=account).count()
    out["finding_events"] = FindingEvent.objects.filter(finding__account=account).count()
    out["peak_rss_mb"] = max_rss_mb()
    if connection.vendor != "sqlite":
        AwsAccount.objects.filter(pk=account.pk).delete()  # the SQLite file is thrown away instead
    return out


# ----------------------------------------------------------------------------------- parent
def run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run this file as a child and return the JSON it prints last."""
    proc = subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {' '.join(args)} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt_mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def report_pure(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Print the pure-mode table, slowest checks and the linearity verdict; return the verdict."""
    runs = ", ".join(f"{r['scenario']}: {r['repeat']}" for r in rows)
    print(f"\nChecks over synthetic snapshots: {len(rows[0]['per_check_cpu_s'])} checks, "
          f"best of N runs per check ({runs}), CPU seconds (wall in brackets)")  # fmt: skip
    print(f"{'scenario':>12} {'resources':>9} {'build s':>8} {'evaluate s':>17} {'us/res':>7} {'GC':>5} "
          f"{'results':>8} {'fail':>6} {'snap MB':>8} {'eval MB':>8} {'RSS MB':>7}")  # fmt: skip
    for r in rows:
        res = r["results"]
        traced = r.get("eval_traced_peak_mb")
        print(
            f"{r['scenario']:>12} {r['resources']:>9,} {r['build_cpu_s']:>8.2f} "
            f"{r['eval_cpu_s']:>7.2f} ({r['eval_wall_s']:>6.2f}) {1e6 * r['eval_cpu_s'] / r['resources']:>7.1f} "
            f"{100 * r['gc_share']:>4.0f}% {res.get('total', 0):>8,} {res.get('fail', 0):>6,} "
            f"{fmt_mb(r.get('snapshot_traced_mb')):>8} {fmt_mb(traced):>8} "
            f"{r['peak_rss_mb']:>7.0f}"
        )
    print(
        "  build s: generating the snapshot (stands in for snapshots.build); us/res: evaluate CPU per resource;"
    )
    print(
        "  GC: share of evaluation wall time in the cyclic collector; snap MB: bytes one snapshot holds (tracemalloc);"
    )
    print(
        "  eval MB: peak allocated while evaluating every check, results kept (tracemalloc; multi: worst account);"
    )
    print(
        "  RSS MB: process high-water mark (imports and the action catalogue take ~"
        f"{rows[0]['base_rss_mb']:.0f} MB before any snapshot)"
    )
    for r in rows:
        extra = ""
        if r.get("eval_rss_growth_mb") is not None:
            extra = f"; RSS: snapshot +{r['snapshot_rss_mb']:.0f} MB, evaluation +{r['eval_rss_growth_mb']:.0f} MB above that"
        else:
            extra = (f"; RSS: largest snapshot +{r['snapshot_rss_mb']:.0f} MB, whole run +{r['peak_rss_growth_mb']:.0f} MB "
                     f"over baseline; traced eval peaks {', '.join(f'{x:.1f}' for x in r['eval_traced_peaks_mb'])} MB")  # fmt: skip
        slow = sorted(r["per_check_cpu_s"].items(), key=lambda kv: -kv[1])[:5]
        print(f"\n  {r['scenario']}: slowest checks{extra}")
        for cid, secs in slow:
            share = 100 * secs / r["eval_cpu_s"] if r["eval_cpu_s"] else 0
            n = r.get("results_per_check", {}).get(cid)
            print(
                f"    {cid:<32} {secs:>8.3f} s {share:>4.0f}%" + (f"  {n:,} results" if n is not None else "")
            )

    singles = {r["resources"]: r for r in rows if r["accounts"] == 1}
    verdict: dict[str, Any] = {"ratios": {}, "superlinear_checks": []}
    print(
        "\nLinearity (CPU time ratio of a larger account to a smaller one; linear = the size ratio, "
        f"superlinear above {LINEAR_SLACK:.2f} x the size ratio; checks under {1000 * MEASURABLE:.0f} ms "
        "at the smaller size are not judged one by one):"
    )
    sizes = sorted(singles)
    for small, large in zip(sizes, sizes[1:], strict=False):
        a, b = singles[small], singles[large]
        factor = large / small
        ratio = b["eval_cpu_s"] / a["eval_cpu_s"]
        ok = ratio <= factor * LINEAR_SLACK
        verdict["ratios"][f"{large}/{small}"] = ratio
        print(
            f"  evaluate {large:>7,} / {small:>6,}: x{ratio:5.2f} (ideal x{factor:.0f}) -> "
            f"{'linear' if ok else 'SUPERLINEAR'}; snapshot build x{b['build_cpu_s'] / a['build_cpu_s']:.2f}"
        )
        flagged = []
        for cid, t_large in sorted(b["per_check_cpu_s"].items(), key=lambda kv: -kv[1]):
            t_small = a["per_check_cpu_s"].get(cid, 0.0)
            if t_small < MEASURABLE:
                continue
            r_check = t_large / t_small
            if r_check > factor * LINEAR_SLACK:
                flagged.append(cid)
                verdict["superlinear_checks"].append(
                    {"check": cid, "sizes": [small, large], "ratio": r_check, "seconds": [t_small, t_large]}
                )
                print(f"    superlinear: {cid:<30} {t_small:7.3f} s -> {t_large:8.3f} s (x{r_check:.1f})")
        if flagged:
            rest_small = sum(v for k, v in a["per_check_cpu_s"].items() if k not in flagged)
            rest_large = sum(v for k, v in b["per_check_cpu_s"].items() if k not in flagged)
            print(
                f"    the other {len(b['per_check_cpu_s']) - len(flagged)} checks together: "
                f"{rest_small:.3f} s -> {rest_large:.3f} s (x{rest_large / rest_small:.2f})"
            )
            verdict["ratios"][f"{large}/{small} without flagged checks"] = rest_large / rest_small
    for m in [r for r in rows if r["accounts"] > 1]:
        per_account = m["resources"] // m["accounts"]
        if per_account in singles:
            one = singles[per_account]
            # like with like: the mean best-of-repeat of the single account, as each estate account is timed
            ratio = m["eval_cpu_s"] / (m["accounts"] * one["eval_cpu_s_best_of_repeat"])
            print(
                f"  {m['scenario']} accounts vs {m['accounts']} x one account of {per_account:,} "
                f"(each best of {m['repeat']}): x{ratio:.2f} (ideal x1.00; accounts differ in environment "
                "and content)"
            )
            verdict["ratios"][f"{m['scenario']} vs {m['accounts']} x {per_account}"] = ratio
        same = singles.get(m["resources"])
        if same:
            ratio = m["eval_cpu_s"] / same["eval_cpu_s"]
            print(f"  {m['scenario']} accounts vs one account of {m['resources']:,}: x{ratio:.2f}")
            verdict["ratios"][f"{m['scenario']} vs 1 x {m['resources']}"] = ratio
    return verdict


def report_db(db: dict[str, Any]) -> None:
    print(f"\nEngine on {db['vendor']}: one account of {db['resources']:,} resources "
          f"(ingested in {db['ingest_s']:.1f} s)")  # fmt: skip
    b = db["snapshot_build"]
    print(f"  snapshots.build: {b['seconds']:.2f} s ({b['cpu_s']:.2f} s CPU), {b['queries']} queries")
    e = db["evaluate_only"]
    print(
        f"  evaluating the {db['checks']} checks alone: {e['seconds']:.2f} s ({e['cpu_s']:.2f} s CPU), "
        f"{db['evaluate_results'].get('total', 0):,} results, {db['evaluate_results'].get('fail', 0):,} failing"
    )
    for run in db["runs"]:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(run["query_kinds"].items()))
        print(
            f"  run_checks, {run['label']}: {run['seconds']:.2f} s ({run['cpu_s']:.2f} s CPU), "
            f"{run['queries']} queries ({kinds}); RSS +{run['rss_growth_mb']:.0f} MB"
        )
        print(f"    {run['summary']}" + (f"; errors: {run['errors']}" if run["errors"] else ""))
    print(
        f"  stored: {db['findings']:,} findings, {db['finding_events']:,} finding events; "
        f"peak RSS {db['peak_rss_mb']:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument("--accounts", type=int, default=100, help="accounts in the estate scenario (0: skip)")
    parser.add_argument("--account-size", type=int, default=1_000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per scenario; the best time per check counts"
    )
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--db", action="store_true", help="also run the engine against a database")
    parser.add_argument("--db-only", action="store_true", help="only the database part")
    parser.add_argument("--db-size", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="default: DATABASE_URL, else a throwaway SQLite file")  # fmt: skip
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "checks.json"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *params = args.child
        trace = not args.no_trace
        if kind == "single":
            out = child_single(int(params[0]), args.repeat, trace)
        elif kind == "multi":
            out = child_multi(int(params[0]), int(params[1]), args.repeat, trace)
        else:
            out = child_db(int(params[0]))
        print(json.dumps(out))
        return

    common = ["--repeat", str(args.repeat)] + (["--no-trace"] if args.no_trace else [])
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    if not args.db_only:
        rows = []
        for size in args.sizes:
            print(f"... {size:,} resources", file=sys.stderr, flush=True)
            rows.append(run_child(["--child", "single", str(size), *common]))
        if args.accounts:
            print(f"... {args.accounts} accounts x {args.account_size:,}", file=sys.stderr, flush=True)
            rows.append(run_child(["--child", "multi", str(args.accounts), str(args.account_size), *common]))
        report["pure"] = rows
        report["verdict"] = report_pure(rows)
    if args.db or args.db_only:
        url = args.database_url
        if not url:
            SQLITE_PATH.unlink(missing_ok=True)
            url = f"sqlite:///{SQLITE_PATH}"
        from bench.common import ensure_database

        ensure_database(url)
        env = {**os.environ, "DATABASE_URL": url, "SKYLEDGER_DEV": "1",
               "DJANGO_SETTINGS_MODULE": "config.settings_test"}  # fmt: skip
        print(f"... engine on {url.split('@')[-1]}", file=sys.stderr, flush=True)
        report["db"] = run_child(["--child", "db", str(args.db_size)], env=env)
        report_db(report["db"])
        if url == f"sqlite:///{SQLITE_PATH}":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwritten {out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path}")


if __name__ == "__main__":
    main()
