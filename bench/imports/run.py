"""Import benchmark: the largest files an import accepts, and hostile ones, through parse + preview.

    .venv/bin/python bench/imports/run.py
    .venv/bin/python bench/imports/run.py --cases csv-max xlsx-bomb

Each case builds its file once, then reads it in a fresh child process (so peak memory is that
case's own) the way the upload view does: the file is opened as the upload's temporary file,
``read_spreadsheet`` streams it, the Sheet is serialised as the session keeps it between preview
and confirm, and ``build_plan`` computes the preview against an empty registry (a temporary SQLite
database, migrated once). Reported per case: file size, outcome (rows planned, or the refusal),
wall time, tracemalloc peak (Python allocations) and the growth of peak RSS over the child's baseline
after Django is loaded, and the size of what the session keeps.

Cases: csv-max and xlsx-max (5,000 accounts, every column, long descriptions and notes, as big as
the 5 MB bound allows), csv-overlong (cells far over their bounds: rows rejected, never kept whole),
csv-rows (50,000 rows: refused at the first past 5,000), xlsx-bomb (a 1 GB member zipped to ~1 MB:
refused from the zip directory), xlsx-ratio (a 20 MB member at ~1000:1, under the total bound).
Writes bench/imports/results.json and prints a table. Nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CASES = ["csv-max", "xlsx-max", "csv-overlong", "csv-rows", "xlsx-bomb", "xlsx-ratio"]
HEADER = [
    "Account ID", "Name", "Description", "Owner", "Environment", "Email", "Contact email", "Read role",
    "ExternalId", "OU", "Status", "Allowed regions", "Collection", "Notes",
]  # fmt: skip
WORDS = "payments ledger card vault search batch nightly export partner audit legacy core edge api".split()


def _text(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:chars]


def _rows(count: int, description: int, notes: int) -> list[list[str]]:
    rng = random.Random(7)
    return [HEADER] + [
        [
            f"{100000000000 + i}",
            f"acct-{i}",
            _text(rng, description),
            f"Team {i % 40}",
            "prod",
            f"aws+{i}@example.com",
            f"team{i % 40}@example.com",
            "SkyledgerReadOnly",
            f"ext-{i}",
            "Root/Workloads/Prod",
            "active",
            "eu-west-1, eu-central-1",
            "yes",
            _text(rng, notes),
        ]  # fmt: skip
        for i in range(count)
    ]


def _csv(rows: list[list[str]]) -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def _xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _bomb(member_size: int) -> bytes:
    base = _xlsx(_rows(1, 10, 10))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if name != "xl/sharedStrings.xml":
                dst.writestr(name, src.read(name))
        with dst.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(member_size // len(chunk)):
                member.write(chunk)
    return out.getvalue()


def build(case: str) -> tuple[bytes, str]:
    """The file of ``case`` and its name."""
    if case == "csv-max":
        return _csv(_rows(5_000, 600, 280)), "max.csv"
    if case == "xlsx-max":
        return _xlsx(_rows(5_000, 600, 280)), "max.xlsx"
    if case == "csv-overlong":
        return _csv(_rows(100, 30_000, 10_000)), "overlong.csv"
    if case == "csv-rows":
        return _csv([HEADER[:2]] + [[f"{100000000000 + i}", f"a{i}"] for i in range(50_000)]), "rows.csv"
    if case == "xlsx-bomb":
        return _bomb(1024 * 1024 * 1024), "bomb.xlsx"
    if case == "xlsx-ratio":
        return _bomb(20 * 1024 * 1024), "ratio.xlsx"
    raise SystemExit(f"unknown case {case}")


def child(path: str, filename: str, trace: bool) -> dict[str, Any]:
    """Runs in a fresh process: parse + session payload + plan, measured.

    With ``trace`` the Python allocations' peak (tracemalloc, which slows allocation several times);
    without, wall time and peak RSS."""
    import django

    django.setup()
    from accounts import imports

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    result: dict[str, Any] = {}
    try:
        with open(path, "rb") as upload:
            sheet = imports.read_spreadsheet(filename, upload)
        stored = sheet.dumps()
        plan = imports.build_plan(imports.Sheet.loads(stored))
        result.update(
            outcome=f"{len(plan.creates)} to create, {len(plan.rejected)} rejected",
            session_bytes=len(stored),
            first_reason=plan.rejected[0].reasons[0] if plan.rejected else "",
        )
    except imports.ImportFileError as exc:
        result.update(outcome="refused", session_bytes=0, first_reason=str(exc))
    result["seconds"] = round(time.perf_counter() - started, 3)
    if trace:
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
        return result
    result["rss_growth_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - baseline, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=CASES, choices=CASES)
    parser.add_argument("--child", nargs=3, metavar=("PATH", "FILENAME", "TRACE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, filename, trace = args.child
        print(json.dumps(child(path, filename, trace == "trace")))
        return

    work = Path(tempfile.mkdtemp(prefix="bench-imports-"))
    env = {
        **os.environ,
        "SKYLEDGER_DEV": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    results = []
    for case in args.cases:
        data, filename = build(case)
        path = work / filename
        path.write_bytes(data)
        row: dict[str, Any] = {"case": case, "file_kb": round(len(data) / 1024)}
        for trace in ("trace", "time"):  # the timed run last: its figures win where both report
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path), filename, trace],
                cwd=ROOT, env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
            row.update(json.loads(out.stdout.splitlines()[-1]))
        results.append(row)
        print(
            f"{case:13} {row['file_kb']:>7,} kB  {row['seconds']:>6.2f} s  py peak {row['tracemalloc_peak_mb']:>6.1f} MB"
            f"  rss +{row['rss_growth_mb']:>6.1f} MB  session {row['session_bytes'] / 1024:>7,.0f} kB  {row['outcome']}"
        )
        print(f"{'':13} {row['first_reason'][:150]}")
    (Path(__file__).parent / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
