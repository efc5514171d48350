"""Collect one account: assume its read role, run every collector, store what they yield.

Global collectors run once (in the home region), regional collectors once per region; regions
run in parallel in a bounded thread pool (``SKYLEDGER_REGION_WORKERS``), because collection is
bound by AWS latency, not CPU.

Threads and the database: worker threads only talk to AWS. They put the records they collect, in
chunks, on a *bounded* queue; the calling thread takes them off and writes them (batch upserts).
Why not let each worker write its own region?

- Django connections are per thread: every worker would open (and must close) its own connection,
  and on SQLite the writers would queue on the file lock anyway;
- one writer keeps the progress counters, the error list and the run row in one place, with no
  lock and no lost update;
- the bounded queue is back-pressure: when the database is slower than AWS, workers wait, so memory
  holds at most a few chunks per worker whatever the size of the account;
- one writer is fast enough: a chunk upsert stores thousands of resources per second, far more
  than AWS serves an account.

Which regions: every enabled region of the account, always. The allowed regions (the account's own,
else ``SKYLEDGER_ALLOWED_REGIONS``) only classify what is found ("unexpected" elsewhere); if they
limited collection, a resource outside them would never be seen and could never be reported. Only
the security team's collection limit (``SKYLEDGER_COLLECTION_EXCLUDED_REGIONS`` and the account's
``collection_excluded_regions``) or an operator's ``--region`` leaves enabled regions out. Every region
not looked at is recorded on the run with its reason (excluded, not enabled, denied, not requested)
so the pages can say so instead of looking clean. A region where every call was refused while other
regions answered is what a region-fencing SCP does: it is recorded as denied, not as errors.

Failure policy: any exception in a collector spoils only its own (collector, region) pass (its
types end FAILED, nothing is deleted for them, what it yielded before is kept). An exception in the
writer stops the run without deleting anything it had not finished.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from accounts.models import AwsAccount
from inventory import hooks
from inventory.aws.errors import AwsError, Classified, ErrorKind, classify, without_secret
from inventory.aws.session import Target
from inventory.collectors.base import CollectContext, Collector, DeadlineExceeded
from inventory.models import CollectionRun, CoverageRecord, RunState, SkippedReason
from inventory.records import GLOBAL_REGION, CollectError, Coverage
from inventory.services.ingest import (
    CHUNK_SIZE,
    TRANSIENT_DB_ERRORS,
    IngestPass,
    IngestStats,
    Prepared,
    live_pairs,
    prepare,
    save_coverage,
)

log = logging.getLogger(__name__)

MAX_RUN_ERRORS = 500  # error entries kept on the run row (error_count has the true number)
HEARTBEAT_SECONDS = 30.0
TRANSIENT_KINDS = {ErrorKind.THROTTLED, ErrorKind.NETWORK}


class TransientCollectionError(Exception):
    """The run could not start for a reason that may pass (throttled, network): retry later."""


class Cancelled(Exception):
    """Raised inside a worker thread when the run is being stopped."""


class AccessLayer(Protocol):
    """What the orchestrator needs from the AWS access layer (tests pass a fake)."""

    def assume(self, target: Any) -> Any: ...

    def regions(self, session: Any, allowed: Sequence[str]) -> list[str]: ...


class AwsAccess:
    """The real access layer: :class:`inventory.aws.session.Hub` and ``enabled_regions``."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def assume(self, target: Any) -> Any:
        return self.hub.assume(target)

    def regions(self, session: Any, allowed: Sequence[str]) -> list[str]:
        from inventory.aws.regions import enabled_regions

        return enabled_regions(session, allowed)

    def not_enabled(self, session: Any) -> list[str]:
        """Regions the account has not opted in to (from the answer ``regions`` already got)."""
        from inventory.aws.regions import not_enabled_regions

        return not_enabled_regions(session)


_HUBS: dict[Any, Any] = {}
_HUBS_LOCK = threading.Lock()


def aws_settings(region_workers: int | None = None) -> Any:
    """Access-layer settings from Django settings (pool sized for the parallel regions)."""
    from inventory.aws.session import AwsSettings

    workers = region_workers or settings.SKYLEDGER_REGION_WORKERS
    return AwsSettings(
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
        home_region=settings.SKYLEDGER_HOME_REGION,
        retry_mode=settings.SKYLEDGER_AWS_RETRY_MODE,
        max_attempts=settings.SKYLEDGER_AWS_MAX_ATTEMPTS,
        max_pool_connections=max(10, 2 * workers),
    )


def default_access(region_workers: int | None = None) -> AwsAccess:
    """One :class:`Hub` per process and settings: it holds the parsed service models (costly)."""
    from inventory.aws.session import Hub

    config = aws_settings(region_workers)
    key = (config, config.resolved_endpoint())
    with _HUBS_LOCK:
        hub = _HUBS.get(key)
        if hub is None:
            hub = _HUBS[key] = Hub(config)
    return AwsAccess(hub)


@dataclasses.dataclass
class Progress:
    """A run's counters as the writer sees them (given to the ``progress`` callback)."""

    run_id: int
    account_id: str
    units_planned: int = 0
    units_done: int = 0
    stats: IngestStats = dataclasses.field(default_factory=IngestStats)
    error_count: int = 0
    api_calls: int = 0
    api_retries: int = 0
    api_errors: int = 0


ProgressCallback = Callable[[Progress], None]


@dataclasses.dataclass(frozen=True)
class _Unit:
    collector: Collector
    region: str  # pass region: GLOBAL_REGION for global collectors

    @property
    def key(self) -> tuple[str, str]:
        return (self.collector.service, self.region)


def error_entry(account_id: str, error: CollectError) -> dict[str, str]:
    """A run error as stored on the run (and shown on the run page)."""
    return {
        "account": account_id,
        "region": error.region,
        "service": error.service,
        "resource_type": error.resource_type,
        "code": error.code,
        "message": error.message,
        "operation": error.operation,
        "aws_code": error.aws_code,
    }


def _classified_error(account_id: str, classified: Classified, service: str, region: str) -> dict[str, str]:
    return error_entry(
        account_id,
        CollectError(
            service=service,
            region=region,
            code=classified.kind.value,
            message=classified.message,
            operation=classified.operation,
            aws_code=classified.code,
        ),
    )


def _put(q: queue.Queue[Any], item: Any, cancel: threading.Event) -> None:
    while True:
        try:
            q.put(item, timeout=0.5)
            return
        except queue.Full:
            if cancel.is_set():
                raise Cancelled from None


@dataclasses.dataclass(frozen=True)
class _UnitEnv:
    """What every (collector, region) pass of one run shares (worker threads: no database here)."""

    session: Any
    account_id: str
    home_region: str
    unsupported: set[tuple[str, str, str]]
    facts: Mapping[str, Any]
    q: queue.Queue[Any]
    cancel: threading.Event
    chunk_size: int
    limits: _Limits

    def put(self, item: Any) -> None:
        _put(self.q, item, self.cancel)


def _run_unit(unit: _Unit, env: _UnitEnv) -> None:
    """Run one collector in one region (worker thread; no database here)."""
    started = time.monotonic()
    if started > env.limits.run_deadline:  # the run's budget is spent: this pass is not started at all
        not_read = {t: Coverage.FAILED for t in unit.collector.types}
        env.put(("done", unit, not_read, [_cut_short(unit, f"not started: {env.limits.budget_reason()}")]))
        return
    ctx = _unit_context(unit, env, started)
    raised, cut = _stream_records(unit, ctx, env)
    coverage, errors = _pass_outcome(unit, ctx, raised, cut, started)
    env.put(("done", unit, coverage, errors))


def _unit_context(unit: _Unit, env: _UnitEnv, started: float) -> CollectContext:
    """The collector's context: its clients, what the run knows, and its deadline with the reason."""
    client_region = env.home_region if unit.region == GLOBAL_REGION else unit.region
    limits = env.limits
    unit_deadline = started + limits.unit_seconds

    def client(service: str, region: str | None = None) -> Any:
        return env.session.client(service, region or client_region)

    return CollectContext(
        account_id=env.account_id,
        region=unit.region,
        client=client,
        home_region=env.home_region,
        partition=getattr(env.session, "partition", "aws"),
        unsupported=env.unsupported,
        facts=env.facts,
        deadline=min(unit_deadline, limits.run_deadline),
        deadline_reason=(
            f"its deadline of {limits.unit_seconds:.0f} s for one collector in one region passed"
            if unit_deadline <= limits.run_deadline
            else limits.budget_reason()
        ),
    )


def _stream_records(
    unit: _Unit, ctx: CollectContext, env: _UnitEnv
) -> tuple[BaseException | None, DeadlineExceeded | None]:
    """Put the collector's records on the queue in chunks; returns how it stopped (raised, cut short)."""
    raised: BaseException | None = None
    cut: DeadlineExceeded | None = None
    chunk: list[Prepared] = []
    invalid = 0
    try:
        for record in unit.collector.collect(ctx):
            ctx.check_deadline()
            # made safe here, in the collector's thread: this CPU work then overlaps the writer's
            # waits on the database instead of adding to them
            prepared = prepare(record, unit.region)
            if prepared is None:
                invalid += 1
            else:
                chunk.append(prepared)
            if len(chunk) >= env.chunk_size:
                env.put(("records", unit, chunk, invalid))
                chunk, invalid = [], 0
            if env.cancel.is_set():
                raise Cancelled
    except Cancelled:
        raise
    except DeadlineExceeded as exc:  # what it read is kept; its types count as failed (nothing deleted)
        cut = exc
        log.warning(
            "collector %s cut short in %s of %s: %s", unit.collector.service, unit.region, env.account_id, exc
        )
    except Exception as exc:  # noqa: BLE001  (one collector's failure is its own pass's)
        raised = exc
        log.warning(
            "collector %s failed in %s of %s: %r", unit.collector.service, unit.region, env.account_id, exc
        )
    if chunk or invalid:
        env.put(("records", unit, chunk, invalid))
    return raised, cut


def _pass_outcome(
    unit: _Unit,
    ctx: CollectContext,
    raised: BaseException | None,
    cut: DeadlineExceeded | None,
    started: float,
) -> tuple[dict[str, Coverage], list[CollectError]]:
    """The pass's coverage per type and its errors, from the collector's and how it stopped."""
    coverage: dict[str, Coverage] = dict(ctx.coverage)
    errors = list(ctx.errors)
    if cut is not None:
        for type_ in unit.collector.types:  # partial listings must not delete what they did not reach
            if coverage.get(type_, Coverage.OK) is Coverage.OK:
                coverage[type_] = Coverage.FAILED
        errors.append(_cut_short(unit, f"cut short after {time.monotonic() - started:.0f} s: {cut.reason}"))
    for type_ in unit.collector.types:
        coverage.setdefault(type_, Coverage.OK if raised is None else Coverage.FAILED)
    if raised is not None:
        classified = raised.classified if isinstance(raised, AwsError) else classify(raised)
        errors.append(
            CollectError(
                service=unit.collector.service,
                region=unit.region,
                code=classified.kind.value,
                message=f"The {unit.collector.service} collector stopped: {classified.message}",
                operation=classified.operation,
                aws_code=classified.code,
            )
        )
    return coverage, errors


def _run_region(units: Sequence[_Unit], env: _UnitEnv) -> None:
    for unit in units:
        _run_unit(unit, env)


@dataclasses.dataclass(frozen=True)
class _Limits:
    """How long one (collector, region) pass and the whole run may take (``time.monotonic()``).

    A region's collectors run one after another, so without a pass deadline one stalled service
    would hold up its region's other services for as long as it stalls; the run's budget ends the
    run in order (what was read is kept) before the task's time limit kills it.
    """

    unit_seconds: float
    run_deadline: float
    budget_minutes: float

    @classmethod
    def from_settings(cls) -> _Limits:
        budget = float(settings.SKYLEDGER_RUN_BUDGET_MINUTES)
        return cls(
            unit_seconds=float(settings.SKYLEDGER_UNIT_DEADLINE_SECONDS),
            run_deadline=time.monotonic() + budget * 60,
            budget_minutes=budget,
        )

    def budget_reason(self) -> str:
        return (
            f"the run's time budget of {self.budget_minutes:g} minutes (SKYLEDGER_RUN_BUDGET_MINUTES) ran out"
        )


def _cut_short(unit: _Unit, message: str) -> CollectError:
    return CollectError(
        service=unit.collector.service,
        region=unit.region,
        code="cut-short",
        message=f"The {unit.collector.service} collector was {message}. What it read is kept; nothing it did "
        "not reach was marked deleted.",
        operation="",
        aws_code="DeadlineExceeded",
    )


class _Writer:
    """The calling thread's side: stores chunks, finishes passes, keeps the run row current."""

    def __init__(
        self,
        account: AwsAccount,
        run: CollectionRun,
        session: Any,
        chunk_size: int,
        progress: ProgressCallback | None,
        interval: float,
    ) -> None:
        self.account = account
        self.run = run
        self.session = session
        self.chunk_size = chunk_size
        self.callback = progress
        self.interval = interval
        self.passes: dict[tuple[str, str], IngestPass] = {}
        self.coverage: dict[tuple[str, str], Coverage] = {}
        self.errors: list[dict[str, str]] = list(run.errors or [])
        self.progress = Progress(run_id=run.pk, account_id=account.account_id, error_count=len(self.errors))
        self._last_saved = 0.0
        self._dirty = False
        # what the account held when the run started: passes with nothing before skip the sweep
        self.live = live_pairs(account)
        self.pending_coverage: list[Any] = []  # written with the progress, one statement

    def handle(self, message: tuple[Any, ...]) -> None:
        kind, unit = message[0], message[1]
        one_pass = self.passes.get(unit.key)
        if one_pass is None:
            one_pass = self.passes[unit.key] = IngestPass(
                self.account,
                unit.region,
                unit.collector.types,
                self.run,
                chunk_size=self.chunk_size,
                live=self.live,
            )
        if kind == "records":
            one_pass.add_prepared(message[2], message[3])  # written in chunks of chunk_size as they fill
        else:
            result = one_pass.finish(message[2], message[3], record_coverage=False)
            self.pending_coverage.extend(result.coverage_rows)
            del self.passes[unit.key]
            for type_, value in result.coverage.items():
                self.coverage[(type_, unit.region)] = value
            self.progress.stats.add(result.stats)
            self.progress.units_done += 1
            self.add_errors(error_entry(self.account.account_id, e) for e in result.errors)
        self._dirty = True

    def flush_coverage(self) -> None:
        """Write the coverage of the passes that ended since the last call, in one statement."""
        save_coverage(self.pending_coverage)
        self.pending_coverage = []

    def drop_region_denials(self, regions: set[str]) -> None:
        """Take the access-denied errors of ``regions`` off the error list: those regions are
        recorded as denied instead (one fact per region, not one error per call)."""
        denied = ErrorKind.ACCESS_DENIED.value
        kept = [e for e in self.errors if not (e.get("region") in regions and e.get("code") == denied)]
        self.progress.error_count -= len(self.errors) - len(kept)
        self.errors = kept
        self._dirty = True

    def add_errors(self, entries: Iterable[dict[str, str]]) -> None:
        for entry in entries:
            self.progress.error_count += 1
            if len(self.errors) < MAX_RUN_ERRORS:
                self.errors.append(entry)

    def api_totals(self) -> None:
        stats = getattr(self.session, "stats", None)
        if stats is None:
            return
        totals = stats.snapshot().get("totals", {})
        self.progress.api_calls = int(totals.get("calls", 0)) + int(
            getattr(self.session, "assumptions", 0) or 0
        )
        self.progress.api_retries = int(totals.get("retries", 0))
        self.progress.api_errors = int(totals.get("errors", 0))

    def fields(self) -> dict[str, Any]:
        p = self.progress
        return {
            "units_done": p.units_done,
            "units_planned": p.units_planned,
            "resources_seen": p.stats.seen,
            "resources_new": p.stats.new,
            "resources_changed": p.stats.changed,
            "resources_deleted": p.stats.deleted,
            "api_calls": p.api_calls,
            "api_retries": p.api_retries,
            "api_errors": p.api_errors,
            "errors": self.errors,
            "error_count": p.error_count,
            "heartbeat_at": timezone.now(),
        }

    def save(self, force: bool = False, notify: bool = True) -> None:
        """Save progress at most every ``interval`` seconds (and a heartbeat when idle)."""
        now = time.monotonic()
        elapsed = now - self._last_saved
        if not force and not (self._dirty and elapsed >= self.interval) and elapsed < HEARTBEAT_SECONDS:
            return
        self.api_totals()
        self.flush_coverage()
        # UPDATE of named columns, not save(): nothing else on the row is overwritten
        CollectionRun.objects.filter(pk=self.run.pk).update(**self.fields())
        self._last_saved = now
        if notify and self._dirty and self.callback is not None:
            self.callback(self.progress)
        self._dirty = False


def _wrong_account(session: Any, account_id: str) -> str:
    """A sentence when the role answers from another account than the registry says, else "".

    A wrong role ARN in the registry would otherwise file one account's resources under another.
    A failure to ask (GetCallerIdentity needs no permission) is left to the collectors to report.
    """
    ask = getattr(session, "caller_identity", None)
    if ask is None:
        return ""
    try:
        answered = str(ask().get("Account") or "")
    except Exception:  # noqa: BLE001
        log.warning("GetCallerIdentity failed for %s", account_id, exc_info=True)
        return ""
    if answered and answered != account_id:
        return (
            f"The read role answers from account {answered}, not {account_id}: check the role ARN in the "
            "registry. Nothing was collected, so no other account's resources are filed here."
        )
    return ""


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _plan_regions(
    access: AccessLayer,
    session: Any,
    account: AwsAccount,
    excluded: Mapping[str, str],
    requested: set[str],
    writer: _Writer,
    home_region: str,
) -> tuple[list[str], list[dict[str, str]]]:
    """The regions to collect, and the account's other regions with why they are left out.

    Asks for every enabled region (the allowed list plays no part). When the account's list cannot
    be read, falls back to the regions the account is expected to use, else the home region, and
    says so: a guess is better than collecting nothing, and the error shows it was a guess.
    """
    skipped: list[dict[str, str]] = []
    try:
        enabled = list(access.regions(session, ()))
    except Exception as exc:  # noqa: BLE001
        classified = exc.classified if isinstance(exc, AwsError) else classify(exc, "DescribeRegions")
        writer.add_errors([_classified_error(account.account_id, classified, "ec2", home_region)])
        enabled = sorted(set(account.effective_allowed_regions()) or {home_region})
    else:
        not_enabled = getattr(access, "not_enabled", None)
        if not_enabled is not None:
            try:
                skipped += [
                    {
                        "region": r,
                        "reason": SkippedReason.NOT_ENABLED.value,
                        "detail": "opt-in region not enabled",
                    }
                    for r in not_enabled(session)
                ]
            except Exception:  # noqa: BLE001  (only a label for pages: never stops a run)
                log.warning(
                    "could not list the regions %s has not enabled", account.account_id, exc_info=True
                )
    regions: list[str] = []
    for region in sorted(set(enabled)):
        if region in excluded:
            who = (
                "the account's"
                if excluded[region] == "account"
                else "the estate's (SKYLEDGER_COLLECTION_EXCLUDED_REGIONS)"
            )
            skipped.append(
                {
                    "region": region,
                    "reason": SkippedReason.EXCLUDED.value,
                    "detail": f"in {who} excluded regions",
                }
            )
        elif requested and region not in requested:
            skipped.append({"region": region, "reason": SkippedReason.NOT_REQUESTED.value, "detail": ""})
        else:
            regions.append(region)
    return regions, skipped


def _denied_regions(regions: Sequence[str], writer: _Writer) -> dict[str, str]:
    """Regions where every collector was refused while another region answered: region -> AWS's words.

    That is what a region-fencing SCP (``Deny`` unless ``aws:RequestedRegion`` is allowed) looks
    like from the read role: every call in the region is AccessDenied / UnauthorizedOperation. A
    role that is refused everywhere has a permission problem, not a fenced region: those stay errors.
    """
    by_region: dict[str, set[Coverage]] = {}
    for (_, region), value in writer.coverage.items():
        if region != GLOBAL_REGION:
            by_region.setdefault(region, set()).add(value)
    refused = [r for r in regions if by_region.get(r) == {Coverage.DENIED}]
    answered = [r for r in regions if Coverage.OK in by_region.get(r, set())]
    if not refused or not answered:
        return {}
    out: dict[str, str] = {}
    for region in refused:
        entry = next(
            (
                e
                for e in writer.errors
                if e.get("region") == region and e.get("code") == ErrorKind.ACCESS_DENIED.value
            ),
            None,
        )
        out[region] = (
            f"every call was refused ({entry.get('aws_code') or 'AccessDenied'}), as a region-fencing SCP does"
            if entry
            else "every call was refused, as a region-fencing SCP does"
        )
    return out


def _update_run(run: CollectionRun, **fields: Any) -> None:
    CollectionRun.objects.filter(pk=run.pk).update(**fields)
    for name, value in fields.items():
        setattr(run, name, value)


def _finish(
    run: CollectionRun, state: str, message: str, writer: _Writer | None = None, **extra: Any
) -> None:
    fields = dict(writer.fields()) if writer is not None else {}
    if writer is not None:  # coverage of passes that ended since the last progress save
        writer.flush_coverage()
    fields.update(extra)
    fields.update(state=state, message=message[:500], finished_at=timezone.now())
    _update_run(run, **fields)


def _mark_running(run: CollectionRun) -> None:
    if run.started_at is None or run.state != RunState.RUNNING:
        _update_run(
            run,
            state=RunState.RUNNING,
            started_at=run.started_at or timezone.now(),
            heartbeat_at=timezone.now(),
            worker=run.worker or socket.gethostname()[:200],
        )


def _fail_unread(run: CollectionRun, message: str, entry: dict[str, str]) -> None:
    """End a run that read nothing (the role could not be used), with its one error."""
    _finish(
        run,
        RunState.FAILED,
        message,
        errors=[*(run.errors or []), entry],
        error_count=(run.error_count or 0) + 1,
    )


def _open_session(
    access: AccessLayer, account: AwsAccount, run: CollectionRun, home_region: str, final_attempt: bool
) -> Any | None:
    """Assume the account's read role; None when that failed (the run is then failed).

    Raises :class:`TransientCollectionError` (the run back in ``queued``) when it may pass and this
    is not the final attempt.
    """
    external_id = account.effective_external_id() or None
    target = Target(
        account_id=account.account_id,
        role_arn=account.role_arn(),
        external_id=external_id,
        session_name=f"skyledger-run-{run.pk}",
    )
    try:
        session = access.assume(target)
    except Exception as exc:  # noqa: BLE001
        classified = (
            exc.classified
            if isinstance(exc, AwsError)
            else classify(exc, "AssumeRole", assuming_role=True, external_id=bool(external_id))
        )
        classified = without_secret(classified, external_id)
        entry = _classified_error(account.account_id, classified, "sts", home_region)
        if classified.kind in TRANSIENT_KINDS and not final_attempt:
            _update_run(run, state=RunState.QUEUED, message=f"Will retry: {classified.message}"[:500])
            raise TransientCollectionError(classified.message) from exc
        _fail_unread(run, f"Could not assume the read role: {classified.message}", entry)
        return None
    mismatch = _wrong_account(session, account.account_id)
    if mismatch:
        entry = _classified_error(
            account.account_id, Classified(ErrorKind.OTHER, "AccountMismatch", mismatch, "GetCallerIdentity"),
            "sts", home_region,
        )  # fmt: skip
        _fail_unread(run, mismatch, entry)
        return None
    return session


@dataclasses.dataclass
class _Plan:
    """What a run collects: the collectors, the regions (and those left out, with why), the tasks."""

    global_collectors: list[Collector]
    regional_collectors: list[Collector]
    regions: list[str]
    skipped: list[dict[str, str]]
    # one task per global collector and one per region (that region's collectors in turn)
    units_by_task: list[list[_Unit]]


def _plan(
    access: AccessLayer,
    session: Any,
    account: AwsAccount,
    run: CollectionRun,
    writer: _Writer,
    chosen: Sequence[Collector],
    only_regions: Sequence[str] | None,
    home_region: str,
) -> _Plan:
    """Choose the regions and the (collector, region) units, and record them on the run."""
    excluded = account.collection_exclusions()
    requested = {r.strip().lower() for r in only_regions or () if r and r.strip()}
    global_collectors = [c for c in chosen if c.scope == "global"]
    regional_collectors = [c for c in chosen if c.scope != "global"]
    regions: list[str] = []
    skipped: list[dict[str, str]] = []
    if regional_collectors:
        regions, skipped = _plan_regions(access, session, account, excluded, requested, writer, home_region)
    units_by_task: list[list[_Unit]] = [[_Unit(c, GLOBAL_REGION)] for c in global_collectors]
    units_by_task += [[_Unit(c, region) for c in regional_collectors] for region in regions]
    writer.progress.units_planned = sum(len(units) for units in units_by_task)
    _update_run(run, regions=regions, regions_skipped=skipped, units_planned=writer.progress.units_planned)
    return _Plan(global_collectors, regional_collectors, regions, skipped, units_by_task)


def _collect(plan: _Plan, env: _UnitEnv, writer: _Writer, workers: int) -> BaseException | None:
    """Run the plan: worker threads talk to AWS, this thread writes. Returns what interrupted it, if anything.

    Regions share a pool bounded by ``workers``; each global collector runs once beside it, on a
    thread of its own, instead of taking a region's place (IAM alone is a chain of a dozen calls).
    """
    name = f"collect-{env.account_id}"
    interrupted: BaseException | None = None
    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as region_pool,
        ThreadPoolExecutor(
            max_workers=max(1, len(plan.global_collectors)), thread_name_prefix=f"{name}-g"
        ) as global_pool,
    ):
        futures: list[Future[None]] = [
            (global_pool if units and units[0].region == GLOBAL_REGION else region_pool).submit(
                _run_region, units, env
            )
            for units in plan.units_by_task
        ]
        try:
            _write_until_done(env.q, futures, writer)
        except BaseException as exc:  # noqa: BLE001  (time limits, database errors, bugs)
            interrupted = exc
            env.cancel.set()
            while not all(f.done() for f in futures):  # unblock workers waiting on a full queue
                try:
                    env.q.get(timeout=0.1)
                except queue.Empty:
                    pass
    for future in futures:
        failure = future.exception() if future.done() and not future.cancelled() else None
        if failure is not None and not isinstance(failure, Cancelled):
            log.error("collection worker of %s crashed: %r", env.account_id, failure)
            writer.add_errors([_classified_error(env.account_id, classify(failure), "inventory", "")])
    return interrupted


def _write_until_done(q: queue.Queue[Any], futures: Sequence[Future[None]], writer: _Writer) -> None:
    """Take the workers' messages off the queue and write them until every worker has ended."""
    while True:
        try:
            message = q.get(timeout=0.05)
        except queue.Empty:
            message = None
        if message is not None:
            writer.handle(message)
        elif all(f.done() for f in futures) and q.empty():
            break
        writer.save()


def _after_interruption(
    run: CollectionRun, account: AwsAccount, writer: _Writer, interrupted: BaseException
) -> None:
    """Keep what the interrupted passes saw (their types failed, nothing deleted) and record why.

    Re-raises database connection errors at once, and KeyboardInterrupt / SystemExit once recorded.
    """
    if isinstance(interrupted, TRANSIENT_DB_ERRORS):
        raise interrupted
    for one_pass in list(writer.passes.values()):
        result = one_pass.finish({t: Coverage.FAILED for t in one_pass.types})
        for type_, value in result.coverage.items():
            writer.coverage[(type_, one_pass.region)] = value
        writer.progress.stats.add(result.stats)
    writer.passes.clear()
    log.exception("collection of %s interrupted", account.account_id, exc_info=interrupted)
    writer.add_errors(
        [
            {
                "account": account.account_id,
                "region": "",
                "service": "inventory",
                "resource_type": "",
                "code": "interrupted",
                "operation": "",
                "aws_code": type(interrupted).__name__,
                "message": f"Collection stopped before the end: {type(interrupted).__name__}: {interrupted}"[
                    :500
                ],
            }
        ]
    )
    if not isinstance(interrupted, Exception):  # KeyboardInterrupt, SystemExit: record, then stop
        _finish(run, RunState.FAILED, "Interrupted.", writer)
        raise interrupted


def _record_denied(run: CollectionRun, account: AwsAccount, plan: _Plan, writer: _Writer) -> None:
    """Record the regions fenced off (every call refused) as denied, not as errors, and save progress."""
    denied = _denied_regions(plan.regions, writer)
    if denied:
        plan.skipped += [
            {"region": region, "reason": SkippedReason.DENIED.value, "detail": detail}
            for region, detail in sorted(denied.items())
        ]
        writer.drop_region_denials(set(denied))
        _update_run(run, regions_skipped=plan.skipped)
    writer.save(force=True, notify=False)
    if denied:
        # A fenced region is not looked at, like an excluded one: no coverage rows, so the checks judge
        # the regions that were read instead of answering "unknown" for the whole account, and every
        # page names the region as denied. What an earlier run saw there is kept (nothing is deleted).
        CoverageRecord.objects.filter(account=account, region__in=list(denied)).delete()
        for key in [k for k in writer.coverage if k[1] in denied]:
            del writer.coverage[key]


def _outcome(plan: _Plan, writer: _Writer, interrupted: bool) -> tuple[str, str]:
    """The run's final state and message, from its coverage, counters and the regions left out."""
    values = list(writer.coverage.values())
    ok = sum(1 for v in values if v is Coverage.OK)
    not_ok = len(values) - ok
    missing_units = writer.progress.units_planned - writer.progress.units_done
    stats = writer.progress.stats
    if ok == 0 and stats.seen == 0:
        state, message = RunState.FAILED, "Nothing was collected."
    elif (
        not_ok
        or missing_units
        or interrupted
        or (plan.regional_collectors and not plan.regions and not plan.skipped)
    ):
        state = RunState.PARTIAL
        message = f"{not_ok} of {len(values)} (type, region) pairs not collected completely."
    else:
        state, message = RunState.DONE, "Collected completely."
    if plan.skipped:
        message += f" {plural(len(plan.skipped), 'region')} not looked at."
    message += (
        f" {stats.seen:,} seen, {stats.new:,} new, {stats.changed:,} changed, {stats.deleted:,} deleted."
    )
    return state, message


def _finish_run(
    run: CollectionRun,
    account: AwsAccount,
    plan: _Plan,
    writer: _Writer,
    progress: ProgressCallback | None,
    interrupted: bool,
) -> str:
    """Bring the run to its final state (a progress callback that fails now must not stop that)."""
    if interrupted:
        writer.save(force=True, notify=False)
    else:
        _record_denied(run, account, plan, writer)
    if progress is not None:
        try:
            progress(writer.progress)
        except Exception:  # noqa: BLE001
            log.exception("progress callback failed at the end of run %s", run.pk)
    state, message = _outcome(plan, writer, interrupted)
    _finish(run, state, message, writer)
    return state


def _after_collection(account: AwsAccount, run: CollectionRun, writer: _Writer, state: str) -> None:
    """Whatever runs after collection (the checks); they read what was just stored."""
    if state in (RunState.DONE, RunState.PARTIAL):
        hook_errors = hooks.after_collection(account, run)
        if hook_errors:
            writer.add_errors(hook_errors)
            _update_run(run, errors=writer.errors, error_count=writer.progress.error_count)


def collect_account(
    account: AwsAccount,
    run: CollectionRun,
    *,
    access: AccessLayer | None = None,
    collectors: Sequence[Collector] | None = None,
    region_workers: int | None = None,
    only_regions: Sequence[str] | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    progress_interval: float = 0.5,
    final_attempt: bool = True,
    facts: Mapping[str, Any] | None = None,
    limits: _Limits | None = None,
) -> CollectionRun:
    """Collect ``account`` into storage and bring ``run`` to done / partial / failed.

    ``run`` should already be claimed (see :func:`inventory.services.runs.claim_run`). Raises
    :class:`TransientCollectionError` only when the role could not be assumed for a reason that may
    pass and ``final_attempt`` is false (the run is then back in ``queued``); database connection
    errors propagate. Everything else ends in the run's state and error list.

    Every enabled region is collected except the security team's exclusions; ``only_regions`` (an
    operator's ``collect --region``) narrows this one run further. The regions left out are on
    ``run.regions_skipped`` with their reason.
    """
    from inventory.collectors import base

    access = access or default_access(region_workers)
    workers = max(1, int(region_workers or settings.SKYLEDGER_REGION_WORKERS))
    home_region = settings.SKYLEDGER_HOME_REGION
    _mark_running(run)
    # 1. the read role
    session = _open_session(access, account, run, home_region, final_attempt)
    if session is None:
        return run
    writer = _Writer(account, run, session, chunk_size, progress, progress_interval)
    # 2. the regions
    chosen = list(collectors if collectors is not None else base.collectors())
    plan = _plan(access, session, account, run, writer, chosen, only_regions, home_region)
    # 3. collect: workers talk to AWS, this thread writes
    found = getattr(session, "unsupported", None)
    env = _UnitEnv(
        session=session,
        account_id=account.account_id,
        home_region=home_region,
        unsupported=found if isinstance(found, set) else set(),
        facts=dict(facts or {}),
        q=queue.Queue(maxsize=2 * workers + 2),
        cancel=threading.Event(),
        chunk_size=min(chunk_size, 500),
        limits=limits or _Limits.from_settings(),
    )
    interrupted = _collect(plan, env, writer, workers)
    if interrupted is not None:
        _after_interruption(run, account, writer, interrupted)
    # 4. the outcome
    state = _finish_run(run, account, plan, writer, progress, interrupted is not None)
    # 5. whatever runs after collection
    _after_collection(account, run, writer, state)
    return run
