"""The access graph's values: principals (nodes), the policies and statements behind an edge
(:class:`PolicyRef`, :class:`Hop`), assume edges, paths, a principal's effective permissions and
one request's decision, and the small helpers that read stored items and ARNs."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from iam_audit.checks.base import Item
from iam_audit.graph.actions import universe
from iam_audit.graph.classify import PrivilegeClass
from iam_audit.policy.conditions import Requirement
from iam_audit.policy.evaluate import Match
from iam_audit.policy.model import (
    PolicyDoc,
    Statement,
)

ASSUME_ROLE = "sts:AssumeRole"
NO_HOLDERS = "no principal holds sts:AssumeRole today"
FEDERATED_ACTIONS = ("sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity")
# condition keys whose value depends on who the caller is (decided statically per caller)
PRINCIPAL_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principaltype",
        "aws:username",
        "aws:userid",
    }
)

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):(?P<service>[\w-]+):[^:]*:(?P<account>[^:]*):(?P<resource>.*)$", re.S
)


# ---------------------------------------------------------------------------------------------- nodes
@dataclasses.dataclass(frozen=True, slots=True)
class PolicyRef:
    """A policy as attached to a principal (directly or through a group)."""

    name: str
    arn: str  # managed policy ARN; "" for inline policies
    kind: str  # "inline" | "managed" | "aws-managed" | "boundary" | "scp"
    holder_arn: str  # the user / group / role it is attached to (the account for an SCP)
    via_group_arn: str = ""
    via_group_name: str = ""
    doc: PolicyDoc | None = dataclasses.field(default=None, compare=False, repr=False)

    def where(self, stmt: Statement) -> str:
        via = f" (group {self.via_group_name})" if self.via_group_name else ""
        return f"{self.name} {stmt.label}{via}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "kind": self.kind,
            "via_group": self.via_group_name,
            "collected": self.doc is not None,
        }


def _where(source: Any, stmt: Statement) -> str:
    return source.where(stmt) if isinstance(source, PolicyRef) else stmt.label


@dataclasses.dataclass(slots=True, eq=False)
class Principal:
    """A node of the graph."""

    arn: str
    kind: str  # user | role | group | federated | service | account | external | anyone
    name: str
    account_id: str
    inside: bool = True  # in the organisation (or the collected estate when no org is known)
    unique_id: str = ""
    path: str = "/"
    policies: tuple[PolicyRef, ...] = ()  # identity policies, group policies included for users
    boundary: PolicyRef | None = None
    group_arns: tuple[str, ...] = ()
    member_names: tuple[str, ...] = ()  # groups: their users' names (Members)
    trust: PolicyDoc | None = None
    trusted_services: tuple[str, ...] = ()
    item: Item | None = None
    missing_policies: tuple[str, ...] = ()  # attached ARNs whose document was not collected
    # filled while building
    entries: tuple[tuple[PolicyRef, Statement], ...] = ()
    boundary_entries: tuple[tuple[PolicyRef, Statement], ...] = ()
    context: dict[str, str] = dataclasses.field(default_factory=dict)
    sig: tuple[Any, ...] = ()
    can_assume: bool = False
    assume_patterns: tuple[str, ...] | None = ()  # resources its identity policies allow to assume

    @property
    def is_service_linked(self) -> bool:
        return self.kind == "role" and self.path.startswith("/aws-service-role/")


@dataclasses.dataclass(frozen=True, slots=True)
class Hop:
    """One step of a path: a group, a policy, a statement of it, or a role assumed."""

    kind: str  # "group" | "policy" | "statement" | "assume"
    arn: str
    name: str
    account_id: str = ""
    policy_name: str = ""
    policy_kind: str = ""
    sid: str = ""
    index: int = -1
    statement: Mapping[str, Any] | None = dataclasses.field(default=None, compare=False)
    environment: str = ""  # of the account, for assume hops

    @property
    def text(self) -> str:
        if self.kind == "statement":
            return f"{self.policy_name} (statement {self.sid or '#' + str(self.index)})"
        if self.kind == "assume":
            return f"{self.environment or self.account_id}:{self.name}"
        return self.name

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "arn": self.arn,
            "name": self.name,
            "account_id": self.account_id,
        }
        if self.kind == "assume":
            out["environment"] = self.environment
        if self.kind in ("statement", "assume", "policy"):
            out.update(policy_name=self.policy_name, policy_kind=self.policy_kind)
        if self.kind in ("statement", "assume"):
            out.update(sid=self.sid, index=self.index, statement=_jsonable(self.statement))
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclasses.dataclass(frozen=True, slots=True)
class AssumeEdge:
    """A caller can assume ``role_arn``: the hops that say why and the conditions to meet."""

    role_arn: str
    hops: tuple[Hop, ...]  # group/policy/statement hops (may be empty) then the assume hop
    requirements: tuple[Requirement, ...]
    direct_trust: bool  # the trust policy names the caller itself (no identity policy needed)
    blocked_by: tuple[str, ...] = ()  # SCPs that stop the call (the edge is then not access)


@dataclasses.dataclass(frozen=True, slots=True)
class Path:
    """A way for ``source`` to act in ``target_account`` with ``privilege``."""

    source_arn: str
    source_kind: str
    source_name: str
    source_account: str
    hops: tuple[Hop, ...]
    target_arn: str  # the role reached (the source itself for a user's direct access)
    target_name: str
    target_account: str
    target_environment: str
    privilege: PrivilegeClass
    grants: tuple[str, ...]  # policies on the target that give it its power
    conditions: tuple[Requirement, ...]
    outside_org: bool  # the source is outside the organisation
    # For a path from an account root (a trust naming the whole account): the principals of that
    # account allowed sts:AssumeRole on the first role today, perhaps none — the path exists anyway,
    # as the account can authorise anyone tomorrow. None when the source is not an account root or
    # its account was not collected (its policies are unknown).
    holders: tuple[str, ...] | None = None
    # SCPs that stop the last assume of the path: such a path is shown, never counted as access
    blocked_by: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_by)

    @property
    def kind(self) -> str:
        return "assume" if self.assumes else "direct"

    @property
    def from_account_root(self) -> bool:
        """The source is an account as a whole (a trust names its root): anyone it authorises."""
        return self.source_kind in ("account", "external") and self.source_arn.endswith(":root")

    @property
    def assumes(self) -> int:
        return sum(1 for h in self.hops if h.kind == "assume")

    @property
    def mfa_required(self) -> bool:
        return any(r.kind == "mfa" for r in self.conditions)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(h.arn for h in self.hops if h.kind == "assume")

    def describe(self) -> str:
        """One line: "Developer → StagingReadOnly → ... → ReadOnlyAccess (read-only, all services) [MFA required]"."""
        # a policy hop is followed by its statement hop, which names the policy too
        parts = [self.source_name] + [h.text for h in self.hops if h.kind != "policy"]
        grants = ", ".join(self.grants) if self.grants else "no policy"
        parts.append(f"{grants} ({self.privilege.label})")
        line = " → ".join(parts)
        conds = list(dict.fromkeys(r.text for r in self.conditions))
        line += f" [{'; '.join(conds)}]" if conds else ""
        if self.holders is not None:
            line += f" (whole account: {self.holders_text()})"
        if self.blocked_by:
            line += f" — blocked by SCP {', '.join(self.blocked_by)}"
        return line

    def holders_text(self, shown: int = 5) -> str:
        """Who holds sts:AssumeRole on the first role today, in words ("" when not known)."""
        if self.holders is None:
            return ""
        if not self.holders:
            return NO_HOLDERS
        names = ", ".join(name_of(a) for a in self.holders[:shown])
        more = f" (+{len(self.holders) - shown})" if len(self.holders) > shown else ""
        return f"sts:AssumeRole held today by {names}{more}"


@dataclasses.dataclass(frozen=True, slots=True)
class Effective:
    """A principal's effective permissions as masks, with their class."""

    everywhere: int
    anywhere: int
    mfa_gated: int
    privilege: PrivilegeClass
    contributing: tuple[PolicyRef, ...]
    mfa_requirement: Requirement | None


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """Whether a principal may make one request, why, and on what conditions."""

    allowed: bool
    allow: Match | None
    requirements: tuple[Requirement, ...]
    denied_by: Match | None = None
    reason: str = ""
    # not allowed only because of SCPs: the SCPs, and the identity allow that would otherwise grant
    scps: tuple[str, ...] = ()
    would_allow: Match | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TrustEdge:
    """Accounts (or outside parties) whose principals can act in ``target_account``."""

    source: str  # account id, or "*", or "service:ec2.amazonaws.com", or a provider ARN
    source_kind: str
    target_account: str
    roles: tuple[str, ...]
    best_privilege: PrivilegeClass
    outside_org: bool
    mfa_always: bool  # every path along this edge requires MFA
    # roles whose trust names the source account itself (its root), each with the principals there
    # that hold sts:AssumeRole on it today (None: the account was not collected)
    whole_account: tuple[tuple[str, tuple[str, ...] | None], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_kind": self.source_kind,
            "target_account": self.target_account,
            "roles": list(self.roles),
            "best_privilege": self.best_privilege.name,
            "best_privilege_label": self.best_privilege.label,
            "outside_org": self.outside_org,
            "mfa_always": self.mfa_always,
            "whole_account": [
                {"role": role, "holders": None if holders is None else list(holders)}
                for role, holders in self.whole_account
            ],
        }


# ---------------------------------------------------------------------------------------------- helpers
def _data(item: Item) -> Mapping[str, Any]:
    return item.data if isinstance(item.data, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def name_of(arn: str) -> str:
    m = _ARN.match(arn or "")
    if not m:
        return arn
    return m.group("resource").rsplit("/", 1)[-1]


def _principal_specific(stmt: Statement) -> bool:
    """The statement's verdict depends on the exact caller (policy variables, principal keys)."""
    return stmt.has_variables or any(c.name in PRINCIPAL_KEYS for c in stmt.conditions)


def _statement_mask(stmt: Statement) -> int:
    u = universe()
    m = u.patterns_mask(stmt.actions)
    return u.all_mask & ~m if stmt.not_action else m


def _everywhere_mask(stmt: Statement, mask: int) -> int:
    """The part of a statement's action mask it grants on *every* resource of the action's service."""
    scope = stmt.resource_scope()
    if scope is True:
        return mask
    if not scope:
        return 0
    return mask & universe().services_mask(scope)
