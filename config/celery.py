"""The Celery app. Tasks live in each app's ``tasks.py``; configuration comes from settings (CELERY_*)."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("skyledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@worker_process_init.connect
def settle_collecting_process(**_: Any) -> None:
    """Workers collect: fit the garbage collector to that (see inventory.runtime). ``worker_init``
    runs in the main process (so forked children inherit it), ``worker_process_init`` in each
    prefork child."""
    from django.conf import settings

    from inventory.runtime import settle_for_collection

    settle_for_collection(settings.SKYLEDGER_GC_GEN0_THRESHOLD)


@after_setup_logger.connect
@after_setup_task_logger.connect
def mask_external_ids_in_worker_logs(logger: logging.Logger, **_: Any) -> None:
    """Celery sets up its own log handlers in workers (not Django's LOGGING): wrap their formatters so
    a worker's log lines mask every ExternalId it has sent, as the web process's do."""
    for handler in logger.handlers:
        if not isinstance(handler.formatter, MaskingFormatter):
            handler.setFormatter(MaskingFormatter(handler.formatter))


class MaskingFormatter(logging.Formatter):
    """Formats with the handler's own formatter, then masks remembered ExternalIds."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        from core.secrets import mask_seen

        return mask_seen(self.inner.format(record))


def _hostname(sender: Any) -> str:
    import socket

    return str(getattr(sender, "hostname", "") or socket.gethostname())


@worker_ready.connect
def start_worker_heartbeat(sender: Any = None, **_: Any) -> None:
    """Pages tell "queued, and no worker to take it" from "queued, a worker will" by this beat."""
    from inventory.services.workers import start_heartbeat

    start_heartbeat(_hostname(sender))


@worker_shutdown.connect
def stop_worker_heartbeat(sender: Any = None, **_: Any) -> None:
    from inventory.services.workers import stop_heartbeat

    stop_heartbeat(_hostname(sender))
