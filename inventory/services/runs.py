"""Collection runs: create, queue, lock, execute. Callable without a broker (the tasks are thin).

The per-account lock is the database, not Redis: a partial unique index allows one ``running`` run
per account, and a run becomes ``running`` only through :func:`claim_run`'s conditional UPDATE.
Two refreshes of one account at once: the second UPDATE violates the index, so that run is marked
``skipped`` ("already running"). Why the database rather than a Redis lock: it also holds when the
collection is started by ``manage.py collect`` without any broker, it cannot drift from what the
run pages show, and a crashed worker's lock expires by the same rule people see.

Nothing stays "running" or "queued" on a false promise:

- A running run's heartbeat is saved every :data:`RUN_HEARTBEAT_SECONDS` by a thread of the process
  collecting it. One whose heartbeat is older than ``SKYLEDGER_RUN_STALE_MINUTES`` (default 2) is
  failed as "worker lost" by whichever process notices first (:func:`sweep`: every worker's
  heartbeat thread, the schedule, a refresh, the runs and home pages). The broker redelivers its
  task after the visibility timeout; that same task may take the run up again (:func:`claim_run`),
  starting afresh, so the redelivery completes the run.
- A queued run's task is re-sent when it has waited a whole stale limit (:func:`resend_waiting`),
  and whenever someone asks for a refresh of its account: a broker that lost its messages (Redis
  restarted without its data) cannot leave it queued. A duplicate is harmless: only one claim wins.
- A run still queued after a whole refresh interval (``SKYLEDGER_REFRESH_HOURS``: no worker took
  it) is failed as "never started".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.choices import AccountStatus
from accounts.models import AwsAccount
from accounts.permissions import is_security
from inventory.models import CollectionRun, CoverageRecord, RunState, RunTrigger

log = logging.getLogger(__name__)

Enqueue = Callable[[CollectionRun], None]

# a refresh asked for again re-sends a queued run's task unless it was sent this recently
RESEND_AFTER_SECONDS = 30


RUN_HEARTBEAT_SECONDS = 20.0


def stale_after() -> dt.timedelta:
    """How long a running run may go without a heartbeat before it is considered lost."""
    return dt.timedelta(minutes=max(1, int(settings.SKYLEDGER_RUN_STALE_MINUTES)))


def collectable_accounts() -> QuerySet[AwsAccount]:
    """Accounts the schedule refreshes: collection on, not closed (read at call time)."""
    return (
        AwsAccount.objects.filter(collection_enabled=True).exclude(status=AccountStatus.CLOSED).order_by("pk")
    )


def queued_stale_after() -> dt.timedelta:
    """How long a run may stay queued before it is considered lost: one refresh interval.

    A queued run is reused by the next refresh of its account instead of queueing another task, so
    one whose task the broker lost (Redis restarted without its data, say) would block every later
    refresh of the account. After a whole interval, the schedule queues a fresh one.
    """
    return dt.timedelta(hours=max(1, int(getattr(settings, "SKYLEDGER_REFRESH_HOURS", 6) or 6)))


def expire_stale(account_id: int | None = None) -> int:
    """Mark lost runs as failed: running ones whose worker stopped reporting, and queued ones no
    worker took for :func:`queued_stale_after`. Returns how many."""
    now = timezone.now()
    stale = CollectionRun.objects.filter(state=RunState.RUNNING).filter(
        Q(heartbeat_at__lt=now - stale_after())
        | Q(heartbeat_at__isnull=True, started_at__lt=now - stale_after())
    )
    never_started = CollectionRun.objects.filter(
        state=RunState.QUEUED, created__lt=now - queued_stale_after()
    )
    if account_id is not None:
        stale = stale.filter(account_id=account_id)
        never_started = never_started.filter(account_id=account_id)
    minutes = int(stale_after().total_seconds() // 60)
    expired = stale.update(
        state=RunState.FAILED,
        finished_at=now,
        worker_lost=True,
        message=(
            f"Worker lost: the process collecting it stopped reporting for {minutes} minute"
            f"{'s' if minutes != 1 else ''}. A redelivery of its task resumes it; otherwise the next "
            "refresh collects the account."
        ),
    )
    hours = int(queued_stale_after().total_seconds() // 3600)
    return expired + never_started.update(
        state=RunState.FAILED,
        finished_at=now,
        message=f"Never started: no worker took it for {hours} hours (its task was lost, or the workers are too few).",
    )


def active_run(account: AwsAccount) -> CollectionRun | None:
    """The account's queued or running run, if any (stale ones are expired first)."""
    expire_stale(account.pk)
    return CollectionRun.objects.filter(
        account=account, state__in=[RunState.QUEUED, RunState.RUNNING]
    ).first()


STORED_STATES = (RunState.DONE, RunState.PARTIAL)  # runs that stored what they saw


def last_collection(account: AwsAccount) -> CollectionRun | None:
    """The account's latest run that stored something (done or partial); None: not collected yet.

    Pages use it to tell "nothing found" from "never looked": an account without one must never
    read as clean.
    """
    return (
        CollectionRun.objects.filter(account=account, state__in=STORED_STATES)
        .order_by("-created", "-pk")
        .first()
    )


def ever_collected(account: AwsAccount) -> bool:
    """Whether any collection pass ever stored what it read of ``account`` (one query).

    Every pass writes its coverage, even when it found nothing; so no coverage means nothing about
    the account is known, which a page must say rather than show an empty, clean-looking result.
    """
    return CoverageRecord.objects.filter(account=account).exists()


def last_collections(accounts: Iterable[AwsAccount]) -> dict[int, CollectionRun]:
    """:func:`last_collection` of many accounts in one query: account pk -> run (absent: none yet)."""
    pks = [a.pk for a in accounts]
    latest = (
        CollectionRun.objects.filter(account_id=OuterRef("account_id"), state__in=STORED_STATES)
        .order_by("-created", "-pk")
        .values("pk")[:1]
    )
    runs = CollectionRun.objects.filter(account_id__in=pks, pk=Subquery(latest)).defer("errors")
    return {run.account_id: run for run in runs}


def batch_collecting(run: CollectionRun) -> bool:
    """Whether other runs of ``run``'s batch (the schedule's, a "refresh all") are still to finish,
    queued or running; lost ones are expired first (:func:`expire_stale`). False without a batch."""
    if run.batch is None:
        return False
    expire_stale()
    return (
        CollectionRun.objects.filter(batch=run.batch, state__in=[RunState.QUEUED, RunState.RUNNING])
        .exclude(pk=run.pk)
        .exists()
    )


def batch_accounts(run: CollectionRun) -> list[AwsAccount]:
    """The other accounts of ``run``'s batch whose run stored something (done or partial)."""
    if run.batch is None:
        return []
    ids = (
        CollectionRun.objects.filter(batch=run.batch, state__in=[RunState.DONE, RunState.PARTIAL])
        .exclude(account_id=run.account_id)
        .values("account_id")
    )
    return list(AwsAccount.objects.filter(pk__in=ids).order_by("pk"))


def create_run(
    account: AwsAccount, trigger: str = RunTrigger.COMMAND, user: Any = None, batch: uuid.UUID | None = None
) -> CollectionRun:
    """A new queued run for ``account``."""
    return CollectionRun.objects.create(
        account=account,
        trigger=trigger,
        requested_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
        batch=batch,
        state=RunState.QUEUED,
    )


def claim_run(run: CollectionRun, task_id: str = "", worker: str | None = None) -> bool:
    """Take the account's lock for ``run``: True when it is now ``running`` and ours.

    A queued run is claimed; so is a running one that went stale or that this same task started
    (a retry, or a redelivery after the worker died). When another run of the account is running,
    ``run`` is marked ``skipped`` and False is returned; when ``run`` already finished (or another
    worker holds it), False is returned and the run is left alone.
    """
    now = timezone.now()
    expire_stale(run.account_id)
    claimable = Q(state=RunState.QUEUED) | Q(state=RunState.RUNNING, heartbeat_at__lt=now - stale_after())
    if task_id:
        # a retry or a redelivery of the run's own task: also after the run was declared lost
        claimable |= Q(state=RunState.RUNNING, celery_task_id=task_id)
        claimable |= Q(state=RunState.FAILED, worker_lost=True, celery_task_id=task_id)
    try:
        with transaction.atomic():
            claimed = (
                CollectionRun.objects.filter(pk=run.pk)
                .filter(claimable)
                .update(
                    state=RunState.RUNNING,
                    started_at=Coalesce(F("started_at"), now),
                    heartbeat_at=now,
                    finished_at=None,
                    worker=(worker or socket.gethostname())[:200],
                    celery_task_id=task_id[:255],
                    attempts=F("attempts") + 1,
                    message="",
                    worker_lost=False,
                    # each attempt reports its own errors, not the last one's again
                    errors=[],
                    error_count=0,
                )
            )
    except IntegrityError:
        holder = (
            CollectionRun.objects.filter(account_id=run.account_id, state=RunState.RUNNING)
            .exclude(pk=run.pk)
            .first()
        )
        note = f" (run {holder.pk})" if holder else ""
        CollectionRun.objects.filter(pk=run.pk, state=RunState.QUEUED).update(
            state=RunState.SKIPPED,
            finished_at=now,
            message=f"Skipped: a refresh of this account is already running{note}.",
        )
        run.refresh_from_db()
        return False
    run.refresh_from_db()
    return bool(claimed)


def refresh_account(
    account_pk: int,
    run_pk: int | None = None,
    trigger: str = RunTrigger.COMMAND,
    *,
    task_id: str = "",
    final_attempt: bool = True,
    **collect_options: Any,
) -> CollectionRun | None:
    """Refresh one account under its lock: claim the run (or make one), collect, finish.

    Returns the run (``skipped`` when another refresh held the lock), or None when the account no
    longer exists. ``collect_options`` go to :func:`inventory.services.collect.collect_account`.
    """
    from inventory.services.collect import TransientCollectionError, collect_account
    from inventory.services.ingest import TRANSIENT_DB_ERRORS

    account = AwsAccount.objects.filter(pk=account_pk).first()
    if account is None:
        log.warning("refresh of account pk=%s skipped: it no longer exists", account_pk)
        if run_pk is not None:
            CollectionRun.objects.filter(pk=run_pk, state=RunState.QUEUED).update(
                state=RunState.SKIPPED,
                finished_at=timezone.now(),
                message="Skipped: the account no longer exists.",
            )
        return None
    run = CollectionRun.objects.filter(pk=run_pk, account=account).first() if run_pk is not None else None
    if run is None and task_id:
        # a retry of a task that was sent without a run: carry on with the run it made
        run = CollectionRun.objects.filter(
            account=account, celery_task_id=task_id[:255], state__in=[RunState.QUEUED, RunState.RUNNING]
        ).first()
    if run is None:
        run = create_run(account, trigger)
    if not claim_run(run, task_id=task_id):
        log.info("refresh of %s not started: run %s is %s", account.account_id, run.pk, run.state)
        return run
    try:
        with run_heartbeat(run.pk):
            collect_account(account, run, final_attempt=final_attempt, **collect_options)
    except TransientCollectionError:
        raise
    except TRANSIENT_DB_ERRORS:
        raise
    except BaseException as exc:
        # a bug must not leave the account locked until the staleness timeout
        CollectionRun.objects.filter(pk=run.pk, state=RunState.RUNNING).update(
            state=RunState.FAILED,
            finished_at=timezone.now(),
            message=f"Internal error: {type(exc).__name__}: {str(exc)[:300]}",
        )
        raise
    run.refresh_from_db()
    return run


@contextlib.contextmanager
def run_heartbeat(run_pk: int, every: float = RUN_HEARTBEAT_SECONDS) -> Iterator[None]:
    """Keep the running run's heartbeat fresh from a thread while the block runs.

    Independent of progress: a call that takes minutes (a slow endpoint, retries with back-off)
    does not make a live run look lost; a process that dies takes its heartbeat with it.
    """
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                close_old_connections()
                CollectionRun.objects.filter(pk=run_pk, state=RunState.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
            except DatabaseError:
                log.warning("heartbeat of run %s not recorded", run_pk, exc_info=True)
            finally:
                connection.close()

    thread = threading.Thread(target=beat, name=f"skyledger-run-{run_pk}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _default_enqueue(queue: str | None = None) -> Enqueue:
    def enqueue(run: CollectionRun) -> None:
        send_task(run, queue if queue is not None else run.queue)

    return enqueue


def send_task(run: CollectionRun, queue: str | None = None) -> None:
    """Hand the run's task to the broker, recording its task id and queue.

    Every send has a task id of its own: whichever copy reaches a worker first claims the queued run
    (and the run takes that task's id), and any other copy then finds it taken and does nothing.
    Reusing one id would let a second copy take over a run another worker is still collecting
    (:func:`claim_run` lets a run's own task take it up again, for a redelivery after its worker died).
    """
    from inventory.tasks import refresh_account as task

    task_id = str(uuid.uuid4())
    CollectionRun.objects.filter(pk=run.pk, state=RunState.QUEUED).update(
        celery_task_id=task_id, queue=queue or ""
    )
    run.celery_task_id, run.queue = task_id, queue or ""
    options: dict[str, Any] = {"queue": queue} if queue else {}
    task.apply_async(
        args=[run.account_id, run.pk],  # type: ignore[arg-type]  # celery takes a list; its stubs say tuple
        kwargs={"trigger": run.trigger},
        task_id=task_id,
        **options,
    )


def resend_waiting(now: dt.datetime | None = None, enqueue: Enqueue | None = None) -> int:
    """Re-send the task of every run queued for a whole stale limit since its last send.

    A broker restarted without its data has lost those messages; if it has not, the duplicate is
    a quick no-op for whichever worker takes it second. Each run is re-sent by one process only
    (a conditional UPDATE on ``sent_at``). Returns how many were re-sent.
    """
    now = now or timezone.now()
    cutoff = now - stale_after()
    waiting = CollectionRun.objects.filter(state=RunState.QUEUED).filter(
        Q(sent_at__lt=cutoff) | Q(sent_at__isnull=True, created__lt=cutoff)
    )
    resent = 0
    for run in waiting:
        if not CollectionRun.objects.filter(pk=run.pk, state=RunState.QUEUED, sent_at=run.sent_at).update(
            sent_at=now
        ):
            continue  # another process re-sent it, or a worker took it meanwhile
        _send([run], enqueue or _default_enqueue())
        resent += 1
    if resent:
        log.info("re-sent %d queued run(s) whose task may have been lost", resent)
    return resent


def sweep() -> tuple[int, int]:
    """What any process does when it notices: fail lost runs, re-send waiting ones."""
    return expire_stale(), resend_waiting()


def _send(runs: list[CollectionRun], enqueue: Enqueue) -> None:
    for run in runs:
        run.sent_at = timezone.now()
        CollectionRun.objects.filter(pk=run.pk).update(sent_at=run.sent_at)
        try:
            enqueue(run)
        except Exception as exc:  # noqa: BLE001  (broker down: say so on the run, do not 500)
            log.exception("could not enqueue run %s", run.pk)
            CollectionRun.objects.filter(pk=run.pk, state=RunState.QUEUED).update(
                state=RunState.FAILED,
                finished_at=timezone.now(),
                message=f"Could not queue the refresh: the task broker is unreachable ({type(exc).__name__}).",
            )


def queue_runs(
    accounts: Iterable[AwsAccount],
    trigger: str,
    user: Any = None,
    enqueue: Enqueue | None = None,
    queue: str | None = None,
) -> list[CollectionRun]:
    """Create one queued run per account (reusing an account's queued/running one) and enqueue them.

    Tasks are sent after the transaction commits, so a worker always finds its run row.
    """
    batch = uuid.uuid4()
    to_send: list[CollectionRun] = []
    runs: list[CollectionRun] = []
    recently = timezone.now() - dt.timedelta(seconds=RESEND_AFTER_SECONDS)
    with transaction.atomic():
        for account in accounts:
            existing = active_run(account)
            if existing is not None:
                runs.append(existing)  # pressing the button twice does not pile up refreshes
                if existing.state == RunState.QUEUED and (
                    existing.sent_at is None or existing.sent_at < recently
                ):
                    # its task may be gone (the broker restarted without its data): send it again
                    to_send.append(existing)
                continue
            run = create_run(account, trigger, user=user, batch=batch)
            to_send.append(run)
            runs.append(run)
        send = enqueue or _default_enqueue(queue)
        transaction.on_commit(lambda: _send(to_send, send))
    return runs


def refresh_now(
    accounts: Iterable[AwsAccount], user: Any, enqueue: Enqueue | None = None
) -> list[CollectionRun]:
    """The "Refresh now" button: security team only; queued runs for ``accounts``, enqueued."""
    from accounts.permissions import require

    require(is_security(user))
    return queue_runs(accounts, RunTrigger.MANUAL, user=user, enqueue=enqueue)


def refresh_all(enqueue: Enqueue | None = None, queue: str | None = None) -> list[CollectionRun]:
    """The schedule: one queued run per collectable account, enqueued."""
    expire_stale()
    return queue_runs(collectable_accounts(), RunTrigger.SCHEDULE, enqueue=enqueue, queue=queue)
