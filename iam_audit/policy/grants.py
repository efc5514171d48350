"""What a statement grants, in the words the checks use: to whom (anyone, other accounts), which
actions on which resources (full admin), and the evidence of a public grant.

Matching is the engine's (:meth:`~iam_audit.policy.model.Statement.matches_action`,
:meth:`~iam_audit.policy.model.Statement.matches_resource`) with no caller context: the checks ask
whether a statement may ever cover a request, so a policy variable matches any value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iam_audit.policy.conditions import limiting_conditions
from iam_audit.policy.model import Statement, statements


def all_resources(stmt: Statement) -> bool:
    """Resource is ``"*"`` (or NotResource is used, which is "everything but")."""
    if not stmt.resource_given:
        return False
    return stmt.not_resource or any(r == "*" for r in stmt.resources)


def grants_full_admin(stmt: Statement) -> bool:
    """An Allow of every action (``"*"``) on every resource (``"*"``)."""
    if not stmt.is_allow or stmt.not_action or stmt.not_resource:
        return False
    return any(a in ("*", "*:*") for a in stmt.actions) and any(r == "*" for r in stmt.resources)


def applies_to_anyone(stmt: Statement) -> bool:
    """Principal ``"*"`` / ``{"AWS": "*"}``, or ``NotPrincipal`` (everyone but a few)."""
    if stmt.not_principal and stmt.principals:
        return True
    principal = stmt.principal
    return principal is not None and principal.anyone


def public_grant(stmt: Statement) -> dict[str, Any] | None:
    """Evidence when ``stmt`` (a resource or trust policy statement) allows anyone without a
    limiting condition; None otherwise."""
    if not stmt.is_allow or not applies_to_anyone(stmt):
        return None
    if limiting_conditions(stmt):
        return None
    ev = stmt.evidence()
    if stmt.conditions:
        ev["note"] = "conditions present but none restricts who may use the statement"
    return ev


def public_grants(doc: Any) -> list[dict[str, Any]]:
    """Every statement of ``doc`` that grants access to anyone (see :func:`public_grant`)."""
    return [g for g in (public_grant(s) for s in statements(doc)) if g]


def external_accounts(stmt: Statement, inside: Iterable[str]) -> set[str]:
    """Account ids an Allow statement names that are not in ``inside``."""
    principal = stmt.principal
    if not stmt.is_allow or principal is None:
        return set()
    own = set(inside)
    return {a for a in principal.accounts() if a not in own}


def grants_by_action(doc: Any, action: str) -> list[Statement]:
    """Allow statements of ``doc`` covering ``action``."""
    return [s for s in statements(doc) if s.is_allow and s.matches_action(action)]
