"""Django system checks: the run, heartbeat and broker timings must agree (``manage.py check``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def run_timings_agree(app_configs: Any = None, **_: Any) -> list[Error]:
    from inventory.services.runs import RUN_HEARTBEAT_SECONDS
    from inventory.tasks import HARD_TIME_LIMIT

    errors = []
    visibility = int(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout") or 0)  # type: ignore[call-overload]
    if settings.CELERY_BROKER_URL.startswith(("redis", "rediss", "sqs")) and visibility <= HARD_TIME_LIMIT:
        errors.append(
            Error(
                f"CELERY_VISIBILITY_TIMEOUT ({visibility} s) must be longer than a collection task's hard time "
                f"limit ({HARD_TIME_LIMIT} s), or the broker hands a task still running to a second worker.",
                hint="Raise CELERY_VISIBILITY_TIMEOUT or lower SKYLEDGER_RUN_TIME_LIMIT_MINUTES.",
                id="inventory.E001",
            )
        )
    if settings.SKYLEDGER_RUN_STALE_MINUTES * 60 < 3 * RUN_HEARTBEAT_SECONDS:
        errors.append(
            Error(
                f"SKYLEDGER_RUN_STALE_MINUTES ({settings.SKYLEDGER_RUN_STALE_MINUTES}) must allow at least three "
                f"missed heartbeats ({RUN_HEARTBEAT_SECONDS:.0f} s apart), or live runs are declared lost.",
                id="inventory.E002",
            )
        )
    if not 0 < settings.SKYLEDGER_RUN_BUDGET_MINUTES < settings.SKYLEDGER_RUN_TIME_LIMIT_MINUTES:
        errors.append(
            Error(
                f"SKYLEDGER_RUN_BUDGET_MINUTES ({settings.SKYLEDGER_RUN_BUDGET_MINUTES}) must be positive and shorter "
                f"than SKYLEDGER_RUN_TIME_LIMIT_MINUTES ({settings.SKYLEDGER_RUN_TIME_LIMIT_MINUTES}), so a run ends "
                "in order before the task's time limit stops it.",
                id="inventory.E003",
            )
        )
    return errors
