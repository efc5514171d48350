"""API-call accounting through botocore's event hooks. No Django here.

Two numbers are kept apart, because they answer different questions:

- a **call** is one logical API operation as the code asked for it (``client.list_users(...)``,
  one page of a paginator): counted once, when it ends, under the error code it ended with
  (``""`` for success);
- an **attempt** is one HTTP request sent for it. botocore retries throttling, 5xx and network
  errors inside one call, so ``attempts >= calls`` and ``retries = attempts - calls``.

A call that fails before anything is sent (bad parameters) is not counted: it never reached AWS.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

# (service, operation, region, error code or "")
Key = tuple[str, str, str, str]


class CallStats:
    """Thread-safe counters of calls, attempts and errors by (service, operation, region, error)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[Key, list[int]] = {}  # key -> [calls, attempts]

    def attach(self, client: BaseClient) -> None:
        """Count every call ``client`` makes from now on (attaching twice counts once)."""
        service = client.meta.service_model.service_name
        region = client.meta.region_name or ""
        events = client.meta.events
        uid = f"skyledger-stats-{id(self)}"  # unique ids are per emitter, not per event
        events.register(
            "after-call", functools.partial(self._after_call, service, region), unique_id=f"{uid}-call"
        )
        events.register(
            "after-call-error",
            functools.partial(self._after_call_error, service, region),
            unique_id=f"{uid}-error",
        )

    @staticmethod
    def attach_routed(client: BaseClient, route: Callable[[], CallStats | None]) -> None:
        """Count every call ``client`` makes in the stats ``route()`` names when the call ends (for a
        client several sessions share; a call routed nowhere is not counted)."""
        service = client.meta.service_model.service_name
        region = client.meta.region_name or ""

        def after_call(**kwargs: Any) -> None:
            stats = route()
            if stats is not None:
                stats._after_call(service, region, **kwargs)

        def after_call_error(**kwargs: Any) -> None:
            stats = route()
            if stats is not None:
                stats._after_call_error(service, region, **kwargs)

        client.meta.events.register("after-call", after_call, unique_id="skyledger-stats-routed-call")
        client.meta.events.register(
            "after-call-error", after_call_error, unique_id="skyledger-stats-routed-error"
        )

    def record(self, service: str, operation: str, region: str, error: str = "", attempts: int = 1) -> None:
        """Count one logical call that made ``attempts`` HTTP requests."""
        key = (service, operation, region, error)
        with self._lock:
            row = self._rows.setdefault(key, [0, 0])
            row[0] += 1
            row[1] += max(1, attempts)

    @staticmethod
    def _attempts(context: Any) -> int:
        retries = context.get("retries") if isinstance(context, dict) else None
        attempt = retries.get("attempt") if isinstance(retries, dict) else None
        return attempt if isinstance(attempt, int) and attempt > 0 else 1

    def _after_call(
        self,
        service: str,
        region: str,
        *,
        http_response: Any,
        parsed: Any,
        model: Any,
        context: Any,
        **_: Any,
    ) -> None:
        error = ""
        if getattr(http_response, "status_code", 200) >= 300:
            error = str((parsed or {}).get("Error", {}).get("Code") or http_response.status_code)
        self.record(service, model.name, region, error, self._attempts(context))

    def _after_call_error(
        self, service: str, region: str, *, exception: BaseException, context: Any, event_name: str, **_: Any
    ) -> None:
        # event_name is "after-call-error.<service-id>.<Operation>"
        operation = event_name.rsplit(".", 1)[-1]
        if isinstance(exception, ClientError):  # e.g. a failed credential refresh during signing
            error = str(exception.response.get("Error", {}).get("Code") or "ClientError")
        else:
            error = type(exception).__name__
        self.record(service, operation, region, error, self._attempts(context))

    def snapshot(self) -> dict[str, Any]:
        """Plain data (JSON-ready): ``{"totals": {...}, "operations": [{...}, ...]}``.

        ``totals`` has ``calls``, ``attempts``, ``retries`` and ``errors`` (calls that ended in an
        error); each operation row has service, operation, region, error, calls, attempts, retries.
        """
        with self._lock:
            items = sorted((key, tuple(row)) for key, row in self._rows.items())
        operations: list[dict[str, Any]] = [
            {
                "service": service,
                "operation": operation,
                "region": region,
                "error": error,
                "calls": calls,
                "attempts": attempts,
                "retries": attempts - calls,
            }
            for (service, operation, region, error), (calls, attempts) in items
        ]
        calls = sum(row["calls"] for row in operations)
        attempts = sum(row["attempts"] for row in operations)
        errors = sum(row["calls"] for row in operations if row["error"])
        return {
            "totals": {"calls": calls, "attempts": attempts, "retries": attempts - calls, "errors": errors},
            "operations": operations,
        }

    @property
    def totals(self) -> dict[str, int]:
        """``{"calls", "attempts", "retries", "errors"}`` so far."""
        return self.snapshot()["totals"]
