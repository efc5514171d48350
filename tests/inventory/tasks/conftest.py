"""Tests here use threads and a separate Celery worker process sharing the test database.

SQLite's default test database lives in memory, private to this process and locked per table for
threads; when SQLite is used, these tests need it in a file (WAL mode, like the demo) that other
connections and the worker process can open. PostgreSQL (DATABASE_URL) needs nothing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    if not any(Path(str(item.fspath)).is_relative_to(HERE) for item in items):
        return
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3") and not database.get("TEST", {}).get("NAME"):
        path = Path(tempfile.gettempdir()) / f"skyledger-test-{os.getpid()}.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(autouse=True)
def _no_other_apps_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Collections here test inventory alone: the checks engine's after-collection hook is not run."""
    from inventory import hooks

    monkeypatch.setattr(hooks, "_RECEIVERS", [])
