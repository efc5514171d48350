"""The simulated estate's findings, access paths, exposure and inventory exports, compared with the
committed reference in ``tests/golden/``.

Restructuring must not change what Skyledger reports. This test seeds the simulated estate (its
account and resource ids are repeatable: the moto server is seeded), collects every account through
the real access layer, runs every check, writes the four exports as JSON and compares them with the
reference after taking out what differs from run to run (times, database ids, run ids, durations).

A change in behaviour that is meant updates the reference in the same commit::

    SKYLEDGER_UPDATE_GOLDEN=1 pytest tests/test_estate_exports_golden.py

and the diff of ``tests/golden/`` shows reviewers exactly what changed.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.inventory.simulation.support import collect_and_check, make_hub, shared_estate

pytestmark = [pytest.mark.django_db, pytest.mark.moto, pytest.mark.slow]

GOLDEN = Path(__file__).parent / "golden"
EXPORTS = {
    "findings": ("export_findings", ["--format", "json"]),
    "access_paths": ("export_access_paths", ["--format", "json"]),
    "exposure": ("export_exposure", ["--format", "json"]),
    "inventory": ("export_inventory", ["--format", "json", "--include-deleted"]),
}
# Values that differ between two runs on the same estate: when things happened, database keys, runs.
_VOLATILE_KEY = re.compile(
    r"(^|_)(at|on|seen|time|timestamp|date|created|updated|changed|modified|since|started|finished|"
    r"duration|elapsed|id|pk|run|runs|url|link)$"
)
_KEEP_KEYS = {"account_id", "resource_id", "check_id", "principal_id", "key_id", "region_id"}
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")  # "last used 2025-11-02": relative to today
_DAYS = re.compile(r"\b\d+ days?\b")


def _normalise(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {
            k: _normalise(v, k)
            for k, v in sorted(value.items())
            if k in _KEEP_KEYS or not _VOLATILE_KEY.search(k)
        }
    if isinstance(value, list):
        items = [_normalise(v) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))
    if isinstance(value, str):
        return _DAYS.sub("N days", _DATE.sub("<date>", _ISO_TIME.sub("<time>", value)))
    return value


def _export(command: str, args: list[str]) -> Any:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return _normalise(json.loads(out.getvalue()))


def test_estate_exports_match_the_reference() -> None:
    _, estate = shared_estate()
    _, summaries = collect_and_check(estate, make_hub(estate))
    assert not [e for s in summaries for e in s.errors]
    update = os.environ.get("SKYLEDGER_UPDATE_GOLDEN") == "1"
    failures = []
    for name, (command, args) in sorted(EXPORTS.items()):
        actual = _export(command, args)
        assert actual, f"the {name} export is empty: the estate was not collected"
        path = GOLDEN / f"estate_{name}.json"
        text = json.dumps(actual, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        if update:
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"{path} is missing: run with SKYLEDGER_UPDATE_GOLDEN=1 to write it"
        reference = path.read_text(encoding="utf-8")
        if json.loads(reference) != actual:
            diff = difflib.unified_diff(
                reference.splitlines(), text.splitlines(), "reference", "now", lineterm="", n=2
            )
            failures.append(f"the {name} export differs from {path.name}:\n" + "\n".join(list(diff)[:60]))
    assert not failures, "\n\n".join(failures)
