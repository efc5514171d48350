"""The IAM principals of one account with every identity-policy statement that applies to each.

Used by the IAM checks (admin, privilege escalation, MFA-gated policies...). It joins users to their
groups and attached managed policies to their documents (``iam:policy`` items), within one account
only; the cross-account access graph lives in iam_audit/graph/. No Django.

Whether a principal may do something ("is it an administrator", "may it assume any role") is
decided by the access graph's evaluation (:func:`iam_audit.graph.graph.build_principals`), the one
the access paths use: explicit denies, NotAction / NotResource, conditions, permissions boundaries
and the account's SCPs. This module keeps the statements as written for the evidence. Conditional
denies are not subtracted (a conditional deny may not apply); resource policies are not considered;
the SCPs of a snapshot come as one list, so an allow-list SCP at one level counts for every level
(lenient: the finding errs towards "may").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from iam_audit.checks.base import Item, Snapshot
from iam_audit.checks.common import as_dict, dicts, text
from iam_audit.policy.grants import grants_full_admin
from iam_audit.policy.model import Statement, statements

# AWS-managed policies whose content is fixed and known, used only when the snapshot lacks the
# document (the collector stores attached AWS-managed policies, but a partial run may not).
_KNOWN_AWS_DOCUMENTS: dict[str, dict[str, Any]] = {
    "AdministratorAccess": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    },
}
SERVICE_LINKED_PATH = "/aws-service-role/"
IAM_TYPES = ("iam:user", "iam:group", "iam:role", "iam:policy")

if TYPE_CHECKING:
    from iam_audit.graph.graph import AccessGraph


def aws_managed_name(arn: str) -> str | None:
    """``"AdministratorAccess"`` for ``arn:aws:iam::aws:policy/AdministratorAccess`` (any path,
    any partition); None for a customer-managed policy ARN."""
    if not isinstance(arn, str) or ":iam::aws:policy/" not in arn:
        return None
    return arn.rsplit("/", 1)[-1] or None


@dataclasses.dataclass(frozen=True, slots=True)
class PolicySource:
    """Where a statement comes from."""

    kind: str  # "inline" | "managed" | "group-inline" | "group-managed" | "boundary"
    name: str
    arn: str = ""
    group: str = ""
    aws_managed: bool = False
    assumed: bool = False  # the document was not collected; a known AWS policy's text was used

    def describe(self) -> str:
        """``"inline policy X"`` / ``"AWS managed policy X via group G"``."""
        owner = "AWS managed" if self.aws_managed else "customer managed"
        base = f"inline policy {self.name}" if self.kind.endswith("inline") else f"{owner} policy {self.name}"
        return base + (f" via group {self.group}" if self.group else "")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.name, "policy_kind": self.kind}
        if self.arn:
            out["policy_arn"] = self.arn
        if self.group:
            out["via_group"] = self.group
        if self.assumed:
            out["note"] = "document not collected; AWS's published document was used"
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """One statement of one policy applying to a principal."""

    source: PolicySource
    statement: Statement

    def evidence(self) -> dict[str, Any]:
        """The policy it comes from, the statement's index/Sid and the statement as written."""
        return {**self.source.as_dict(), **self.statement.evidence()}


@dataclasses.dataclass
class Principal:
    """A user, role or group with every statement that applies to it."""

    item: Item
    kind: str  # "user" | "role" | "group"
    grants: list[Grant]
    unknown_policies: list[PolicySource]
    boundary: PolicySource | None = None
    boundary_statements: list[Statement] | None = None  # None: no boundary, or document unknown
    groups: list[str] = dataclasses.field(default_factory=list)
    # the same principal in the access graph's evaluation (None: not evaluated there)
    graph: AccessGraph | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def arn(self) -> str:
        return self.item.arn

    @property
    def name(self) -> str:
        return text(self.item.name or self.item.resource_id, 120)

    @property
    def service_linked(self) -> bool:
        return str(as_dict(self.item.data).get("Path", "")).startswith(SERVICE_LINKED_PATH)

    def boundary_allows(self, action: str, resource: str = "*") -> bool | None:
        """True when no boundary or the boundary allows; None when the boundary is unknown."""
        if self.boundary is None:
            return True
        if self.boundary_statements is None:
            return None
        allowed = any(
            s.is_allow and s.matches_action(action) and s.matches_resource(resource)
            for s in self.boundary_statements
        )
        denied = any(
            s.is_deny and not s.conditions and s.matches_action(action) and s.matches_resource(resource)
            for s in self.boundary_statements
        )
        return allowed and not denied

    def denial(self, action: str, resource: str = "*") -> Grant | None:
        """An unconditional Deny covering ``action`` on ``resource``."""
        for g in self.grants:
            s = g.statement
            if s.is_deny and not s.conditions and s.matches_action(action) and s.matches_resource(resource):
                return g
        return None

    def allows(self, action: str, resource: str | None = "*") -> list[Grant]:
        """The Allow grants for ``action`` on ``resource`` (``None``: on some resource, whichever);
        empty when an unconditional Deny or a known permissions boundary removes it."""
        found = [
            g
            for g in self.grants
            if g.statement.is_allow
            and g.statement.matches_action(action)
            and (resource is None or g.statement.matches_resource(resource))
        ]
        where = "*" if resource is None else resource
        if not found or self.denial(action, where) is not None:
            return []
        if self.evaluated_allows(action, resource) is False:
            return []
        if resource is None:
            if (
                self.boundary is not None
                and self.boundary_statements is not None
                and not any(s.is_allow and s.matches_action(action) for s in self.boundary_statements)
            ):
                return []
        elif self.boundary_allows(action, resource) is False:
            return []
        return found

    def _node(self) -> Any:
        if self.graph is None:
            return None
        return self.graph.principals.get(self.arn) or self.graph.principals.get(
            str(as_dict(self.item.data).get("Arn") or "")
        )

    def evaluated_allows(self, action: str, resource: str | None = "*") -> bool | None:
        """The full evaluation's answer (None: not evaluated): may the principal call ``action`` on
        ``resource`` (``None``: on some resource)? Denies (NotAction included), boundary and SCPs apply."""
        node = self._node()
        if node is None:
            return None
        from iam_audit.graph.actions import universe

        if resource is None:
            bits = universe().patterns_mask((action.lower(),))
            if not bits:
                return None  # an action the action database does not know: no verdict
            return bool(self.graph.effective(node).anywhere & bits) if self.graph is not None else None
        if self.graph is None:
            return None
        return self.graph.decide(node, action, resource).allowed

    def is_administrator(self) -> bool | None:
        """Whether the full evaluation classifies the principal as an administrator (None: not evaluated)."""
        node = self._node()
        if node is None or self.graph is None:
            return None
        from iam_audit.graph.classify import Level

        return self.graph.effective(node).privilege.level >= Level.ADMINISTRATOR

    def admin_grants(self) -> list[Grant]:
        """Grants of ``*`` on ``*`` that leave the principal an administrator once every Deny
        (NotAction included), the permissions boundary and the SCPs are applied; else none."""
        found = [g for g in self.grants if grants_full_admin(g.statement)]
        if not found:
            return []
        if self.boundary_allows("*", "*") is False or self.denial("*", "*") is not None:
            return []
        if self.is_administrator() is False:
            return []
        return found


class IamView:
    """Users, roles and groups of a snapshot with their applicable statements."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.policies: dict[str, Item] = {}
        for item in snap.of("iam:policy"):
            arn = as_dict(item.data).get("Arn") or item.arn
            if isinstance(arn, str):
                self.policies[arn] = item
        self.group_items: dict[str, Item] = {}
        for item in snap.of("iam:group"):
            name = as_dict(item.data).get("GroupName") or item.name
            if isinstance(name, str):
                self.group_items[name] = item
        self.graph = _evaluation(snap)
        self.users = [self._principal(i, "user") for i in snap.of("iam:user")]
        self.roles = [self._principal(i, "role") for i in snap.of("iam:role")]
        self.groups = [self._principal(i, "group") for i in snap.of("iam:group")]

    def policy_document(self, arn: str) -> tuple[Any, bool] | None:
        """(document, assumed) for a managed policy ARN, or None when unknown."""
        item = self.policies.get(arn)
        if item is not None and as_dict(item.data).get("Document") is not None:
            return as_dict(item.data).get("Document"), False
        name = aws_managed_name(arn)
        if name in _KNOWN_AWS_DOCUMENTS:
            return _KNOWN_AWS_DOCUMENTS[name], True
        return None

    def _attached(
        self, data: Mapping[str, Any], group: str, grants: list[Grant], unknown: list[PolicySource]
    ) -> None:
        for key in ("UserPolicyList", "RolePolicyList", "GroupPolicyList"):
            for p in dicts(data.get(key)):
                kind = "group-inline" if group else "inline"
                src = PolicySource(kind, text(p.get("PolicyName"), 200), group=group)
                grants.extend(Grant(src, s) for s in statements(p.get("PolicyDocument")))
        for p in dicts(data.get("AttachedManagedPolicies")):
            arn = p.get("PolicyArn")
            if not isinstance(arn, str):
                continue
            kind = "group-managed" if group else "managed"
            name = text(p.get("PolicyName") or arn.rsplit("/", 1)[-1], 200)
            found = self.policy_document(arn)
            src = PolicySource(
                kind, name, arn, group, aws_managed_name(arn) is not None, bool(found and found[1])
            )
            if found is None:
                unknown.append(src)
                continue
            grants.extend(Grant(src, s) for s in statements(found[0]))

    def _principal(self, item: Item, kind: str) -> Principal:
        data = as_dict(item.data)
        grants: list[Grant] = []
        unknown: list[PolicySource] = []
        self._attached(data, "", grants, unknown)
        groups: list[str] = []
        if kind == "user":
            for g in data.get("GroupList") or []:
                name = g.get("GroupName") if isinstance(g, Mapping) else g
                if not isinstance(name, str):
                    continue
                groups.append(name)
                group_item = self.group_items.get(name)
                if group_item is not None:
                    self._attached(as_dict(group_item.data), name, grants, unknown)
        boundary = None
        boundary_statements = None
        b_arn = as_dict(data.get("PermissionsBoundary")).get("PermissionsBoundaryArn")
        if isinstance(b_arn, str) and b_arn:
            boundary = PolicySource(
                "boundary", b_arn.rsplit("/", 1)[-1], b_arn, aws_managed=aws_managed_name(b_arn) is not None
            )
            found = self.policy_document(b_arn)
            boundary_statements = statements(found[0]) if found else None
        return Principal(item, kind, grants, unknown, boundary, boundary_statements, groups, self.graph)

    def group(self, name: str) -> Principal | None:
        """The group principal called ``name``."""
        return next(
            (g for g in self.groups if g.item.name == name or as_dict(g.item.data).get("GroupName") == name),
            None,
        )


def _evaluation(snap: Snapshot) -> AccessGraph:
    """The account's principals in the access graph's evaluation, with the SCPs that apply to it.

    Built once per snapshot: several checks (admin, assume-any-role, escalation...) ask it.
    """
    cached = getattr(snap, "_iam_evaluation", None)
    if cached is not None:
        return cached
    graph = _build_evaluation(snap)
    setattr(snap, "_iam_evaluation", graph)  # noqa: B010 (a cache, not a field of the snapshot)
    return graph


def _build_evaluation(snap: Snapshot) -> AccessGraph:
    from iam_audit.graph.graph import build_principals
    from iam_audit.graph.model import from_items

    account_id = snap.account.account_id
    items = [i for t in IAM_TYPES for i in snap.of(t)]
    known = {str(as_dict(i.data).get("Arn") or i.arn) for i in snap.of("iam:policy")}
    for name, document in _KNOWN_AWS_DOCUMENTS.items():
        # the published text stands in for an AWS-managed policy the snapshot lacks, as above
        arn = f"arn:{snap.account.partition}:iam::aws:policy/{name}"
        if arn not in known:
            data = {"Arn": arn, "PolicyName": name, "AwsManaged": True, "Document": document}
            items.append(Item("iam:policy", arn, name, name, "global", {}, data))
    scps = [{"Id": pid, "Name": name, "Content": doc} for pid, name, doc in snap.org.scps]
    estate = from_items(
        {account_id: items},
        {account_id: snap.account.environment},
        snap.org.member_account_ids,
        snap.org.management_account_id,
        {account_id: scps} if scps else None,
        org_id=snap.org.org_id,
    )
    return build_principals(estate)
