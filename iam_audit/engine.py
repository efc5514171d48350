"""The check engine: builds an account snapshot from stored data, runs every check, keeps findings.

Findings are keyed by (check, account, subject). A failure opens a finding (or refreshes it), a pass
resolves it, a failure after resolution reopens it; suppressions survive runs and end by
themselves at expiry. A check whose data was not collected answers UNKNOWN and changes nothing.

A finding is resolved only on a successful read of its subject: a PASS for it now, no failure of a
check that read it completely (its type and region collected, no part of it unread), or its
resource known to be gone. Otherwise it keeps its status, marked "not re-evaluated" with the reason
(``Finding.not_evaluated``), until a check evaluates it again.
All writes are batched: a run issues a bounded number of queries, whatever the number of findings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.choices import AccountStatus
from accounts.models import AwsAccount
from core import secrets
from iam_audit import lifecycle, priority, snapshots
from iam_audit.checks import base as checks
from iam_audit.choices import SEVERITY_ORDER, CheckState, EventKind, FindingStatus
from iam_audit.graph import GRAPH_CHECKS
from iam_audit.models import BaselineSetting, CheckResult, Finding, FindingEvent, finding_key
from inventory.collectors.common import UNAVAILABLE
from inventory.models import CoverageRecord, Resource
from inventory.records import GLOBAL_REGION, Coverage

log = logging.getLogger(__name__)

BATCH = 1000


@dataclasses.dataclass
class EngineSummary:
    account_id: str
    checks_run: int = 0
    unknown_checks: int = 0
    opened: int = 0
    reopened: int = 0
    refreshed: int = 0
    resolved: int = 0
    not_evaluated: int = 0
    suppressed_kept: int = 0
    expired: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.account_id}: {self.checks_run} checks ({self.unknown_checks} unknown), "
            f"{self.opened} opened, {self.reopened} reopened, {self.refreshed} still failing, "
            f"{self.resolved} resolved, {self.not_evaluated} not re-evaluated"
        )


def baseline_disabled(environment: str) -> set[str]:
    """Baseline check ids switched off for an environment (settings override code defaults)."""
    from iam_audit.checks import BASELINE_OFF_BY_DEFAULT  # defaults live beside the checks

    off = set(BASELINE_OFF_BY_DEFAULT.get(environment, ()))
    for setting in BaselineSetting.objects.filter(environment=environment):
        if setting.enabled:
            off.discard(setting.check_id)
        else:
            off.add(setting.check_id)
    return off


def catalogue() -> dict[str, checks.Check]:
    """Every check people see, by id: the per-account registry plus the estate-wide IAM graph checks."""
    found = {c.id: c for c in checks.all_checks()}
    for check_id, graph_check in GRAPH_CHECKS.items():
        found.setdefault(check_id, graph_check.to_check())
    return dict(sorted(found.items()))


def _org_unknown(
    chk: checks.Check,
    account: AwsAccount,
    snap: checks.Snapshot,
    org: checks.OrgContext | None,
    coverage: dict[str, str],
) -> checks.Result | None:
    """UNKNOWN for a context-only check when the organisation was not collected completely.

    Such checks declare no resource types (they read the organisation the engine hands them), so
    ``evaluate`` cannot tell stale or missing organisation data from a clean one: the engine does.
    The registry's own "not in organisation" status is a fact, so org.member may still fail on it.
    """
    if chk.id == "org.member" and account.status == AccountStatus.NOT_IN_ORG:
        return None
    missing = snapshots.missing_org_types(coverage, snapshots.org_types_read(chk.id))
    if not missing:
        return None
    management = org.management_account_id if org is not None else ""
    if not management:
        why = "the organisation was not collected (its management account is not known)"
    else:
        why = f"the organisation was not collected completely from {management} ({', '.join(missing)})"
    return checks.Result(
        subject=snap.account_arn,
        status=checks.Status.UNKNOWN,
        summary=f"Not evaluated: {why}",
        evidence={"missing": missing, "management_account_id": management, "coverage": dict(coverage)},
    )


def _org_pending(
    chk: checks.Check,
    account: AwsAccount,
    snap: checks.Snapshot,
    org: checks.OrgContext | None,
    coverage: dict[str, str],
    results: list[checks.Result],
) -> list[checks.Result] | None:
    """UNKNOWN in place of failures that rest on the management account's data, not collected yet.

    A member's check that reads the organisation trail (``Check.org_requires``) fails for want of
    it while the management account is still to be collected (the first collection of an estate,
    accounts one after the other), and would pass a minute later. Until that data is in, its
    failures are unknown (its passes stand: they do not depend on it); the management account
    reads its own data.
    """
    management = org.management_account_id if org is not None else ""
    if not chk.org_requires or not management or management == account.account_id:
        return None
    missing = snapshots.missing_org_types(coverage, chk.org_requires)
    if not missing or not any(r.status == checks.Status.FAIL for r in results):
        return None
    return [
        checks.Result(
            subject=snap.account_arn,
            status=checks.Status.UNKNOWN,
            summary=(
                f"Not evaluated yet: needs {', '.join(missing)} of the management account {management}, "
                "not collected completely yet"
            ),
            evidence={"missing": missing, "management_account_id": management, "coverage": dict(coverage)},
        )
    ]


def run_checks(
    account: AwsAccount,
    *,
    now: dt.datetime | None = None,
    org: checks.OrgContext | None = None,
    org_coverage: dict[str, str] | None = None,
    only: Sequence[str] | None = None,
    extra_results: dict[str, list[checks.Result]] | None = None,
) -> EngineSummary:
    """Evaluate every check for one account from stored data and update its findings.

    ``org`` is the organisation context (estate-wide: see :func:`run_account`); ``org_coverage``
    says how completely it was collected (type -> coverage; read from the database when omitted).
    ``extra_results`` carries results computed outside the per-account snapshot (the estate-wide
    IAM graph): check id -> results for this account.
    """
    from iam_audit.checks import CONTEXT_ONLY_CHECKS

    now = now or timezone.now()
    summary = EngineSummary(account.account_id)
    snap, arn_to_resource = snapshots.build(account, org=org, now=now)
    if org_coverage is None:
        org_coverage = snapshots.org_coverage(org.management_account_id) if org is not None else {}
    disabled = baseline_disabled(account.environment)
    results_by_check: dict[str, list[checks.Result]] = {}
    meta: dict[str, checks.Check] = {}
    for chk in checks.all_checks():
        if only and chk.id not in only:
            continue
        meta[chk.id] = chk
        if chk.baseline and chk.id in disabled:
            results_by_check[chk.id] = [
                checks.Result(
                    subject=snap.account_arn,
                    status=checks.Status.NOT_APPLICABLE,
                    summary=f"Baseline item switched off for {account.get_environment_display()}",
                )
            ]
            continue
        if chk.id in CONTEXT_ONLY_CHECKS:
            unknown = _org_unknown(chk, account, snap, org, org_coverage)
            if unknown is not None:
                results_by_check[chk.id] = [unknown]
                continue
        try:
            results = list(checks.evaluate(chk, snap))
            results_by_check[chk.id] = _org_pending(chk, account, snap, org, org_coverage, results) or results
        except Exception as exc:  # a broken check must not stop the others
            log.exception("check %s failed on %s", chk.id, account.account_id)
            summary.errors.append(f"{chk.id}: {exc.__class__.__name__}: {exc}")
            results_by_check[chk.id] = [
                checks.Result(
                    subject=snap.account_arn,
                    status=checks.Status.UNKNOWN,
                    summary=f"The check itself failed: {exc.__class__.__name__}",
                )
            ]
    _add_results(results_by_check, meta, extra_results or {}, only)
    _weigh_reachability(results_by_check, snap.facts.get("sg_reachable") or {})
    with transaction.atomic():
        _store(account, meta, results_by_check, arn_to_resource, now, summary)
    return summary


def _add_results(
    results_by_check: dict[str, list[checks.Result]],
    meta: dict[str, checks.Check],
    extra: dict[str, list[checks.Result]],
    only: Sequence[str] | None = None,
) -> None:
    """Add results computed outside the account's snapshot (the IAM graph's), with their checks."""
    known = catalogue()
    for check_id, results in extra.items():
        if only and check_id not in only:
            continue
        results_by_check[check_id] = list(results)
        if check_id in known:
            meta.setdefault(check_id, known[check_id])


def _weigh_reachability(
    results_by_check: dict[str, list[checks.Result]], reachable: dict[str, bool | None]
) -> None:
    """Tell the priority whether an internet-open security group guards anything reachable.

    The checks read rules; the exposure analysis (the snapshot fact ``sg_reachable``) knows whether
    the group sits on something the internet can actually reach. The finding stays, but a group
    open to the world on nothing reachable ranks lower (``priority.score(reachable=False)``).
    Unknown (None, or a group not analysed) changes nothing.
    """
    if not reachable:
        return
    for results in results_by_check.values():
        for index, result in enumerate(results):
            if result.status != checks.Status.FAIL or result.exposure != checks.Exposure.INTERNET:
                continue
            value = reachable.get(result.subject)
            if value is None or "reachable" in result.evidence:
                continue
            results[index] = dataclasses.replace(result, evidence={**result.evidence, "reachable": value})


def _comparable(value: object) -> object:
    """A value as it reads back from a JSONField (tuples become lists), to tell real changes."""
    if isinstance(value, (dict, list, tuple)):
        return json.loads(json.dumps(value, default=str))
    return value


def _state_of(results: Sequence[checks.Result]) -> tuple[str, dict[str, int], str]:
    counts = {s: 0 for s in checks.Status}
    for r in results:
        counts[r.status] += 1
    if counts[checks.Status.FAIL]:
        state = CheckState.FAIL
        detail = next(r.summary for r in results if r.status == checks.Status.FAIL)
    elif counts[checks.Status.UNKNOWN]:
        state = CheckState.UNKNOWN
        detail = next(r.summary for r in results if r.status == checks.Status.UNKNOWN)
    elif counts[checks.Status.PASS]:
        state, detail = CheckState.PASS, ""
    else:
        state = CheckState.NOT_APPLICABLE
        detail = next((r.summary for r in results), "Nothing to evaluate in this account.")
    return state, {s.value: n for s, n in counts.items()}, detail


def _without_secrets(result: checks.Result, redactor: secrets.Redactor) -> checks.Result:
    """``result`` with known ExternalIds (and any ``sts:ExternalId`` condition value) masked in its
    summary and evidence: what is stored is shown to everyone. Passing results keep theirs (only
    their count is stored)."""
    if result.status == checks.Status.PASS:
        return result
    summary = redactor.text(result.summary)
    evidence = redactor.data(result.evidence)
    if summary == result.summary and evidence == result.evidence:
        return result
    return dataclasses.replace(result, summary=summary, evidence=evidence)


FINDING_UPDATE_FIELDS = [
    "subject",
    "region",
    "resource_type",
    "title",
    "summary",
    "service",
    "severity",
    "severity_rank",
    "priority",
    "priority_explanation",
    "exposure",
    "evidence",
    "resource",
    "last_seen",
    "status",
    "resolved_at",
    "not_evaluated",
    "not_evaluated_since",
]

# a finding not failing now, with its subject's results and all of its check's results
Quiet = tuple[Finding, list[checks.Result], list[checks.Result]]


def _stored(finding: Finding | None) -> lifecycle.Stored | None:
    if finding is None:
        return None
    return lifecycle.Stored(finding.status, finding.suppression_reason or "", finding.suppressed_until)


@dataclasses.dataclass
class _Changes:
    """What one run of the checks writes for an account: gathered here, written in batches by :meth:`write`.

    Each finding's new state comes from :func:`iam_audit.lifecycle.decide`; this applies it.
    """

    now: dt.datetime
    summary: EngineSummary
    to_create: list[Finding] = dataclasses.field(default_factory=list)
    to_update: list[Finding] = dataclasses.field(default_factory=list)
    seen_only: list[int] = dataclasses.field(default_factory=list)  # still failing, nothing new
    events: list[FindingEvent] = dataclasses.field(default_factory=list)
    pending_events: list[tuple[Finding, str, str]] = dataclasses.field(default_factory=list)  # new findings'
    check_rows: list[CheckResult] = dataclasses.field(default_factory=list)
    quiet: list[Quiet] = dataclasses.field(default_factory=list)

    def _count(self, outcome: lifecycle.Outcome) -> None:
        if outcome is not lifecycle.Outcome.UNTOUCHED:
            setattr(self.summary, outcome.value, getattr(self.summary, outcome.value) + 1)

    def _apply(self, finding: Finding, decision: lifecycle.Decision) -> None:
        if decision.status:
            finding.status = decision.status
        if decision.resolved_at is lifecycle.ResolvedAt.SET:
            finding.resolved_at = self.now
        elif decision.resolved_at is lifecycle.ResolvedAt.CLEAR:
            finding.resolved_at = None
        if decision.evaluated:
            finding.not_evaluated, finding.not_evaluated_since = "", None
        if decision.event is not None:
            self.events.append(
                FindingEvent(finding=finding, at=self.now, kind=decision.event, note=decision.note)
            )

    def failing(
        self, account: AwsAccount, check_id: str, key: str, finding: Finding | None, fields: dict[str, Any]
    ) -> None:
        """A result failing now, for the stored ``finding`` of ``key`` (None: a new one)."""
        decision = lifecycle.decide(_stored(finding), lifecycle.Seen.FAILING, fields["summary"], self.now)
        self._count(decision.outcome)
        if finding is None:
            finding = Finding(
                key=key,
                check_id=check_id,
                account=account,
                first_seen=self.now,
                status=decision.status,
                **fields,
            )
            self.to_create.append(finding)
            self.pending_events.append((finding, str(decision.event), decision.note))
            return
        status_before = finding.status
        differs = any(
            getattr(finding, name) != _comparable(value)
            for name, value in fields.items()
            if name != "last_seen"
        )
        for name, value in fields.items():
            setattr(finding, name, value)
        self._apply(finding, decision)
        if differs or finding.status != status_before:
            self.to_update.append(finding)
        else:
            self.seen_only.append(finding.pk)  # only last_seen moves

    def not_failing(self, finding: Finding, resolves: bool, why: str) -> None:
        """A stored finding its check does not fail now: resolved (``resolves``) or held for ``why``."""
        seen = lifecycle.Seen.PASSING if resolves else lifecycle.Seen.UNEVALUATED
        decision = lifecycle.decide(_stored(finding), seen, why, self.now)
        self._count(decision.outcome)
        if decision.outcome is lifecycle.Outcome.NOT_EVALUATED:
            if _hold(finding, decision.note, self.now):
                self.to_update.append(finding)
        elif decision.outcome is not lifecycle.Outcome.UNTOUCHED:
            self._apply(finding, decision)
            self.to_update.append(finding)

    def write(self) -> None:
        Finding.objects.bulk_create(self.to_create, batch_size=BATCH)
        for finding, kind, note in self.pending_events:
            self.events.append(FindingEvent(finding=finding, at=self.now, kind=kind, note=note))
        Finding.objects.bulk_update(self.to_update, FINDING_UPDATE_FIELDS, batch_size=BATCH)
        # Most findings of a routine run are unchanged: one plain UPDATE per batch instead of a
        # CASE/WHEN per field and row (bulk_update's cost grew to seconds per thousand findings).
        for start in range(0, len(self.seen_only), BATCH):
            Finding.objects.filter(pk__in=self.seen_only[start : start + BATCH]).update(last_seen=self.now)
        FindingEvent.objects.bulk_create(self.events, batch_size=BATCH)
        CheckResult.objects.bulk_create(
            self.check_rows,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["account", "check_id"],
            update_fields=[
                "state",
                "passed",
                "failed",
                "unknown",
                "not_applicable",
                "detail",
                "evaluated_at",
            ],
        )


def _check_row(
    account: AwsAccount, check_id: str, state: str, counts: dict[str, int], detail: str, now: dt.datetime
) -> CheckResult:
    return CheckResult(
        account=account,
        check_id=check_id,
        state=state,
        passed=counts["pass"],
        failed=counts["fail"],
        unknown=counts["unknown"],
        not_applicable=counts["not-applicable"],
        detail=detail[:2000],
        evaluated_at=now,
    )


def _finding_fields(
    account: AwsAccount,
    check_id: str,
    chk: checks.Check | None,
    result: checks.Result,
    first_seen: dt.datetime,
    arn_to_resource: dict[str, int],
    now: dt.datetime,
) -> dict[str, Any]:
    """A failing result's finding fields, as evaluated now (priority weighs how long it has failed)."""
    severity = str(chk.severity) if chk else str(result.evidence.get("severity", "medium"))
    score, terms = priority.score(
        severity,
        account.environment,
        str(result.exposure),
        first_seen,
        now,
        reachable=result.evidence.get("reachable") if isinstance(result.evidence, dict) else None,
    )
    return {
        "subject": result.subject[:2048],
        "region": result.region,
        "resource_type": result.resource_type,
        "title": (chk.title if chk else check_id)[:300],
        "summary": result.summary,
        "service": chk.service if chk else check_id.split(".", 1)[0],
        "severity": severity,
        "severity_rank": SEVERITY_ORDER.get(severity, 4),
        "priority": score,
        "priority_explanation": terms,
        "exposure": str(result.exposure),
        "evidence": dict(result.evidence),
        "resource_id": arn_to_resource.get(result.subject),
        "last_seen": now,
        "not_evaluated": "",  # evaluated now
        "not_evaluated_since": None,
    }


def _store_failures(
    account: AwsAccount,
    check_id: str,
    chk: checks.Check | None,
    results: list[checks.Result],
    existing: dict[str, Finding],
    arn_to_resource: dict[str, int],
    changes: _Changes,
) -> set[str]:
    """Open, refresh or reopen the findings of ``results`` failing now; returns their keys."""
    failing: set[str] = set()
    for result in results:
        if result.status != checks.Status.FAIL:
            continue
        key = finding_key(check_id, account.account_id, result.subject)
        if key in failing:
            continue
        failing.add(key)
        finding = existing.get(key)
        first_seen = finding.first_seen if finding else changes.now
        fields = _finding_fields(account, check_id, chk, result, first_seen, arn_to_resource, changes.now)
        changes.failing(account, check_id, key, finding, fields)
    return failing


def _quiet(held: Sequence[Finding], failing: set[str], results: list[checks.Result]) -> list[Quiet]:
    """The check's stored findings not failing now (and not resolved), each with its subject's results."""
    by_subject: dict[str, list[checks.Result]] = {}
    for result in results:
        by_subject.setdefault(result.subject, []).append(result)
    return [
        (finding, by_subject.get(finding.subject, []), results)
        for finding in held
        if finding.key not in failing and finding.status != FindingStatus.RESOLVED
    ]


def _store(
    account: AwsAccount,
    meta: dict[str, checks.Check],
    results_by_check: dict[str, list[checks.Result]],
    arn_to_resource: dict[str, int],
    now: dt.datetime,
    summary: EngineSummary,
) -> None:
    """Store the checks' results for ``account``: one row per check, and its findings' lifecycle."""
    existing = {
        f.key: f for f in Finding.objects.filter(account=account, check_id__in=list(results_by_check))
    }
    by_check: dict[str, list[Finding]] = {}
    for finding in existing.values():
        by_check.setdefault(finding.check_id, []).append(finding)
    changes = _Changes(now, summary)
    # evidence quotes policies: an ExternalId in a trust condition is kept out of it for everyone
    redactor = secrets.everyone()
    for check_id, results in results_by_check.items():
        results = [_without_secrets(r, redactor) for r in results]
        state, counts, detail = _state_of(results)
        changes.check_rows.append(_check_row(account, check_id, state, counts, detail, now))
        if state == CheckState.UNKNOWN and not counts["fail"]:
            summary.unknown_checks += 1
            # data missing: every finding of this check keeps its status, marked not re-evaluated
            for held in by_check.get(check_id, []):
                changes.not_failing(held, False, detail)
            continue
        summary.checks_run += 1
        failing = _store_failures(
            account, check_id, meta.get(check_id), results, existing, arn_to_resource, changes
        )
        # not failing now: resolved only when its subject was read (see _verdicts), else held
        changes.quiet += _quiet(by_check.get(check_id, []), failing, results)
    for finding, resolves, why in _verdicts(account, changes.quiet):
        changes.not_failing(finding, resolves, why)
    changes.write()


def _hold(finding: Finding, reason: str, now: dt.datetime) -> bool:
    """Mark ``finding`` not re-evaluated (its status stays); True when that changed anything."""
    reason = (reason or "The check could not evaluate it.")[:2000]
    if finding.not_evaluated == reason and finding.not_evaluated_since is not None:
        return False
    finding.not_evaluated = reason
    finding.not_evaluated_since = finding.not_evaluated_since or now
    return True


def _is_account_subject(result: checks.Result, account_id: str) -> bool:
    return not result.resource_type and result.subject.endswith(f":iam::{account_id}:root")


# a stored resource as a verdict reads it: deleted_at, type, region, the parts of it left unread
ResourceRow = tuple[Any, str, str, Any]


def _resource_rows(account: AwsAccount, arns: Sequence[str]) -> dict[str, ResourceRow]:
    rows: dict[str, ResourceRow] = {}
    for start in range(0, len(arns), BATCH):
        for arn, deleted_at, type_, region, unread in (
            Resource.objects.filter(account=account, arn__in=arns[start : start + BATCH])
            .order_by()
            .values_list("arn", "deleted_at", "type", "region", f"data__{UNAVAILABLE}")
        ):
            rows[arn] = (deleted_at, type_, region, unread)
    return rows


class _Coverage:
    """How completely each (type, region) of an account was collected (a global type covers every region)."""

    def __init__(self, account: AwsAccount, needed: bool) -> None:
        self.values: dict[tuple[str, str], str] = {}
        if needed:
            self.values = {
                (t, r): c
                for t, r, c in CoverageRecord.objects.filter(account=account).values_list(
                    "type", "region", "coverage"
                )
            }

    def __call__(self, type_: str, region: str) -> tuple[bool, str]:
        value = self.values.get((type_, region)) or self.values.get((type_, GLOBAL_REGION)) or "not collected"
        return value == Coverage.OK.value, value


def _verdict_of_own(mine: list[checks.Result]) -> tuple[bool, str]:
    """The verdict from the check's results for the finding's own subject."""
    unknown = next((r for r in mine if r.status == checks.Status.UNKNOWN), None)
    if unknown is not None:
        return False, unknown.summary or "The check could not evaluate it."
    if any(r.status == checks.Status.FAIL for r in mine):  # failing under another key
        return False, "The check still fails for it."
    return True, "The check passes now."


def _verdict_of_resource(row: ResourceRow, covered: _Coverage) -> tuple[bool, str]:
    """The verdict from the stored resource of a subject the check said nothing about."""
    deleted_at, type_, region, unread = row
    if deleted_at is not None:
        return True, "Its subject no longer exists."
    complete, how = covered(type_, region)
    if not complete:
        return False, f"Its {type_} data in {region} was not collected completely ({how})."
    if isinstance(unread, dict) and unread:
        parts = ", ".join(f"{k} ({v})" for k, v in sorted(unread.items()))
        return False, f"Part of it could not be read: {parts}."
    return True, "The check passes now: it no longer fails for it."


def _verdict(
    finding: Finding,
    mine: list[checks.Result],
    results: list[checks.Result],
    account_id: str,
    rows: dict[str, ResourceRow],
    covered: _Coverage,
) -> tuple[bool, str]:
    """(resolve?, why) for one finding its check did not fail now (the rules: :func:`_verdicts`)."""
    if mine:
        return _verdict_of_own(mine)
    whole = [r for r in results if _is_account_subject(r, account_id)]
    whole_unknown = next((r for r in whole if r.status == checks.Status.UNKNOWN), None)
    if whole_unknown is not None:
        return False, whole_unknown.summary
    if any(r.status == checks.Status.NOT_APPLICABLE for r in whole):
        return True, "The check does not apply any more."
    row = rows.get(finding.subject)
    if row is not None:
        return _verdict_of_resource(row, covered)
    if finding.resource_type and covered(finding.resource_type, finding.region or GLOBAL_REGION)[0]:
        return True, "Its subject no longer exists."
    unknown = next((r for r in results if r.status == checks.Status.UNKNOWN), None)
    if unknown is not None:
        return False, unknown.summary
    if finding.resource_type:
        return False, f"Its {finding.resource_type} data was not collected."
    return True, "The check passes now: it no longer fails for it."


def _verdicts(account: AwsAccount, quiet: list[Quiet]) -> Iterable[tuple[Finding, bool, str]]:
    """For each finding its check did not fail now: (finding, resolve?, why).

    - a result for its subject: PASS or not applicable resolves; UNKNOWN holds it with that reason;
    - an account-wide UNKNOWN of its check holds it; account-wide "not applicable" resolves it;
    - its resource known to be gone (deleted by a complete listing, or absent where its type and
      region were collected completely) resolves it;
    - a live resource resolves it only if it was read completely: its type collected completely in
      its region and no part of it unread (``data["Unavailable"]``); otherwise it is held;
    - a subject that is no resource (a pseudo-ARN) resolves when the check answered nothing
      unknown, and is held otherwise.
    Two queries at most, whatever the number of findings.
    """
    if not quiet:
        return
    lookup = sorted({f.subject for f, mine, _ in quiet if not mine})
    rows = _resource_rows(account, lookup)
    covered = _Coverage(account, needed=bool(lookup))
    for finding, mine, results in quiet:
        yield finding, *_verdict(finding, mine, results, account.account_id, rows, covered)


def expire_suppressions(now: dt.datetime | None = None) -> int:
    """End suppressions whose time is up: the finding becomes active again (reopened)."""
    now = now or timezone.now()
    expired = list(Finding.objects.filter(status=FindingStatus.SUPPRESSED, suppressed_until__lte=now))
    for finding in expired:
        finding.status = FindingStatus.REOPENED
    with transaction.atomic():
        Finding.objects.bulk_update(expired, ["status"], batch_size=BATCH)
        FindingEvent.objects.bulk_create(
            [
                FindingEvent(finding=f, at=now, kind=EventKind.EXPIRED, note="Suppression expired.")
                for f in expired
            ],
            batch_size=BATCH,
        )
    return len(expired)


TRIAGE_FIELDS = [
    "status",
    "suppression_reason",
    "suppression_justification",
    "suppressed_until",
    "suppressed_by",
    "suppressed_at",
]


def _save_triage(changed: list[Finding], events: list[FindingEvent]) -> None:
    """Store a triage decision on many findings and its events, all or nothing."""
    with transaction.atomic():
        Finding.objects.bulk_update(changed, TRIAGE_FIELDS, batch_size=BATCH)
        FindingEvent.objects.bulk_create(events, batch_size=BATCH)


def suppress(
    findings: Iterable[Finding],
    *,
    user: object,
    reason: str,
    justification: str,
    until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Suppress findings (security team): reason (accepted risk / false positive), why, until when."""
    now = now or timezone.now()
    changed = []
    for f in findings:
        if f.status == FindingStatus.RESOLVED:
            continue
        f.status = FindingStatus.SUPPRESSED
        f.suppression_reason = reason
        f.suppression_justification = justification
        f.suppressed_until = until
        f.suppressed_by = user  # type: ignore[assignment]
        f.suppressed_at = now
        changed.append(f)
    _save_triage(
        changed,
        [
            FindingEvent(
                finding=f,
                at=now,
                kind=EventKind.SUPPRESSED,
                user=user,  # type: ignore[misc]
                note=justification,
                data={"reason": reason, "until": until.isoformat() if until else None},
            )
            for f in changed
        ],
    )
    return len(changed)


def unsuppress(
    findings: Iterable[Finding], *, user: object, note: str = "", now: dt.datetime | None = None
) -> int:
    """Lift suppressions: the findings are active again."""
    now = now or timezone.now()
    changed = []
    for f in findings:
        if f.status != FindingStatus.SUPPRESSED and not f.suppression_reason:
            continue
        if f.status == FindingStatus.SUPPRESSED:
            f.status = FindingStatus.REOPENED
        f.suppression_reason = ""
        f.suppression_justification = ""
        f.suppressed_until = None
        f.suppressed_by = None
        f.suppressed_at = None
        changed.append(f)
    _save_triage(
        changed,
        [
            FindingEvent(finding=f, at=now, kind=EventKind.UNSUPPRESSED, user=user, note=note)  # type: ignore[misc]
            for f in changed
        ],
    )
    return len(changed)


def accounts_to_check(ids: Sequence[str] | None = None) -> list[AwsAccount]:
    qs = AwsAccount.objects.exclude(status=AccountStatus.CLOSED)
    if ids:
        qs = qs.filter(account_id__in=ids)
    return list(qs.order_by("name"))


#: What :func:`graph_results` returns: account id -> check id -> results, and an error (or "").
GraphOutcome = tuple[dict[str, dict[str, list[checks.Result]]], str]


def graph_results(now: dt.datetime) -> GraphOutcome:
    """The estate-wide IAM graph checks: account id -> check id -> results, and an error (or "").

    The graph is built by :mod:`iam_audit.graph_store` when that module is present; without it (or when
    it fails) the graph checks are simply not evaluated this time, so their findings stay as they were.
    """
    try:
        access = importlib.import_module("iam_audit.graph_store")
    except ModuleNotFoundError as exc:
        if exc.name == "iam_audit.graph_store":
            return {}, ""
        raise
    try:
        return access.graph_results_by_account(now=now), ""
    except Exception as exc:  # the graph must not stop the per-account checks
        log.exception("the IAM graph could not be evaluated")
        return {}, f"IAM graph: {exc.__class__.__name__}: {exc}"


def run_account(account: AwsAccount, *, now: dt.datetime | None = None, graph: bool = True) -> EngineSummary:
    """Run one account's checks with the estate-wide context (organisation, IAM graph).

    This is what runs after each collection of the account and what the ``iam_audit.run_checks``
    task does. ``graph=False`` leaves the IAM graph's checks (and their findings) as they are: a
    batch's earlier runs do so, and its last one evaluates the graph for all (:func:`run_batch_end`).
    """
    now = now or timezone.now()
    return _run_account(
        account, now, graph_results(now) if graph else None, snapshots.org_context_for_estate()
    )


def run_batch_end(
    account: AwsAccount, others: Sequence[AwsAccount], *, now: dt.datetime | None = None
) -> list[EngineSummary]:
    """A batch's last run: ``account``'s checks, and the IAM graph's checks of the batch's
    ``others`` (their other checks ran after their own collection), with one graph for all."""
    now = now or timezone.now()
    graph = graph_results(now)
    org = snapshots.org_context_for_estate()
    return [_run_account(account, now, graph, org), *(_graph_only(other, now, graph) for other in others)]


def _run_account(
    account: AwsAccount, now: dt.datetime, graph: GraphOutcome | None, org: snapshots.EstateOrg
) -> EngineSummary:
    """One account's checks with the estate-wide contexts, built once by the caller."""
    summary = run_checks(
        account,
        now=now,
        org=org.for_account(account.account_id),
        org_coverage=dict(org.coverage),
        extra_results=graph[0].get(account.account_id) if graph is not None else None,
    )
    if graph is not None and graph[1]:
        summary.errors.append(graph[1])
    return summary


def _graph_only(account: AwsAccount, now: dt.datetime, graph: GraphOutcome) -> EngineSummary:
    """The IAM graph's checks alone for ``account`` (its other checks already ran): no snapshot of
    the account, only its resources the results name, to link the findings to."""
    graph_map, graph_error = graph
    summary = EngineSummary(account.account_id)
    found = graph_map.get(account.account_id)
    if found is not None:
        results_by_check: dict[str, list[checks.Result]] = {}
        meta: dict[str, checks.Check] = {}
        _add_results(results_by_check, meta, found)
        subjects = {result.subject for results in results_by_check.values() for result in results}
        arn_to_resource = dict(
            Resource.objects.filter(account=account, deleted_at__isnull=True, arn__in=subjects).values_list(
                "arn", "pk"
            )
        )
        with transaction.atomic():
            _store(account, meta, results_by_check, arn_to_resource, now, summary)
    if graph_error:
        summary.errors.append(graph_error)
    return summary


def run_all(ids: Sequence[str] | None = None, now: dt.datetime | None = None) -> list[EngineSummary]:
    """Run checks for many accounts: the organisation context and the IAM graph are built once."""
    now = now or timezone.now()
    accounts = accounts_to_check(ids)
    org = snapshots.org_context_for_estate()
    graph = graph_results(now)
    summaries = [_run_account(account, now, graph, org) for account in accounts]
    expire_suppressions(now)
    return summaries


__all__ = [
    "EngineSummary",
    "catalogue",
    "run_account",
    "run_checks",
    "run_all",
    "run_batch_end",
    "suppress",
    "unsuppress",
    "expire_suppressions",
]
