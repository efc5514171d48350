"""A finding's lifecycle as one pure decision: what its status becomes after a check run.

The engine (:func:`iam_audit.engine._store`) asks :func:`decide` for every finding a run touches,
with the finding's stored state (or none, for a subject failing for the first time) and what the
run saw of its subject, and applies the answer: the new status, the event to record, the summary
counter to count it under, and what happens to ``resolved_at`` and the "not re-evaluated" mark.
Nothing here reads or writes the database.

The transitions (``seen`` is what the run saw):

==================================  ===========  =====================================================
stored status                       seen         becomes
==================================  ===========  =====================================================
(none)                              failing      open (event: opened)
open / reopened                     failing      unchanged (refreshed)
suppressed, suppression expired     failing      reopened (event: suppression expired)
suppressed, suppression holds       failing      suppressed (kept)
resolved, suppression still holds   failing      suppressed again (event: reopened, "still holds")
resolved, no holding suppression    failing      reopened (event: reopened)
anything but resolved               passing      resolved (event: resolved)
anything but resolved               unevaluated  unchanged, marked not re-evaluated with the reason
resolved, or none                   not failing  nothing changes
==================================  ===========  =====================================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from iam_audit.choices import EventKind, FindingStatus


class Seen(enum.Enum):
    """What a check run saw of a finding's subject."""

    FAILING = "failing"  # the check fails for it now
    PASSING = "passing"  # read completely and not failing (or gone): it may resolve
    UNEVALUATED = "unevaluated"  # the check could not evaluate it (data missing, part unread...)


class Outcome(enum.Enum):
    """What the run did to the finding; each value is the :class:`EngineSummary` counter it counts under."""

    OPENED = "opened"
    REFRESHED = "refreshed"
    REOPENED = "reopened"
    EXPIRED = "expired"
    SUPPRESSED_KEPT = "suppressed_kept"
    RESOLVED = "resolved"
    NOT_EVALUATED = "not_evaluated"
    UNTOUCHED = ""  # a resolved (or never opened) finding its check does not fail: nothing to do


class ResolvedAt(enum.Enum):
    KEEP = "keep"
    SET = "set"  # to the run's time
    CLEAR = "clear"


@dataclasses.dataclass(frozen=True)
class Stored:
    """The part of a stored finding its lifecycle depends on."""

    status: str
    suppression_reason: str = ""
    suppressed_until: dt.datetime | None = None

    def suppression_holds(self, now: dt.datetime) -> bool:
        return bool(self.suppression_reason) and (
            self.suppressed_until is None or self.suppressed_until > now
        )


@dataclasses.dataclass(frozen=True)
class Decision:
    outcome: Outcome
    status: str  # the status afterwards ("" when there is no finding and none is opened)
    event: str | None = None  # an EventKind to record, if any
    note: str = ""  # the event's note, or the "not re-evaluated" reason
    resolved_at: ResolvedAt = ResolvedAt.KEEP
    evaluated: bool = False  # True: clear the "not re-evaluated" mark; False with NOT_EVALUATED: set it


EXPIRED_NOTE = "Suppression expired; the check still fails."


def decide(stored: Stored | None, seen: Seen, why: str, now: dt.datetime) -> Decision:
    """What becomes of a finding (``stored``, None when there is none yet) after a run saw ``seen``.

    ``why`` is the run's word for it: the failing result's summary, the reason it resolves, or the
    reason it could not be evaluated.
    """
    if seen is Seen.FAILING:
        return _failing(stored, why, now)
    if stored is None or stored.status == FindingStatus.RESOLVED:
        return Decision(Outcome.UNTOUCHED, stored.status if stored else "")
    if seen is Seen.PASSING:
        return Decision(
            Outcome.RESOLVED,
            FindingStatus.RESOLVED,
            EventKind.RESOLVED,
            why,
            resolved_at=ResolvedAt.SET,
            evaluated=True,
        )
    return Decision(Outcome.NOT_EVALUATED, stored.status, note=why)


def _failing(stored: Stored | None, summary: str, now: dt.datetime) -> Decision:
    if stored is None:
        return Decision(Outcome.OPENED, FindingStatus.OPEN, EventKind.OPENED, summary, evaluated=True)
    if stored.status == FindingStatus.SUPPRESSED:
        if stored.suppressed_until and stored.suppressed_until <= now:
            return Decision(
                Outcome.EXPIRED, FindingStatus.REOPENED, EventKind.EXPIRED, EXPIRED_NOTE, evaluated=True
            )
        return Decision(Outcome.SUPPRESSED_KEPT, FindingStatus.SUPPRESSED, evaluated=True)
    if stored.status == FindingStatus.RESOLVED:
        if stored.suppression_holds(now):
            return Decision(
                Outcome.SUPPRESSED_KEPT,
                FindingStatus.SUPPRESSED,
                EventKind.REOPENED,
                f"{summary} (fails again; the suppression still holds)",
                resolved_at=ResolvedAt.CLEAR,
                evaluated=True,
            )
        return Decision(
            Outcome.REOPENED,
            FindingStatus.REOPENED,
            EventKind.REOPENED,
            summary,
            resolved_at=ResolvedAt.CLEAR,
            evaluated=True,
        )
    return Decision(Outcome.REFRESHED, stored.status, evaluated=True)
