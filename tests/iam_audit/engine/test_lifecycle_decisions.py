"""Every transition of a finding's lifecycle, decided without the database (iam_audit.lifecycle)."""

from __future__ import annotations

import datetime as dt

import pytest

from iam_audit.choices import EventKind, FindingStatus
from iam_audit.lifecycle import EXPIRED_NOTE, Decision, Outcome, ResolvedAt, Seen, Stored, decide

NOW = dt.datetime.now(dt.UTC)
PAST = NOW - dt.timedelta(days=1)
FUTURE = NOW + dt.timedelta(days=30)

OPEN = Stored(FindingStatus.OPEN)
REOPENED = Stored(FindingStatus.REOPENED)
RESOLVED = Stored(FindingStatus.RESOLVED)
SUPPRESSED_FOREVER = Stored(FindingStatus.SUPPRESSED, "accepted-risk", None)
SUPPRESSED_UNTIL_LATER = Stored(FindingStatus.SUPPRESSED, "accepted-risk", FUTURE)
SUPPRESSED_EXPIRED = Stored(FindingStatus.SUPPRESSED, "accepted-risk", PAST)
SUPPRESSED_ENDING_NOW = Stored(FindingStatus.SUPPRESSED, "false-positive", NOW)
RESOLVED_SUPPRESSED = Stored(FindingStatus.RESOLVED, "false-positive", None)
RESOLVED_SUPPRESSED_UNTIL_LATER = Stored(FindingStatus.RESOLVED, "accepted-risk", FUTURE)
RESOLVED_SUPPRESSION_EXPIRED = Stored(FindingStatus.RESOLVED, "accepted-risk", PAST)
RESOLVED_UNTIL_WITHOUT_REASON = Stored(FindingStatus.RESOLVED, "", FUTURE)

WHY = "Port 22 open to 0.0.0.0/0"
STILL_HOLDS = f"{WHY} (fails again; the suppression still holds)"

CASES = [
    # (stored, seen) -> outcome, status, event, note, resolved_at, evaluated
    ("new failure opens", None, Seen.FAILING,
     Decision(Outcome.OPENED, FindingStatus.OPEN, EventKind.OPENED, WHY, ResolvedAt.KEEP, True)),
    ("open and failing is refreshed", OPEN, Seen.FAILING,
     Decision(Outcome.REFRESHED, FindingStatus.OPEN, None, "", ResolvedAt.KEEP, True)),
    ("reopened and failing stays reopened", REOPENED, Seen.FAILING,
     Decision(Outcome.REFRESHED, FindingStatus.REOPENED, None, "", ResolvedAt.KEEP, True)),
    ("suppressed without end stays suppressed", SUPPRESSED_FOREVER, Seen.FAILING,
     Decision(Outcome.SUPPRESSED_KEPT, FindingStatus.SUPPRESSED, None, "", ResolvedAt.KEEP, True)),
    ("suppressed until later stays suppressed", SUPPRESSED_UNTIL_LATER, Seen.FAILING,
     Decision(Outcome.SUPPRESSED_KEPT, FindingStatus.SUPPRESSED, None, "", ResolvedAt.KEEP, True)),
    ("expired suppression reopens", SUPPRESSED_EXPIRED, Seen.FAILING,
     Decision(Outcome.EXPIRED, FindingStatus.REOPENED, EventKind.EXPIRED, EXPIRED_NOTE, ResolvedAt.KEEP, True)),
    ("suppression ending exactly now has expired", SUPPRESSED_ENDING_NOW, Seen.FAILING,
     Decision(Outcome.EXPIRED, FindingStatus.REOPENED, EventKind.EXPIRED, EXPIRED_NOTE, ResolvedAt.KEEP, True)),
    ("resolved and failing again reopens", RESOLVED, Seen.FAILING,
     Decision(Outcome.REOPENED, FindingStatus.REOPENED, EventKind.REOPENED, WHY, ResolvedAt.CLEAR, True)),
    ("resolved under a lasting suppression is suppressed again", RESOLVED_SUPPRESSED, Seen.FAILING,
     Decision(Outcome.SUPPRESSED_KEPT, FindingStatus.SUPPRESSED, EventKind.REOPENED, STILL_HOLDS,
              ResolvedAt.CLEAR, True)),
    ("resolved under a suppression until later is suppressed again", RESOLVED_SUPPRESSED_UNTIL_LATER,
     Seen.FAILING,
     Decision(Outcome.SUPPRESSED_KEPT, FindingStatus.SUPPRESSED, EventKind.REOPENED, STILL_HOLDS,
              ResolvedAt.CLEAR, True)),
    ("resolved with an expired suppression reopens", RESOLVED_SUPPRESSION_EXPIRED, Seen.FAILING,
     Decision(Outcome.REOPENED, FindingStatus.REOPENED, EventKind.REOPENED, WHY, ResolvedAt.CLEAR, True)),
    ("an end date without a reason is no suppression", RESOLVED_UNTIL_WITHOUT_REASON, Seen.FAILING,
     Decision(Outcome.REOPENED, FindingStatus.REOPENED, EventKind.REOPENED, WHY, ResolvedAt.CLEAR, True)),
    ("open and passing resolves", OPEN, Seen.PASSING,
     Decision(Outcome.RESOLVED, FindingStatus.RESOLVED, EventKind.RESOLVED, WHY, ResolvedAt.SET, True)),
    ("reopened and passing resolves", REOPENED, Seen.PASSING,
     Decision(Outcome.RESOLVED, FindingStatus.RESOLVED, EventKind.RESOLVED, WHY, ResolvedAt.SET, True)),
    ("suppressed and passing resolves", SUPPRESSED_UNTIL_LATER, Seen.PASSING,
     Decision(Outcome.RESOLVED, FindingStatus.RESOLVED, EventKind.RESOLVED, WHY, ResolvedAt.SET, True)),
    ("resolved and passing is left alone", RESOLVED, Seen.PASSING,
     Decision(Outcome.UNTOUCHED, FindingStatus.RESOLVED)),
    ("open and unevaluated is held", OPEN, Seen.UNEVALUATED,
     Decision(Outcome.NOT_EVALUATED, FindingStatus.OPEN, None, WHY)),
    ("reopened and unevaluated is held", REOPENED, Seen.UNEVALUATED,
     Decision(Outcome.NOT_EVALUATED, FindingStatus.REOPENED, None, WHY)),
    ("suppressed and unevaluated is held suppressed", SUPPRESSED_EXPIRED, Seen.UNEVALUATED,
     Decision(Outcome.NOT_EVALUATED, FindingStatus.SUPPRESSED, None, WHY)),
    ("resolved and unevaluated is left alone", RESOLVED, Seen.UNEVALUATED,
     Decision(Outcome.UNTOUCHED, FindingStatus.RESOLVED)),
    ("no finding and passing: nothing", None, Seen.PASSING, Decision(Outcome.UNTOUCHED, "")),
    ("no finding and unevaluated: nothing", None, Seen.UNEVALUATED, Decision(Outcome.UNTOUCHED, "")),
]  # fmt: skip


@pytest.mark.parametrize(("stored", "seen", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_transition(stored: Stored | None, seen: Seen, expected: Decision) -> None:
    assert decide(stored, seen, WHY, NOW) == expected


def test_every_stored_status_meets_every_observation() -> None:
    """The table above covers the whole space: each status (and none) with each observation."""
    covered = {(c[1].status if c[1] else None, c[2]) for c in CASES}
    assert covered == {(s, seen) for s in [None, *FindingStatus] for seen in Seen}


def test_outcomes_name_the_engine_summarys_counters() -> None:
    from iam_audit.engine import EngineSummary

    counters = {f for f in EngineSummary.__dataclass_fields__ if f not in {"account_id", "errors"}}
    assert {o.value for o in Outcome if o is not Outcome.UNTOUCHED} <= counters


@pytest.mark.parametrize(
    ("until", "holds"), [(None, True), (FUTURE, True), (NOW, False), (PAST, False)], ids=str
)
def test_a_suppression_holds_while_it_has_a_reason_and_has_not_ended(
    until: dt.datetime | None, holds: bool
) -> None:
    assert Stored(FindingStatus.RESOLVED, "accepted-risk", until).suppression_holds(NOW) is holds
    assert Stored(FindingStatus.RESOLVED, "", until).suppression_holds(NOW) is False
