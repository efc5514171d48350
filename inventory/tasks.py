"""Celery tasks for collection: thin wrappers that load ids and call :mod:`inventory.services`.

``acks_late`` is on globally (a worker that dies mid-run lets another redo the task); the lock in
:func:`inventory.services.runs.claim_run` makes the redelivery safe. Only transient failures are
retried (throttled or unreachable AWS at role assumption, a lost database connection), with
exponential back-off and jitter.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from inventory.models import RunTrigger
from inventory.services import runs
from inventory.services.collect import TransientCollectionError

log = logging.getLogger(__name__)

# From settings, which also derive the broker's visibility timeout from them (see config/settings.py)
SOFT_TIME_LIMIT = (
    settings.SKYLEDGER_RUN_TIME_LIMIT_MINUTES * 60
)  # the run records "interrupted", keeps its data
HARD_TIME_LIMIT = SOFT_TIME_LIMIT + 120
MAX_RETRIES = 3


def _current_queue(task: Task) -> str | None:
    # children go where the parent came from: an operator who routes inventory to its own queue
    # (or a test worker on a private queue) gets the account refreshes there too
    info = getattr(task.request, "delivery_info", None) or {}
    return info.get("routing_key") or None


@shared_task(name="inventory.refresh_all", bind=True, ignore_result=True)
def refresh_all(self: Task) -> list[int]:
    """Queue one ``inventory.refresh_account`` per collectable account (read from the registry now)."""
    queued = runs.refresh_all(queue=_current_queue(self))
    log.info("refresh_all: %d account refreshes queued", len(queued))
    return [run.pk for run in queued]


@shared_task(
    name="inventory.refresh_account",
    bind=True,
    ignore_result=True,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
    autoretry_for=(TransientCollectionError, OperationalError, InterfaceError),
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def refresh_account(
    self: Task, account_pk: int, run_pk: int | None = None, trigger: str = RunTrigger.SCHEDULE
) -> dict[str, Any] | None:
    """Collect one account under its per-account lock; a second one at once is recorded as skipped."""
    run = runs.refresh_account(
        account_pk,
        run_pk,
        trigger,
        task_id=self.request.id or "",
        final_attempt=self.request.retries >= MAX_RETRIES,
    )
    if run is None:
        return None
    return {"run": run.pk, "state": run.state}
