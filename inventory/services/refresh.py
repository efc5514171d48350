"""Refresh now: queue collection runs through the task broker, never collecting in the web process.

The "Refresh now" buttons (one account, or every account whose collection is on) call
:func:`queue_refresh`. It checks that the broker answers (:func:`broker_reachable`, one quick
attempt), creates the runs and sends their tasks (:func:`inventory.services.runs.refresh_now`;
after the first failed send the rest fail at once, see :class:`Breaker`), then reads back what the
sending did to each run. What the person should be told comes back as :class:`Notice` values; the
view turns them into messages.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any, Literal

from django.db import DatabaseError
from django.utils import timezone

from accounts.models import AwsAccount
from inventory.models import CollectionRun, RunState
from inventory.services import runs

log = logging.getLogger(__name__)

BROKER_TIMEOUT = 2.0  # seconds to wait for the broker before telling the user it is unreachable


@dataclasses.dataclass(frozen=True)
class Notice:
    """One sentence for the person who pressed the button, at a message level."""

    level: Literal["error", "success", "info"]
    text: str


@dataclasses.dataclass
class Outcome:
    """The runs that now stand for the request (new or already under way) and what to say."""

    runs: list[CollectionRun] = dataclasses.field(default_factory=list)
    notices: list[Notice] = dataclasses.field(default_factory=list)


def collect_hint(accounts: Sequence[AwsAccount]) -> str:
    """The shell command that collects ``accounts`` without a broker."""
    if len(accounts) == 1:
        return f"manage.py collect --account {accounts[0].account_id}"
    return "manage.py collect --all"


def broker_reachable(timeout: float = BROKER_TIMEOUT) -> bool:
    """Whether the task broker accepts a connection now (one quick attempt, no retries)."""
    from celery import current_app

    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(  # kombu takes seconds as a float; its stubs say int
                max_retries=1,
                interval_start=0,
                interval_step=0,
                timeout=timeout,  # type: ignore[arg-type]
            )
    except Exception:  # noqa: BLE001  (any failure to connect means "not now")
        log.warning("task broker unreachable", exc_info=True)
        return False
    return True


class Breaker:
    """Sends runs the normal way until one send fails, then fails the rest at once.

    Without it, "refresh all" with the broker gone would wait out the connection retries once per
    account (over a second each) before answering.
    """

    def __init__(self, send: runs.Enqueue) -> None:
        self.send = send
        self.error: Exception | None = None

    def __call__(self, run: CollectionRun) -> None:
        if self.error is not None:
            raise self.error
        try:
            self.send(run)
        except Exception as exc:
            self.error = exc
            raise


def broker_message(count: int, accounts: Sequence[AwsAccount]) -> str:
    what = "the refresh" if count == 1 else f"{count} refreshes"
    return (
        f"Could not queue {what}: the task broker (Redis, CELERY_BROKER_URL) is unreachable, so no worker "
        "would pick it up. Start Redis and a worker, or collect from the server's shell: "
        f"{collect_hint(accounts)}"
    )


def queue_refresh(accounts: Sequence[AwsAccount], user: Any) -> Outcome:
    """Queue runs for ``accounts`` via the task broker, requested by ``user``.

    When the broker cannot be reached nothing is queued and the notice says how to collect
    instead; should it go away between the check and the send,
    :func:`inventory.services.runs.queue_runs` marks the unsent runs failed and a notice says so.
    """
    outcome = Outcome()
    say = outcome.notices.append
    if not broker_reachable():
        say(Notice("error", broker_message(len(accounts), accounts)))
        return outcome
    started = timezone.now()
    try:
        queued = runs.refresh_now(accounts, user, enqueue=Breaker(runs._default_enqueue()))
    except DatabaseError:
        log.exception("could not create refresh runs")
        say(
            Notice(
                "error", "Could not record the refresh: the database refused the write. Try again shortly."
            )
        )
        return outcome
    # Tasks are sent when the transaction commits, which has happened by now (requests are not
    # wrapped in one): read back what the sending did to each run.
    current = {
        run.pk: run
        for run in CollectionRun.objects.filter(pk__in=[r.pk for r in queued]).select_related("account")
    }
    fresh = [current[r.pk] for r in queued if r.pk in current and current[r.pk].created >= started]
    existing = [current[r.pk] for r in queued if r.pk in current and current[r.pk].created < started]
    unsent = [run for run in fresh if run.state == RunState.FAILED]
    sent = [run for run in fresh if run.state != RunState.FAILED]
    if unsent:
        say(Notice("error", broker_message(len(unsent), [run.account for run in unsent])))
    if sent:
        if len(sent) == 1:
            say(
                Notice(
                    "success",
                    f"Refresh of {sent[0].account} queued (run {sent[0].pk}); a worker will pick it up.",
                )
            )
        else:
            say(Notice("success", f"Queued {len(sent)} refreshes; workers will pick them up."))
    if existing:
        if len(existing) == 1:
            say(
                Notice(
                    "info",
                    f"{existing[0].account} is already being refreshed "
                    f"(run {existing[0].pk}, {existing[0].get_state_display().lower()}).",
                )
            )
        else:
            say(Notice("info", f"{len(existing)} accounts were already being refreshed; left as they are."))
    outcome.runs = [current[r.pk] for r in queued if r.pk in current]
    return outcome
