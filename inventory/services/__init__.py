"""Inventory services: the only code that turns collected records into rows and runs.

- :mod:`.ingest`: batch upserts of records, deletion sweep, revisions, coverage;
- :mod:`.collect`: the per-account orchestrator (regions in parallel, one writer);
- :mod:`.runs`: run lifecycle, the per-account lock, queueing (used by tasks, commands, pages).
"""

from __future__ import annotations

from inventory.services.ingest import IngestPass, IngestStats, PassResult, ingest
from inventory.services.runs import (
    claim_run,
    collectable_accounts,
    create_run,
    queue_runs,
    refresh_account,
    refresh_all,
    refresh_now,
)

__all__ = [
    "IngestPass",
    "IngestStats",
    "PassResult",
    "claim_run",
    "collectable_accounts",
    "create_run",
    "ingest",
    "queue_runs",
    "refresh_account",
    "refresh_all",
    "refresh_now",
]
