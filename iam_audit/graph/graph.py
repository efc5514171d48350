"""The IAM access graph: who can reach which account, through which roles, with what power.

Nodes are principals — users, roles, groups, SAML/OIDC providers, and parties we only see named in
trust policies (accounts outside the organisation, ``*``, AWS services). An *assume edge* says a
caller can obtain a role's session; it carries the hops that explain it (the group, the policy and
the statement that let the caller call ``sts:AssumeRole``, and the role's trust statement) and the
conditions along the way. An *access path* is a chain of assume edges from a source (depth bounded,
no role twice), ending at a role whose effective permissions are classified.

The AWS rules applied (see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

* an explicit Deny anywhere (identity policies, permission boundary, SCPs, trust policy) wins;
* a caller's account SCPs must allow ``sts:AssumeRole`` at every level — the root, each OU down
  the way, the account itself — (not for the management account), and the target account's SCPs
  limit what the role can then do. A path that the caller's identity policy and the role's trust
  would open but an SCP closes is kept apart, in :attr:`AccessGraph.blocked_paths`, with the SCPs
  named: it is not access, but the security team wants to see what the guardrail stops;
* cross-account, both the caller's identity policy and the role's trust policy must allow; in the
  same account a trust policy naming the caller itself is enough (a trust naming the account root
  delegates to identity policies), though a role caller's permission boundary still applies;
* a trust naming an account outside the organisation (or ``*``) is taken as reachable by anyone in
  that account: we cannot see its policies;
* a trust naming an account's root (or its bare id) can be used by every principal that account
  authorises, including ones created tomorrow: the account root is a source of its own, with a
  path to the role whatever the account's policies say today. When the account was collected, the
  path lists the principals that hold ``sts:AssumeRole`` on the role today (its *holders*, perhaps
  none), and the account's SCPs must allow the call.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from iam_audit.checks.base import Item, Result
from iam_audit.graph.actions import universe
from iam_audit.graph.classify import NONE_CLASS, UNKNOWN_CLASS, Level, PrivilegeClass, classify
from iam_audit.graph.gcpause import gc_paused
from iam_audit.graph.model import EstateIam, ScpPolicy
from iam_audit.policy.conditions import Requirement
from iam_audit.policy.evaluate import Evaluation, Match, evaluate, resolve_conditions
from iam_audit.policy.match import arn_matches, substitute_variables
from iam_audit.policy.model import (
    ALLOW,
    DENY,
    PolicyDoc,
    PrincipalRef,
    Statement,
    account_of,
    load_document,
    parse_policy,
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


# ---------------------------------------------------------------------------------------------- the graph
class AccessGraph:
    """The built graph with its queries. Build with :func:`build_graph`."""

    def __init__(
        self,
        estate: EstateIam,
        *,
        max_depth: int = 4,
        include_service_paths: bool = False,
        max_paths_per_source: int = 20000,
    ) -> None:
        self.estate = estate
        self.org = estate.org
        self.max_depth = max(1, max_depth)
        self.include_service_paths = include_service_paths
        self.max_paths_per_source = max_paths_per_source
        self.principals: dict[str, Principal] = {}
        self.groups: dict[str, Principal] = {}
        self.edges: dict[str, list[AssumeEdge]] = {}
        self.paths: list[Path] = []
        self.blocked_paths: list[Path] = []  # paths an SCP stops (see the module docstring)
        self.blocked_edges: dict[str, list[AssumeEdge]] = {}
        self.truncated_sources: list[str] = []
        self.problems: list[str] = []
        self._by_target: dict[str, list[Path]] = defaultdict(list)
        self._by_source: dict[str, list[Path]] = defaultdict(list)
        self._effective_cache: dict[Any, Effective] = {}
        self._decision_cache: dict[Any, Decision] = {}
        self._trust_cache: dict[Any, tuple[Statement, bool, tuple[Requirement, ...]] | None] = {}
        self._edge_cache: dict[Any, AssumeEdge | None] = {}
        self._sig_ids: dict[Any, int] = {}
        self._prefilter_cache: dict[Any, set[str]] = {}
        self._target_cache: dict[str, tuple[PrivilegeClass, tuple[str, ...]]] = {}
        self._scp_entries: dict[str, tuple[tuple[tuple[PolicyRef, Statement], ...], ...]] = {}
        self._scp_masks: dict[str, tuple[int, int]] = {}
        self._scp_specific: dict[str, bool] = {}
        # trust index: who is named where
        self._trust_by_account: dict[str, set[str]] = defaultdict(set)
        self._trust_by_arn: dict[str, set[str]] = defaultdict(set)
        self._trust_by_session: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._trust_by_id: dict[str, set[str]] = defaultdict(set)
        self._trust_anyone: set[str] = set()
        self._trust_sensitive: set[str] = set()  # roles whose trust depends on the exact caller

    # ------------------------------------------------------------------ building
    def _build_nodes(self) -> None:
        aws_managed: dict[str, Any] = {}
        customer: dict[str, dict[str, Item]] = {}
        for account_id, acct in self.estate.accounts.items():
            table = customer.setdefault(account_id, {})
            for item in acct.policies:
                d = _data(item)
                arn = _text(d.get("Arn")) or item.arn
                table[arn] = item
                if d.get("AwsManaged") or ":iam::aws:policy/" in arn:
                    if d.get("Document") is not None and arn not in aws_managed:
                        aws_managed[arn] = d.get("Document")
        self._aws_managed = aws_managed
        self._customer = customer
        for account_id in sorted(self.estate.accounts):
            acct = self.estate.accounts[account_id]
            for item in acct.groups:
                self._add_group(account_id, item)
            for item in acct.users:
                self._add_user(account_id, item)
            for item in acct.roles:
                self._add_role(account_id, item)
            for item in [*acct.saml_providers, *acct.oidc_providers]:
                d = _data(item)
                arn = _text(d.get("Arn")) or item.arn
                self.principals[arn] = Principal(
                    arn,
                    "federated",
                    name_of(arn) or item.name,
                    account_id,
                    inside=self.estate.inside(account_id),
                    item=item,
                )
        for p in list(self.principals.values()):
            self._prepare(p)

    def _build(self) -> None:
        self._build_nodes()
        for role in [p for p in self.principals.values() if p.kind == "role"]:
            self._index_trust(role)
        self._compute_edges()
        self._enumerate_paths()

    def _policy_ref(
        self, account_id: str, holder: str, arn: str, name: str, kind_hint: str, via: Principal | None
    ) -> PolicyRef:
        item = self._customer.get(account_id, {}).get(arn)
        doc_raw: Any = None
        aws = ":iam::aws:policy/" in arn
        if item is not None:
            doc_raw = _data(item).get("Document")
            aws = aws or bool(_data(item).get("AwsManaged"))
        if doc_raw is None and arn in self._aws_managed:
            doc_raw = self._aws_managed[arn]
        doc = parse_policy(doc_raw) if doc_raw is not None else None
        return PolicyRef(
            name or name_of(arn),
            arn,
            "aws-managed" if aws else kind_hint,
            holder,
            via.arn if via else "",
            via.name if via else "",
            doc,
        )

    def _attached(
        self,
        account_id: str,
        holder: str,
        d: Mapping[str, Any],
        inline_key: str,
        via: Principal | None = None,
    ) -> tuple[list[PolicyRef], list[str]]:
        refs: list[PolicyRef] = []
        missing: list[str] = []
        for entry in _list(d.get(inline_key)):
            if not isinstance(entry, Mapping):
                continue
            doc = parse_policy(entry.get("PolicyDocument"))
            refs.append(
                PolicyRef(
                    _text(entry.get("PolicyName")) or "(inline)",
                    "",
                    "inline",
                    holder,
                    via.arn if via else "",
                    via.name if via else "",
                    doc,
                )
            )
        for entry in _list(d.get("AttachedManagedPolicies")):
            if not isinstance(entry, Mapping):
                continue
            arn = _text(entry.get("PolicyArn"))
            if not arn:
                continue
            ref = self._policy_ref(account_id, holder, arn, _text(entry.get("PolicyName")), "managed", via)
            refs.append(ref)
            if ref.doc is None:
                missing.append(arn)
        return refs, missing

    def _boundary(
        self, account_id: str, holder: str, d: Mapping[str, Any]
    ) -> tuple[PolicyRef | None, list[str]]:
        pb = d.get("PermissionsBoundary")
        if not isinstance(pb, Mapping):
            return None, []
        arn = _text(pb.get("PermissionsBoundaryArn"))
        if not arn:
            return None, []
        ref = self._policy_ref(account_id, holder, arn, "", "managed", None)
        ref = dataclasses.replace(ref, kind="boundary")
        return ref, ([] if ref.doc is not None else [arn])

    def _new_principal(
        self, account_id: str, item: Item, kind: str, name_key: str, id_key: str, inline_key: str
    ) -> tuple[Principal, Mapping[str, Any], list[PolicyRef], list[str]]:
        """What groups, users and roles share: identity fields and their attached and inline policies."""
        d = _data(item)
        arn = _text(d.get("Arn")) or item.arn
        p = Principal(
            arn,
            kind,
            _text(d.get(name_key)) or item.name or name_of(arn),
            account_id,
            inside=self.estate.inside(account_id),
            unique_id=_text(d.get(id_key)),
            path=_text(d.get("Path")) or "/",
            item=item,
        )
        refs, missing = self._attached(account_id, arn, d, inline_key)
        return p, d, refs, missing

    def _add_group(self, account_id: str, item: Item) -> None:
        g, d, refs, missing = self._new_principal(
            account_id, item, "group", "GroupName", "GroupId", "GroupPolicyList"
        )
        arn, name = g.arn, g.name
        g.policies = tuple(refs)
        g.missing_policies = tuple(missing)
        members = [m for m in _list(d.get("Members")) if isinstance(m, str)]
        g.member_names = tuple(members)
        self.groups[f"{account_id}/{name}"] = g
        self.principals[arn] = g

    def _add_user(self, account_id: str, item: Item) -> None:
        u, d, refs, missing = self._new_principal(
            account_id, item, "user", "UserName", "UserId", "UserPolicyList"
        )
        arn, name = u.arn, u.name
        group_names = [g for g in _list(d.get("GroupList")) if isinstance(g, str)]
        # groups may also list this user as a member without the user listing the group
        for g in self.groups.values():
            if g.account_id == account_id and name in g.member_names and g.name not in group_names:
                group_names.append(g.name)
        groups = []
        for gname in group_names:
            grp = self.groups.get(f"{account_id}/{gname}")
            if grp is None:
                continue
            groups.append(grp.arn)
            for ref in grp.policies:
                refs.append(dataclasses.replace(ref, via_group_arn=grp.arn, via_group_name=grp.name))
            missing.extend(grp.missing_policies)
        u.policies = tuple(refs)
        u.group_arns = tuple(groups)
        u.boundary, bmissing = self._boundary(account_id, arn, d)
        u.missing_policies = tuple(missing + bmissing)
        self.principals[arn] = u

    def _add_role(self, account_id: str, item: Item) -> None:
        r, d, refs, missing = self._new_principal(
            account_id, item, "role", "RoleName", "RoleId", "RolePolicyList"
        )
        arn = r.arn
        r.policies = tuple(refs)
        r.boundary, bmissing = self._boundary(account_id, arn, d)
        r.missing_policies = tuple(missing + bmissing)
        r.trust = parse_policy(d.get("AssumeRolePolicyDocument"))
        self.principals[arn] = r

    def _prepare(self, p: Principal) -> None:
        p.entries = tuple((ref, st) for ref in p.policies if ref.doc for st in ref.doc.statements)
        if p.boundary and p.boundary.doc:
            p.boundary_entries = tuple((p.boundary, st) for st in p.boundary.doc.statements)
        # only what is certain about the caller goes in the context: an unknown key keeps its
        # condition as a requirement on the path instead of deciding it wrongly
        ctx: dict[str, str] = {}
        if p.account_id and p.kind not in ("federated", "service", "anyone"):
            ctx["aws:principalaccount"] = p.account_id
        if p.kind in ("user", "role"):
            ctx["aws:principalarn"] = p.arn
            ctx["aws:principaltype"] = "User" if p.kind == "user" else "AssumedRole"
        if p.kind == "user":
            ctx["aws:username"] = p.name
            if p.unique_id:
                ctx["aws:userid"] = p.unique_id
        if self.org.org_id and p.kind not in ("federated", "service"):
            # "anyone" stands for callers outside the organisation (ours are evaluated as themselves)
            ctx["aws:principalorgid"] = self.org.org_id if p.inside else ""
        p.context = ctx
        # decisions are shared by principals with the same policies unless something depends on
        # who exactly the caller is: its own statements, or its account's SCPs (at any level: an
        # OU's "deny unless aws:PrincipalArn is the approver role" must not let the approver's
        # verdict stand for its look-alikes)
        sensitive = any(
            _principal_specific(st) for _, st in (*p.entries, *p.boundary_entries)
        ) or self._scp_principal_specific(p.account_id)
        sig = (
            p.account_id,
            tuple((ref.name, ref.arn, ref.via_group_arn, id(ref.doc)) for ref in p.policies),
            id(p.boundary.doc) if p.boundary and p.boundary.doc else None,
            p.arn if sensitive else "",
        )
        # principals with the same policies share decisions, edges and classes; a small int keeps
        # the many cache keys cheap to hash
        p.sig = (self._sig_ids.setdefault(sig, len(self._sig_ids)),)
        assume = [st for _, st in p.entries if st.is_allow and st.matches_action(ASSUME_ROLE)]
        p.can_assume = bool(assume)
        patterns: list[str] = []
        filterable = True
        for st in assume:
            if st.not_resource or not st.resource_given:
                filterable = False  # cannot pre-filter: evaluate every candidate
                break
            for r in st.resources:
                resolved = substitute_variables(r, ctx) if "${" in r else r
                if resolved is not None:
                    patterns.append(resolved)
        p.assume_patterns = tuple(dict.fromkeys(patterns)) if filterable else None

    # ------------------------------------------------------------------ SCPs
    def _scp_principal_specific(self, account_id: str) -> bool:
        """Some SCP over the account decides by who the caller is (a principal key or a variable)."""
        cached = self._scp_specific.get(account_id)
        if cached is None:
            cached = any(_principal_specific(st) for level in self._scp_levels(account_id) for _, st in level)
            self._scp_specific[account_id] = cached
        return cached

    def _scp_applies(self, account_id: str) -> bool:
        return account_id in self.org.scps and account_id != self.org.management_account_id

    def _scp_levels(self, account_id: str) -> tuple[tuple[tuple[PolicyRef, Statement], ...], ...]:
        if not self._scp_applies(account_id):
            return ()
        levels = self._scp_entries.get(account_id)
        if levels is None:
            built = []
            for level in self.org.scps[account_id]:
                entries: list[tuple[PolicyRef, Statement]] = []
                for scp in level:
                    ref = self._scp_ref(account_id, scp)
                    if ref.doc is not None:
                        entries.extend((ref, st) for st in ref.doc.statements)
                built.append(tuple(entries))
            levels = tuple(built)
            self._scp_entries[account_id] = levels
        return levels

    @staticmethod
    def _scp_ref(account_id: str, scp: ScpPolicy) -> PolicyRef:
        doc = parse_policy(load_document(scp.document))
        return PolicyRef(scp.name or scp.id, scp.id, "scp", account_id, doc=doc)

    def _scp_mask(self, account_id: str) -> tuple[int, int]:
        """(everywhere, anywhere) masks the account's SCPs allow; all actions when none apply."""
        cached = self._scp_masks.get(account_id)
        if cached is not None:
            return cached
        u = universe()
        everywhere = anywhere = u.all_mask
        for level in self._scp_levels(account_id):
            lvl_all = lvl_any = deny = 0
            for _ref, st in level:
                m = _statement_mask(st)
                if st.is_allow:
                    lvl_any |= m
                    lvl_all |= _everywhere_mask(st, m)
                elif st.is_deny and not st.conditions:
                    deny |= _everywhere_mask(st, m)
            everywhere &= lvl_all & ~deny
            anywhere &= lvl_any & ~deny
        self._scp_masks[account_id] = (everywhere, anywhere)
        return everywhere, anywhere

    # ------------------------------------------------------------------ effective permissions
    def _masks_of(
        self, entries: Iterable[tuple[PolicyRef, Statement]], ctx: Mapping[str, str]
    ) -> tuple[int, int, int, int, dict[PolicyRef, int], Requirement | None]:
        allow_all = allow_any = deny_all = mfa = 0
        contrib: dict[PolicyRef, int] = defaultdict(int)
        mfa_req: Requirement | None = None
        for ref, st in entries:
            if st.effect not in (ALLOW, DENY):
                continue
            applies, reqs = resolve_conditions(st, ctx, ref.where(st))
            if not applies:
                continue
            m = _statement_mask(st)
            if st.is_allow:
                allow_any |= m
                contrib[ref] |= m
                allow_all |= _everywhere_mask(st, m)
            else:
                denied = _everywhere_mask(st, m)
                if not denied:
                    continue
                if not reqs:
                    deny_all |= denied
                else:
                    mfa_reqs = [r for r in reqs if r.kind == "mfa"]
                    if mfa_reqs:
                        mfa |= denied
                        mfa_req = mfa_req or mfa_reqs[0]
        return allow_all, allow_any, deny_all, mfa, contrib, mfa_req

    def effective(self, p: Principal) -> Effective:
        """Effective permissions of a user or role (identity ∩ boundary ∩ SCPs, minus denies)."""
        key = (p.sig, p.kind)
        cached = self._effective_cache.get(key)
        if cached is not None:
            return cached
        allow_all, allow_any, deny_all, mfa, contrib, mfa_req = self._masks_of(p.entries, p.context)
        everywhere = allow_all & ~deny_all
        anywhere = allow_any & ~deny_all
        if p.boundary is not None:
            if p.boundary.doc is None:
                everywhere = anywhere = 0  # cannot tell what the boundary allows: claim nothing
            else:
                b_all, b_any, b_deny, _, _, _ = self._masks_of(p.boundary_entries, p.context)
                everywhere &= b_all & ~b_deny
                anywhere &= b_any & ~b_deny
        s_all, s_any = self._scp_mask(p.account_id)
        everywhere &= s_all
        anywhere &= s_any
        if anywhere:
            privilege = classify(everywhere, anywhere)
        elif p.missing_policies:
            privilege = UNKNOWN_CLASS
        else:
            privilege = NONE_CLASS
        contributing = tuple(ref for ref, m in contrib.items() if m & anywhere)
        eff = Effective(everywhere, anywhere, mfa, privilege, contributing, mfa_req)
        self._effective_cache[key] = eff
        return eff

    def privilege(self, arn: str) -> PrivilegeClass:
        p = self.principals.get(arn)
        if p is None or p.kind not in ("user", "role"):
            return NONE_CLASS
        return self.effective(p).privilege

    # ------------------------------------------------------------------ one request
    def decide(self, p: Principal, action: str, resource: str) -> Decision:
        """May principal ``p`` (user or role) call ``action`` on ``resource`` by its identity policies?

        SCPs of its account and its permission boundary apply; resource policies are not
        considered here (trust policies are, in :meth:`_edge`).
        """
        key = (p.sig, action.lower(), resource)
        cached = self._decision_cache.get(key)
        if cached is not None:
            return cached
        ev = evaluate(p.entries, action, resource, p.context, _where)
        result = self._combine(p, ev, action, resource, identity_needed=True)
        self._decision_cache[key] = result
        return result

    def _guards(
        self, p: Principal, action: str, resource: str, boundary_needed: bool
    ) -> tuple[Match | None, tuple[Requirement, ...], str, tuple[str, ...]]:
        """Denies and conditions from the boundary and the SCPs: (denied by, requirements, reason,
        the SCPs that stop the call when SCPs are what stops it)."""
        reqs: list[Requirement] = []
        if p.boundary is not None:
            bev = evaluate(p.boundary_entries, action, resource, p.context, _where)
            if bev.denies:
                return bev.denies[0], (), "explicit deny in the permission boundary", ()
            if boundary_needed:
                if p.boundary.doc is None or not bev.allows:
                    return None, (), "not allowed by the permission boundary", ()
                best = bev.best_allow()
                reqs.extend(best.requirements if best else ())
            reqs.extend(bev.deny_requirements())
        # every level between the root and the account (the root, each OU, the account) must allow
        for level in self._scp_levels(p.account_id):
            sev = evaluate(level, action, resource, p.context, _where)
            if sev.denies:
                names = tuple(
                    dict.fromkeys(m.source.name for m in sev.denies if isinstance(m.source, PolicyRef))
                )
                return sev.denies[0], (), "explicit deny in a service control policy", names
            if not sev.allows:
                # none of the SCPs attached at this level allows the call: they are what stops it
                names = tuple(dict.fromkeys(ref.name for ref, _ in level))
                return None, (), "not allowed by the service control policies", names
            best = sev.best_allow()
            reqs.extend(best.requirements if best else ())
            reqs.extend(sev.deny_requirements())
        return None, tuple(reqs), "", ()

    def _combine(
        self, p: Principal, ev: Evaluation, action: str, resource: str, identity_needed: bool
    ) -> Decision:
        if ev.denies:
            return Decision(False, None, (), ev.denies[0], "explicit deny in an identity policy")
        best = ev.best_allow()
        if identity_needed and best is None:
            return Decision(False, None, (), None, "no identity policy allows it")
        # a role's boundary limits even what a trust policy grants it directly; a user's does not
        boundary_needed = identity_needed or p.kind == "role"
        denied_by, guard_reqs, reason, scps = self._guards(p, action, resource, boundary_needed)
        if denied_by is not None or reason:
            return Decision(False, None, (), denied_by, reason, scps, best if scps else None)
        reqs = (*(best.requirements if best else ()), *ev.deny_requirements(), *guard_reqs)
        return Decision(True, best, tuple(dict.fromkeys(reqs)))

    # ------------------------------------------------------------------ trust
    def _principal_match(self, ref: PrincipalRef, caller: Principal) -> tuple[bool, bool]:
        """(named?, named directly?) for one Principal entry of a trust statement."""
        if ref.kind == "anyone":
            return True, True
        if ref.kind != "aws":
            return False, False
        value = ref.value
        if _ACCOUNT_ID.match(value):
            return value == caller.account_id, False
        m = _ARN.match(value)
        if not m:
            return bool(caller.unique_id) and value == caller.unique_id, True
        account, resource = m.group("account"), m.group("resource")
        if resource == "root":
            return account == caller.account_id, False
        if value == caller.arn:
            return True, True
        if m.group("service") == "sts" and resource.startswith("assumed-role/") and caller.kind == "role":
            role_name = resource.split("/")[1] if resource.count("/") >= 1 else ""
            return account == caller.account_id and role_name == caller.name, True
        return False, False

    def _trust_for(
        self, role: Principal, caller: Principal
    ) -> tuple[Statement, bool, tuple[Requirement, ...]] | None:
        """The trust statement that lets ``caller`` assume ``role`` (and its conditions), or None."""
        sensitive = role.arn in self._trust_sensitive
        key = (role.arn, caller.arn if sensitive else (caller.account_id, caller.kind, caller.inside))
        if key in self._trust_cache:
            return self._trust_cache[key]
        result = self._trust_eval(role, caller)
        self._trust_cache[key] = result
        return result

    def _trust_eval(
        self, role: Principal, caller: Principal
    ) -> tuple[Statement, bool, tuple[Requirement, ...]] | None:
        if role.trust is None:
            return None
        allows: list[tuple[Statement, bool, tuple[Requirement, ...]]] = []
        deny_reqs: list[Requirement] = []
        for st in role.trust.statements:
            if st.effect not in (ALLOW, DENY) or not st.matches_action(ASSUME_ROLE):
                continue
            named = direct = False
            for ref in st.principals:
                n, d = self._principal_match(ref, caller)
                if n:
                    named = True
                    direct = direct or d
            if st.not_principal:
                named, direct = not named, False
            if not named:
                continue
            applies, reqs = resolve_conditions(st, caller.context, f"trust policy {st.label}")
            if not applies:
                continue
            if st.is_deny:
                if not reqs:
                    return None
                deny_reqs.extend(reqs)
            else:
                allows.append((st, direct, reqs))
        if not allows:
            return None
        st, direct, reqs = min(allows, key=lambda a: (not a[1], len(a[2])))
        return st, direct, tuple(dict.fromkeys((*reqs, *deny_reqs)))

    def _index_trust(self, role: Principal) -> None:
        if role.trust is None:
            return
        services: list[str] = []
        for st in role.trust.statements:
            if not st.is_allow:
                continue
            if any(c.name in PRINCIPAL_KEYS for c in st.conditions) or st.not_principal:
                self._trust_sensitive.add(role.arn)
            if st.not_principal:
                self._trust_anyone.add(role.arn)
                continue
            for ref in st.principals:
                if ref.kind == "service":
                    services.append(ref.value)
                elif ref.kind == "anyone":
                    self._trust_anyone.add(role.arn)
                elif ref.kind == "aws":
                    self._index_aws_ref(role, ref.value)
                elif ref.kind == "federated":
                    self._ensure_federated(ref.value)
        role.trusted_services = tuple(dict.fromkeys(services))

    def _index_aws_ref(self, role: Principal, value: str) -> None:
        if _ACCOUNT_ID.match(value):
            self._trust_by_account[value].add(role.arn)
            self._ensure_account_root(value)
            return
        m = _ARN.match(value)
        if not m:
            self._trust_by_id[value].add(role.arn)
            self._trust_sensitive.add(role.arn)
            return
        account, resource = m.group("account"), m.group("resource")
        if resource == "root":
            self._trust_by_account[account].add(role.arn)
            self._ensure_account_root(account)
            return
        self._trust_sensitive.add(role.arn)
        if m.group("service") == "sts" and resource.startswith("assumed-role/"):
            parts = resource.split("/")
            if len(parts) >= 2:
                self._trust_by_session[(account, parts[1])].add(role.arn)
        else:
            self._trust_by_arn[value].add(role.arn)
        self._ensure_party(account, value)

    def _ensure_party(self, account: str, arn: str) -> None:
        """A node for an account (or a principal in it) we did not collect."""
        if not account or account in self.estate.accounts:
            return
        root = f"arn:aws:iam::{account}:root"
        inside = self.estate.inside(account)
        kind = "account" if inside else "external"
        if root not in self.principals:
            p = Principal(root, kind, account, account, inside=inside)
            self._prepare(p)
            self.principals[root] = p
        if arn and arn not in self.principals:
            p = Principal(arn, kind, name_of(arn), account, inside=inside)
            self._prepare(p)
            p.context["aws:principalarn"] = arn
            self.principals[arn] = p

    def _ensure_account_root(self, account: str) -> None:
        """A node for an account whose root a trust names, collected or not.

        A trust in the root delegates to the account's identity policies: every principal it
        authorises, today or tomorrow, can assume the role. The root is therefore a source of its
        own even when the account's users and roles are nodes too.
        """
        if account not in self.estate.accounts:
            self._ensure_party(account, "")
            return
        root = f"arn:aws:iam::{account}:root"
        if root not in self.principals:
            inside = self.estate.inside(account)
            p = Principal(root, "account" if inside else "external", account, account, inside=inside)
            self._prepare(p)
            self.principals[root] = p

    def _ensure_federated(self, value: str) -> None:
        if value in self.principals:
            return
        m = _ARN.match(value)
        account = m.group("account") if m else ""
        p = Principal(
            value,
            "federated",
            name_of(value) if m else value,
            account,
            inside=self.estate.inside(account) if account else False,
        )
        self._prepare(p)
        self.principals[value] = p

    # ------------------------------------------------------------------ edges
    def _candidates(self, caller: Principal) -> set[str]:
        found: set[str] = set()
        found |= self._trust_by_arn.get(caller.arn, set())
        if caller.unique_id:
            found |= self._trust_by_id.get(caller.unique_id, set())
        if caller.kind == "role":
            found |= self._trust_by_session.get((caller.account_id, caller.name), set())
        found |= self._trust_by_account.get(caller.account_id, set())
        found |= self._trust_anyone
        found.discard(caller.arn)
        return found

    def _allowed_by_patterns(self, caller: Principal, arns: Iterable[str]) -> set[str]:
        if not caller.can_assume:
            return set()
        patterns = caller.assume_patterns
        if patterns is None or "*" in patterns:
            return set(arns)
        return {arn for arn in arns if any(arn_matches(p, arn) for p in patterns)}

    def _assume_candidates(self, caller: Principal) -> set[str]:
        """Roles worth a full evaluation for a user or role caller (a superset of the reachable ones)."""
        same = caller.account_id
        # the part shared by every caller of the account with the same assume patterns (thousands
        # of users in the same groups) is filtered once
        key = (same, caller.can_assume, caller.assume_patterns)
        shared = self._prefilter_cache.get(key)
        if shared is None:
            pool = self._trust_by_account.get(same, set()) | self._trust_anyone
            shared = self._allowed_by_patterns(caller, pool)
            shared |= {a for a in self._trust_anyone if self.principals[a].account_id == same}
            self._prefilter_cache[key] = shared
        specific = set(self._trust_by_arn.get(caller.arn, ()))
        if caller.unique_id:
            specific |= self._trust_by_id.get(caller.unique_id, set())
        if caller.kind == "role":
            specific |= self._trust_by_session.get((same, caller.name), set())
        if not specific:
            return shared - {caller.arn}
        named_here = {a for a in specific if self.principals[a].account_id == same}
        out = shared | named_here | self._allowed_by_patterns(caller, specific - named_here)
        out.discard(caller.arn)
        return out

    def _edge(self, caller: Principal, role: Principal) -> AssumeEdge | None:
        trust = self._trust_for(role, caller)
        if trust is None:
            return None
        # callers with the same policies share edges (and their hop objects): thousands of users
        # in the same groups would otherwise each hold a copy
        key = (caller.sig, caller.kind, role.arn, id(trust))
        if caller.kind in ("user", "role") and key in self._edge_cache:
            return self._edge_cache[key]
        edge = self._edge_uncached(caller, role, trust)
        if caller.kind in ("user", "role"):
            self._edge_cache[key] = edge
        return edge

    def _edge_uncached(
        self, caller: Principal, role: Principal, trust: tuple[Statement, bool, tuple[Requirement, ...]]
    ) -> AssumeEdge | None:
        trust_stmt, direct, trust_reqs = trust
        same_account = caller.account_id == role.account_id
        assume_hop = self._assume_hop(role, trust_stmt)
        if caller.kind == "account" and self._scp_applies(caller.account_id):
            # whoever the account authorises, its SCPs must let them call sts:AssumeRole
            denied_by, scp_reqs, reason, scps = self._guards(caller, ASSUME_ROLE, role.arn, False)
            if scps:
                return AssumeEdge(role.arn, (assume_hop,), trust_reqs, direct, scps)
            if denied_by is not None or reason:
                return None
            return AssumeEdge(role.arn, (assume_hop,), tuple(dict.fromkeys((*trust_reqs, *scp_reqs))), direct)
        if caller.kind in ("external", "account", "anyone", "federated", "service"):
            # we cannot see these callers' policies: the trust decides
            return AssumeEdge(role.arn, (assume_hop,), trust_reqs, direct)
        decision = self.decide(caller, ASSUME_ROLE, role.arn)
        if not decision.allowed and not decision.scps:
            if not (same_account and direct) or decision.denied_by is not None:
                return None
            # the trust names the caller: identity policies are not needed, but SCPs and (for a
            # role) the boundary still are
            ev = evaluate(caller.entries, ASSUME_ROLE, role.arn, caller.context, _where)
            decision = self._combine(caller, ev, ASSUME_ROLE, role.arn, identity_needed=False)
            if not decision.allowed and not decision.scps:
                return None
        hops: list[Hop] = []
        m = decision.allow if decision.allowed else decision.would_allow
        if m is not None and isinstance(m.source, PolicyRef):
            ref: PolicyRef = m.source
            if ref.via_group_arn:
                hops.append(Hop("group", ref.via_group_arn, ref.via_group_name, caller.account_id))
            hops.append(Hop("policy", ref.arn, ref.name, caller.account_id, ref.name, ref.kind))
            st = m.statement
            hops.append(
                Hop(
                    "statement",
                    ref.arn,
                    st.label,
                    caller.account_id,
                    ref.name,
                    ref.kind,
                    st.sid,
                    st.index,
                    st.raw,
                )
            )
        hops.append(assume_hop)
        reqs = tuple(dict.fromkeys((*decision.requirements, *trust_reqs)))
        return AssumeEdge(role.arn, tuple(hops), reqs, direct, () if decision.allowed else decision.scps)

    def _assume_hop(self, role: Principal, st: Statement) -> Hop:
        return Hop(
            "assume",
            role.arn,
            role.name,
            role.account_id,
            "trust policy",
            "trust",
            st.sid,
            st.index,
            st.raw,
            self.org.environment(role.account_id),
        )

    def _edges_of(self, caller: Principal) -> list[AssumeEdge]:
        cached = self.edges.get(caller.arn)
        if cached is not None:
            return cached
        out: list[AssumeEdge] = []
        if caller.kind in ("user", "role"):
            # a role is reachable when the caller's identity policies allow assuming it, or (same
            # account only) when its trust names the caller itself: filter by both before the full
            # evaluation, which is what costs
            candidates = self._assume_candidates(caller)
        elif caller.kind == "federated":
            candidates = set(self._federated_roles.get(caller.arn, ()))
        elif caller.kind == "service":
            candidates = set(self._service_roles.get(caller.name, ()))
        elif caller.account_id in self.estate.accounts:
            # the root of a collected account: only trusts naming the account (its users and roles
            # are sources of their own for everything else)
            candidates = set(self._trust_by_account.get(caller.account_id, ()))
        else:
            candidates = self._candidates(caller)
        for arn in sorted(candidates):
            role = self.principals.get(arn)
            if role is None or role.kind != "role":
                continue
            if caller.kind == "federated":
                edge = self._federated_edge(caller, role)
            elif caller.kind == "service":
                edge = self._service_edge(caller, role)
            else:
                edge = self._edge(caller, role)
            if edge is None:
                continue
            if edge.blocked_by:
                self.blocked_edges.setdefault(caller.arn, []).append(edge)
            else:
                out.append(edge)
        self.edges[caller.arn] = out
        return out

    def _federated_edge(self, provider: Principal, role: Principal) -> AssumeEdge | None:
        for st in role.trust.statements if role.trust else ():
            if not st.is_allow or not any(st.matches_action(a) for a in FEDERATED_ACTIONS):
                continue
            if any(r.kind == "federated" and r.value == provider.arn for r in st.principals):
                applies, reqs = resolve_conditions(st, {}, f"trust policy {st.label}")
                if not applies:
                    continue
                hop = self._assume_hop(role, st)
                return AssumeEdge(role.arn, (hop,), reqs, True)
        return None

    def _service_edge(self, service: Principal, role: Principal) -> AssumeEdge | None:
        for st in role.trust.statements if role.trust else ():
            if not st.is_allow or not st.matches_action(ASSUME_ROLE):
                continue
            if any(r.kind == "service" and r.value == service.name for r in st.principals):
                applies, reqs = resolve_conditions(st, {}, f"trust policy {st.label}")
                if not applies:
                    continue
                hop = self._assume_hop(role, st)
                return AssumeEdge(role.arn, (hop,), reqs, True)
        return None

    def _compute_edges(self) -> None:
        self._federated_roles: dict[str, list[str]] = defaultdict(list)
        self._service_roles: dict[str, list[str]] = defaultdict(list)
        for role in [p for p in self.principals.values() if p.kind == "role"]:
            for st in role.trust.statements if role.trust else ():
                if not st.is_allow:
                    continue
                for ref in st.principals:
                    if ref.kind == "federated":
                        self._federated_roles[ref.value].append(role.arn)
                    elif ref.kind == "service":
                        self._service_roles[ref.value].append(role.arn)
        if self.include_service_paths:
            for service in sorted(self._service_roles):
                arn = f"service:{service}"
                if arn not in self.principals:
                    p = Principal(arn, "service", service, "", inside=True)
                    self._prepare(p)
                    self.principals[arn] = p
        if self._trust_anyone and "*" not in self.principals:
            p = Principal("*", "anyone", "anyone (*)", "", inside=False)
            self._prepare(p)
            self.principals["*"] = p
        for arn in sorted(self.principals):
            p = self.principals[arn]
            if p.kind != "group":
                self._edges_of(p)
        # role -> users and roles that may assume it today (the holders listed under an account root)
        self._assumers: dict[str, list[str]] = defaultdict(list)
        for arn in sorted(self.edges):
            if self.principals[arn].kind in ("user", "role"):
                for edge in self.edges[arn]:
                    self._assumers[edge.role_arn].append(arn)

    def holders(self, account_id: str, role_arn: str) -> tuple[str, ...] | None:
        """Principals of ``account_id`` allowed sts:AssumeRole on ``role_arn`` today (None: not collected)."""
        if account_id not in self.estate.accounts:
            return None
        return tuple(
            a for a in self._assumers.get(role_arn, ()) if self.principals[a].account_id == account_id
        )

    # ------------------------------------------------------------------ paths
    def _target_privilege(self, role: Principal) -> tuple[PrivilegeClass, tuple[str, ...]]:
        cached = self._target_cache.get(role.arn)
        if cached is None:
            eff = self.effective(role)
            cached = (eff.privilege, tuple(dict.fromkeys(ref.name for ref in eff.contributing)))
            self._target_cache[role.arn] = cached
        return cached

    def _direct_conditions(self, p: Principal, eff: Effective) -> tuple[Requirement, ...]:
        """A user's own access is "MFA required" when MFA-gated denies cover all of it.

        Actions left ungated are tolerated when they are all IAM / STS actions: that is what the
        enforce-MFA pattern exempts on purpose, so that users can set up their MFA device.
        """
        if eff.mfa_requirement is None:
            return ()
        u = universe()
        ungated = eff.anywhere & ~eff.mfa_gated
        if ungated & ~u.services_mask(("iam", "sts")):
            return ()
        return (eff.mfa_requirement,)

    def _enumerate_paths(self) -> None:
        sources = sorted(
            (p for p in self.principals.values() if p.kind != "group"),
            key=lambda p: (p.kind != "user", p.arn),
        )
        for src in sources:
            count = 0
            if src.kind == "user":
                eff = self.effective(src)
                if eff.privilege.level > Level.NONE:
                    self._add_path(
                        Path(
                            src.arn,
                            src.kind,
                            src.name,
                            src.account_id,
                            (),
                            src.arn,
                            src.name,
                            src.account_id,
                            self.org.environment(src.account_id),
                            eff.privilege,
                            tuple(r.name for r in eff.contributing),
                            self._direct_conditions(src, eff),
                            not src.inside,
                        )
                    )
                    count += 1
            edges = self.edges.get(src.arn) or []
            if src.arn in self.blocked_edges:
                self._add_blocked(src, src, (), (), None)
            if not edges:
                continue
            stack: list[
                tuple[
                    Principal,
                    tuple[Hop, ...],
                    tuple[Requirement, ...],
                    frozenset[str],
                    int,
                    tuple[str, ...] | None,
                ]
            ] = [(src, (), (), frozenset({src.arn}), 0, None)]
            outside = not src.inside
            from_root = src.kind in ("account", "external") and src.arn.endswith(":root")
            while stack:
                node, hops, conds, seen, depth, holders = stack.pop()
                for edge in reversed(self.edges.get(node.arn, ()) if node is not src else edges):
                    if edge.role_arn in seen:
                        continue  # no cycles
                    role = self.principals[edge.role_arn]
                    privilege, grants = self._target_privilege(role)
                    if privilege.level == Level.NONE:
                        continue  # reaching a role that can do nothing is not access
                    new_hops = edge.hops if not hops else hops + edge.hops
                    if not conds:
                        new_conds = edge.requirements
                    elif not edge.requirements:
                        new_conds = conds
                    else:
                        new_conds = tuple(dict.fromkeys(conds + edge.requirements))
                    if count >= self.max_paths_per_source:
                        self.truncated_sources.append(src.arn)
                        stack.clear()
                        break
                    if from_root and node is src:
                        holders = self.holders(src.account_id, role.arn)
                    self._add_path(
                        Path(
                            src.arn,
                            src.kind,
                            src.name,
                            src.account_id,
                            new_hops,
                            role.arn,
                            role.name,
                            role.account_id,
                            self.org.environment(role.account_id),
                            privilege,
                            grants,
                            new_conds,
                            outside,
                            holders,
                        )
                    )
                    count += 1
                    if role.arn in self.blocked_edges:
                        self._add_blocked(src, role, new_hops, new_conds, holders, seen | {role.arn})
                    # only roles that can go further are worth a stack entry (most are dead ends)
                    if depth + 1 < self.max_depth and self.edges.get(role.arn):
                        stack.append((role, new_hops, new_conds, seen | {role.arn}, depth + 1, holders))

    def _add_blocked(
        self,
        src: Principal,
        node: Principal,
        hops: tuple[Hop, ...],
        conds: tuple[Requirement, ...],
        holders: tuple[str, ...] | None,
        seen: frozenset[str] = frozenset(),
    ) -> None:
        """The paths an SCP stops one assume further than ``hops`` (kept apart: not access)."""
        for edge in self.blocked_edges.get(node.arn, ()):
            if edge.role_arn in seen or edge.role_arn == src.arn:
                continue
            role = self.principals[edge.role_arn]
            privilege, grants = self._target_privilege(role)
            if privilege.level == Level.NONE:
                continue
            if node is src and src.kind in ("account", "external") and src.arn.endswith(":root"):
                holders = self.holders(src.account_id, role.arn)
            self.blocked_paths.append(
                Path(
                    src.arn,
                    src.kind,
                    src.name,
                    src.account_id,
                    hops + edge.hops,
                    role.arn,
                    role.name,
                    role.account_id,
                    self.org.environment(role.account_id),
                    privilege,
                    grants,
                    tuple(dict.fromkeys(conds + edge.requirements)),
                    not src.inside,
                    holders,
                    edge.blocked_by,
                )
            )

    def _add_path(self, path: Path) -> None:
        self.paths.append(path)
        self._by_target[path.target_account].append(path)
        self._by_source[path.source_arn].append(path)

    # ------------------------------------------------------------------ queries
    def paths_to(self, account_id: str) -> list[Path]:
        """Every path that ends in ``account_id`` (direct access of its users included)."""
        return list(self._by_target.get(account_id, ()))

    def paths_from(self, principal_arn: str) -> list[Path]:
        """Every path that starts at ``principal_arn``."""
        return list(self._by_source.get(principal_arn, ()))

    def reachable_accounts(self, principal_arn: str) -> dict[str, PrivilegeClass]:
        """Account -> best privilege class reachable from the principal."""
        best: dict[str, PrivilegeClass] = {}
        for path in self._by_source.get(principal_arn, ()):
            cur = best.get(path.target_account)
            if cur is None or path.privilege.level > cur.level:
                best[path.target_account] = path.privilege
        return best

    def principal_summary(self, arn: str) -> dict[str, Any]:
        """What a person wants to know about one principal, as plain data."""
        p = self.principals.get(arn)
        if p is None:
            return {"arn": arn, "known": False}
        d = _data(p.item) if p.item is not None else {}
        out: dict[str, Any] = {
            "arn": p.arn,
            "known": True,
            "kind": p.kind,
            "name": p.name,
            "account_id": p.account_id,
            "environment": self.org.environment(p.account_id) if p.account_id else "",
            "inside_org": p.inside,
            "path": p.path,
        }
        if p.kind == "user":
            keys = [k for k in _list(d.get("AccessKeys")) if isinstance(k, Mapping)]
            out.update(
                mfa=bool(_list(d.get("MFADevices"))),
                console=isinstance(d.get("LoginProfile"), Mapping),
                active_keys=sum(1 for k in keys if _text(k.get("Status")) == "Active"),
                password_last_used=_text(d.get("PasswordLastUsed")) or None,
                groups=[self.principals[g].name for g in p.group_arns if g in self.principals],
            )
        if p.kind == "role":
            raw_last = d.get("RoleLastUsed")
            last: Mapping[str, Any] = raw_last if isinstance(raw_last, Mapping) else {}
            out.update(
                trusted_services=list(p.trusted_services),
                last_used=_text(last.get("LastUsedDate")) or None,
                trust_policy=_jsonable(p.trust.raw) if p.trust else None,
                assumable_by=sorted({path.source_arn for path in self.paths_into_role(p.arn)}),
            )
        if p.kind == "group":
            out["members"] = list(p.member_names)
        out["policies"] = [ref.as_dict() for ref in p.policies]
        out["boundary"] = p.boundary.as_dict() if p.boundary else None
        out["missing_policies"] = list(p.missing_policies)
        if p.kind in ("user", "role"):
            eff = self.effective(p)
            out["privilege"] = eff.privilege.as_dict()
            out["privilege_from"] = [ref.name for ref in eff.contributing]
        reach = self.reachable_accounts(p.arn)
        out["reachable_accounts"] = [
            {"account_id": a, "environment": self.org.environment(a), "privilege": c.name, "label": c.label}
            for a, c in sorted(reach.items())
        ]
        return out

    def findings(
        self,
        *,
        now: Any = None,
        unused_days: int = 90,
        broad_group_min_members: int = 10,
        broad_group_share: float = 0.5,
    ) -> list[Result]:
        """Failing results of the graph checks, flat; ``evidence["check_id"]`` names the check.

        :func:`iam_audit.graph.findings.graph_findings` gives the same results grouped by check id.
        """
        from iam_audit.graph.findings import flatten, graph_findings

        return flatten(
            graph_findings(
                self,
                now=now,
                unused_days=unused_days,
                broad_group_min_members=broad_group_min_members,
                broad_group_share=broad_group_share,
            )
        )

    def paths_into_role(self, role_arn: str) -> Iterator[Path]:
        for path in self._by_target.get(account_of(role_arn), ()):
            if path.target_arn == role_arn and path.hops:
                yield path

    def trust_edges(self, include_same_account: bool = False) -> list[TrustEdge]:
        """Account-level edges: a party (account, outside account, ``*``, provider) reaches an account.

        Built from the first assume hop of each path leaving the source's account (role chains
        contribute their own hops through role-sourced paths).
        """
        groups: dict[tuple[str, str, str], list[Path]] = defaultdict(list)
        for path in self.paths:
            if not path.hops or path.assumes != 1:
                continue
            src = self.principals.get(path.source_arn)
            if src is None:
                continue
            if src.kind in ("user", "role", "account", "external"):
                party = src.account_id
            else:
                party = src.arn
            if not include_same_account and party == path.target_account:
                continue
            groups[
                (party, src.kind if src.kind not in ("user", "role") else "account", path.target_account)
            ].append(path)
        out = []
        for (party, kind, target), paths in sorted(groups.items()):
            best = max((p.privilege for p in paths), key=lambda c: c.level)
            whole = {p.target_arn: p.holders for p in paths if p.from_account_root}
            out.append(
                TrustEdge(
                    party,
                    kind,
                    target,
                    tuple(sorted({p.target_arn for p in paths})),
                    best,
                    any(p.outside_org for p in paths),
                    all(p.mfa_required for p in paths),
                    tuple(sorted(whole.items())),
                )
            )
        return out


def build_principals(estate: EstateIam) -> AccessGraph:
    """Only the principals of an estate with their policies, boundaries and SCPs: no edges, no paths.

    What the per-account checks use to ask "may this principal do X" (:meth:`AccessGraph.decide`,
    :meth:`AccessGraph.effective`) with the same evaluation as the access paths, at a fraction of
    the cost of a full build.
    """
    graph = AccessGraph(estate)
    with gc_paused():
        graph._build_nodes()
    return graph


def build_graph(
    estate: EstateIam,
    *,
    max_depth: int = 4,
    include_service_paths: bool = False,
    max_paths_per_source: int = 20000,
) -> AccessGraph:
    """Build the access graph of an estate: nodes, assume edges, and every path up to ``max_depth`` hops."""
    graph = AccessGraph(
        estate,
        max_depth=max_depth,
        include_service_paths=include_service_paths,
        max_paths_per_source=max_paths_per_source,
    )
    with gc_paused():
        graph._build()
    return graph
