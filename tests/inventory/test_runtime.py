"""The garbage collector set-up of collecting processes (inventory.runtime, config/celery.py).

Each case runs in a process of its own: freezing the test process's heap would change every test
after it.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inventory.runtime import collection_gc

ROOT = Path(__file__).resolve().parents[2]


def _in_a_new_process(code: str, **env: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


REPORT = (
    "import gc, json; print(json.dumps({'threshold': gc.get_threshold(), 'frozen': gc.get_freeze_count()}))"
)


def test_a_settled_process_collects_rarely_and_keeps_what_it_started_with_out_of_every_scan() -> None:
    state = _in_a_new_process(
        f"from inventory.runtime import settle_for_collection\nsettle_for_collection()\n{REPORT}"
    )
    assert state["threshold"][0] == 20_000  # type: ignore[index]
    assert int(state["frozen"]) > 1_000  # type: ignore[call-overload]  # the modules and objects imported so far


@pytest.mark.parametrize(("setting", "expected"), [("", [20_000, 10, 10]), ("0", [700, 10, 10])])
def test_every_celery_worker_process_is_settled_as_the_settings_say(
    setting: str, expected: list[int]
) -> None:
    env = {"SKYLEDGER_GC_GEN0_THRESHOLD": setting} if setting else {}
    state = _in_a_new_process(
        "import django, os\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings')\n"
        "django.setup()\n"
        "from celery.signals import worker_process_init\n"
        "import config.celery\n"
        "worker_process_init.send(sender=None)\n" + REPORT,
        **env,
    )
    assert state["threshold"] == expected


def test_the_collection_block_puts_the_thresholds_back_even_when_it_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), collection_gc(12_345):
        assert gc.get_threshold()[0] == 12_345
        raise RuntimeError("a collection that failed")
    assert gc.get_threshold() == before
    with collection_gc(0):
        assert gc.get_threshold() == before
