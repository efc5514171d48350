"""Whether any Celery worker is alive, and what pages say when queued refreshes have none.

A worker writes its own heartbeat row (:class:`inventory.models.WorkerBeat`) from a daemon thread
every :data:`BEAT_SECONDS` and deletes it on a clean shutdown (see ``config/celery.py``). A worker
killed outright leaves its row behind, which simply stops being fresh: after :data:`LIVE_FOR` it
no longer counts. Pages then say so wherever a run has waited in the queue for more than
:data:`QUEUED_WARN_AFTER`, instead of showing "queued" for ever.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from inventory.models import CollectionRun, RunState, WorkerBeat
from inventory.services import runs

log = logging.getLogger(__name__)

BEAT_SECONDS = 20
LIVE_FOR = dt.timedelta(seconds=3 * BEAT_SECONDS)
QUEUED_WARN_AFTER = dt.timedelta(minutes=1)

_beaters: dict[str, threading.Event] = {}


def beat(hostname: str) -> None:
    """Record that the worker ``hostname`` is alive now."""
    now = timezone.now()
    WorkerBeat.objects.update_or_create(
        hostname=hostname[:255],
        defaults={"last_seen": now},
        create_defaults={"started_at": now, "last_seen": now},
    )


def start_heartbeat(hostname: str, every: float = BEAT_SECONDS) -> threading.Thread:
    """Beat now, then every ``every`` seconds from a daemon thread until :func:`stop_heartbeat`."""
    stop = threading.Event()
    _beaters[hostname] = stop

    def loop() -> None:
        while True:
            try:
                close_old_connections()
                beat(hostname)
                runs.sweep()  # the worker notices lost runs and lost messages, like every process
            except DatabaseError:  # the database away for a moment: the next beat tries again
                log.warning("worker heartbeat of %s not recorded", hostname, exc_info=True)
            except Exception:  # noqa: BLE001  (a broker hiccup while re-sending must not stop the beat)
                log.warning("sweep by worker %s failed", hostname, exc_info=True)
            finally:
                connection.close()
            if stop.wait(every):
                return

    thread = threading.Thread(target=loop, name=f"skyledger-heartbeat-{hostname}", daemon=True)
    thread.start()
    return thread


def stop_heartbeat(hostname: str) -> None:
    """Stop beating and remove the worker's row: it is going away on purpose."""
    stop = _beaters.pop(hostname, None)
    if stop is not None:
        stop.set()
    try:
        WorkerBeat.objects.filter(hostname=hostname[:255]).delete()
    except DatabaseError:
        log.warning("worker heartbeat of %s not removed", hostname, exc_info=True)


def live_workers(now: dt.datetime | None = None) -> list[WorkerBeat]:
    now = now or timezone.now()
    return list(WorkerBeat.objects.filter(last_seen__gte=now - LIVE_FOR).order_by("hostname"))


@dataclasses.dataclass(frozen=True)
class StalledQueue:
    """Refreshes waiting for more than a minute with no live worker to take them."""

    count: int
    oldest: dt.datetime
    last_worker_seen: dt.datetime | None

    @property
    def message(self) -> str:
        what = "1 refresh has" if self.count == 1 else f"{self.count} refreshes have"
        minutes = max(1, int((timezone.now() - self.oldest).total_seconds() // 60))
        seen = (
            f"the last one reported at {self.last_worker_seen:%Y-%m-%d %H:%M} UTC"
            if self.last_worker_seen
            else "none has ever reported"
        )
        return (
            f"{what} been queued for {minutes} minute{'s' if minutes != 1 else ''} and no Celery worker is "
            f"running to collect {'it' if self.count == 1 else 'them'} ({seen}). Start one "
            "(`celery -A config worker`, or `make dev` / `make demo`), or collect from the server's shell "
            "with `manage.py collect --all`."
        )


def stalled_queue(now: dt.datetime | None = None) -> StalledQueue | None:
    """What to warn about, or None: nothing queued for over a minute, or a worker is alive."""
    now = now or timezone.now()
    waiting = CollectionRun.objects.filter(state=RunState.QUEUED, created__lt=now - QUEUED_WARN_AFTER)
    oldest = waiting.order_by("created").values_list("created", flat=True).first()
    if oldest is None or live_workers(now):
        return None
    last = WorkerBeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()
    return StalledQueue(count=waiting.count(), oldest=oldest, last_worker_seen=last)
