"""Evaluation of a set of statements for one request (action, resource), as AWS documents it.

* a statement applies when its Action/NotAction covers the action, its Resource/NotResource covers
  the resource and its conditions hold;
* an explicit Deny that applies beats any Allow;
* conditions decidable statically (who the caller is: ``aws:PrincipalArn``, ``aws:PrincipalAccount``,
  ``aws:PrincipalOrgID`` when the org id is known, ...) are decided; the others (MFA, source IP,
  ExternalId, ...) cannot be known before the request, so they are kept and reported as
  :class:`~iam_audit.policy.conditions.Requirement` s: an Allow with a condition grants only when it
  holds, a Deny with a condition forbids only when it holds (the enforce-MFA pattern becomes "MFA
  required", not "no access").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from iam_audit.policy.conditions import Requirement, describe, evaluate_condition
from iam_audit.policy.model import ALLOW, DENY, Statement


@dataclasses.dataclass(frozen=True, slots=True)
class Match:
    """A statement that applies to a request, with the conditions still to hold (if any)."""

    source: Any  # whatever the caller attached to the statement (a policy reference)
    statement: Statement
    requirements: tuple[Requirement, ...] = ()


@dataclasses.dataclass(slots=True)
class Evaluation:
    """The statements of one policy set that apply to one request."""

    allows: list[Match] = dataclasses.field(default_factory=list)
    denies: list[Match] = dataclasses.field(default_factory=list)  # apply for sure
    conditional_denies: list[Match] = dataclasses.field(default_factory=list)

    @property
    def denied(self) -> bool:
        return bool(self.denies)

    @property
    def allowed(self) -> bool:
        return bool(self.allows) and not self.denies

    def best_allow(self) -> Match | None:
        """The allow that needs the fewest conditions (the first such, in policy order)."""
        if not self.allows:
            return None
        return min(self.allows, key=lambda m: len(m.requirements))

    def deny_requirements(self) -> tuple[Requirement, ...]:
        return tuple(r for m in self.conditional_denies for r in m.requirements)


def resolve_conditions(
    stmt: Statement, context: Mapping[str, str], where: str
) -> tuple[bool, tuple[Requirement, ...]]:
    """(can apply?, requirements left). A decided-false condition means the statement cannot apply."""
    left: list[Requirement] = []
    for cond in stmt.conditions:
        verdict = evaluate_condition(cond, context)
        if verdict is False:
            return False, ()
        if verdict is None:
            left.append(describe(cond, stmt.effect, where))
    return True, tuple(left)


def evaluate(
    entries: Iterable[tuple[Any, Statement]],
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
    where: Any = None,
) -> Evaluation:
    """Evaluate (source, statement) pairs for one request. ``where(source, stmt)`` names a statement."""
    ctx = context or {}
    out = Evaluation()
    for source, stmt in entries:
        if stmt.effect not in (ALLOW, DENY):
            continue
        if not stmt.matches_action(action) or not stmt.matches_resource(resource, ctx, action):
            continue
        label = where(source, stmt) if where is not None else stmt.label
        applies, reqs = resolve_conditions(stmt, ctx, label)
        if not applies:
            continue
        m = Match(source, stmt, reqs)
        if stmt.is_allow:
            out.allows.append(m)
        elif reqs:
            out.conditional_denies.append(m)
        else:
            out.denies.append(m)
    return out
