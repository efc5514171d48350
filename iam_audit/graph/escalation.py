"""Privilege-escalation routes, as published research describes them.

The methods and their action sets come from cloudsplaining's ``PRIVILEGE_ESCALATION_METHODS``
(Spencer Gietzen's Rhino Security Labs research, extended with DataDog's pathfinding.cloud paths),
and each has a write-up link in ``PRIVILEGE_ESCALATION_PATHFINDING_PATHS``. A method is open to a
principal when every one of its actions is allowed to it on every resource — cloudsplaining's own
rule — or, for the actions that act on the caller itself (attach or put a policy on one's own user,
role or group, add oneself to a group, rewrite one's own trust policy), allowed on that resource.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from cloudsplaining.shared.constants import (
    PRIVILEGE_ESCALATION_GLOSSARY_URL,
    PRIVILEGE_ESCALATION_METHODS,
    PRIVILEGE_ESCALATION_PATHFINDING_PATHS,
)

from iam_audit.graph.actions import universe

# Actions whose escalation works on the caller itself: (action, resource kind) where the kind says
# which ARN to try — the caller's own ARN, or each of its groups.
SELF_TARGETED: dict[str, str] = {
    "iam:attachuserpolicy": "self-user",
    "iam:putuserpolicy": "self-user",
    "iam:attachrolepolicy": "self-role",
    "iam:putrolepolicy": "self-role",
    "iam:updateassumerolepolicy": "self-role",
    "iam:attachgrouppolicy": "own-group",
    "iam:putgrouppolicy": "own-group",
    "iam:addusertogroup": "own-group",
}


@dataclasses.dataclass(frozen=True, slots=True)
class EscalationMethod:
    """One published method: a name, the actions it needs, a link to its write-up."""

    name: str
    actions: tuple[str, ...]  # lower-case
    reference: str
    mask: int = 0  # all its actions
    hard_mask: int = 0  # the actions that must be allowed on every resource (no self-targeted fallback)


@functools.lru_cache(maxsize=256)
def _method_mask(actions: tuple[str, ...]) -> int:
    return universe().mask_of_actions(actions)


@functools.cache
def methods() -> tuple[EscalationMethod, ...]:
    """Every method cloudsplaining knows, in its order."""
    out = []
    for name, actions in PRIVILEGE_ESCALATION_METHODS.items():
        link = PRIVILEGE_ESCALATION_PATHFINDING_PATHS.get(name) or PRIVILEGE_ESCALATION_GLOSSARY_URL
        lowered = tuple(a.lower() for a in actions)
        hard = tuple(a for a in lowered if a not in SELF_TARGETED)
        out.append(EscalationMethod(name, lowered, link, _method_mask(lowered), _method_mask(hard)))
    return tuple(out)


@dataclasses.dataclass(frozen=True, slots=True)
class EscalationRoute:
    """A method open to a principal, and where each action comes from."""

    method: EscalationMethod
    on_self: tuple[str, ...]  # the actions only allowed on the caller itself (ARNs tried)


def open_methods(
    everywhere: int,
    allowed_on: Callable[[str, str], bool],
    self_resources: dict[str, tuple[str, ...]],
    anywhere: int | None = None,
) -> list[EscalationRoute]:
    """Methods whose actions are all available.

    ``everywhere`` is the mask of actions allowed on every resource, ``anywhere`` (optional, a
    shortcut) those allowed on some resource; ``allowed_on(action, arn)`` answers for one resource;
    ``self_resources`` maps "self-user" / "self-role" / "own-group" to the ARNs to try for the
    self-targeted actions.
    """
    u = universe()
    routes: list[EscalationRoute] = []
    for method in methods():
        if method.hard_mask & ~everywhere:
            continue  # one bit test rules out most methods for most principals
        missing = method.mask & ~everywhere
        on_self: list[str] = []
        ok = True
        for action in method.actions:
            bit = u.bit(action)
            if bit and not (missing & bit):
                continue
            kind = SELF_TARGETED.get(action)
            if not kind or (anywhere is not None and bit and not (anywhere & bit)):
                ok = False
                break
            arns = self_resources.get(kind, ())
            hit = next((arn for arn in arns if allowed_on(action, arn)), None)
            if hit is None:
                ok = False
                break
            on_self.append(f"{action} on {hit}")
        if ok:
            routes.append(EscalationRoute(method, tuple(on_self)))
    return routes
