"""The IAM principals of one account with every identity-policy statement that applies to each.

Used by the IAM checks (admin, privilege escalation, MFA-gated policies...). It joins users to their
groups and attached managed policies to their documents (``iam:policy`` items), within one account
only; the cross-account access graph lives in iam_audit/graph/. No Django.

Approximations, on purpose and stated in evidence where they matter: conditional Deny statements are
not subtracted (a conditional deny may not apply), SCPs and resource policies are not considered, and
a permissions boundary is honoured when its document is in the snapshot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from iam_audit.checks.base import Item, Snapshot
from iam_audit.checks.common import as_dict, dicts, text
from iam_audit.checks.policy import (
    Statement,
    allows_action,
    covers_resource,
    grants_full_admin,
    statements,
)

# AWS-managed policies whose content is fixed and known, used only when the snapshot lacks the
# document (the collector stores attached AWS-managed policies, but a partial run may not).
_KNOWN_AWS_DOCUMENTS: dict[str, dict[str, Any]] = {
    "AdministratorAccess": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    },
}
SERVICE_LINKED_PATH = "/aws-service-role/"


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
            s.allow and allows_action(s, action) and covers_resource(s, resource)
            for s in self.boundary_statements
        )
        denied = any(
            s.deny and not s.conditions and allows_action(s, action) and covers_resource(s, resource)
            for s in self.boundary_statements
        )
        return allowed and not denied

    def denial(self, action: str, resource: str = "*") -> Grant | None:
        """An unconditional Deny covering ``action`` on ``resource``."""
        for g in self.grants:
            s = g.statement
            if s.deny and not s.conditions and allows_action(s, action) and covers_resource(s, resource):
                return g
        return None

    def allows(self, action: str, resource: str | None = "*") -> list[Grant]:
        """The Allow grants for ``action`` on ``resource`` (``None``: on some resource, whichever);
        empty when an unconditional Deny or a known permissions boundary removes it."""
        found = [
            g
            for g in self.grants
            if g.statement.allow
            and allows_action(g.statement, action)
            and (resource is None or covers_resource(g.statement, resource))
        ]
        where = "*" if resource is None else resource
        if not found or self.denial(action, where) is not None:
            return []
        if resource is None:
            if (
                self.boundary is not None
                and self.boundary_statements is not None
                and not any(s.allow and allows_action(s, action) for s in self.boundary_statements)
            ):
                return []
        elif self.boundary_allows(action, resource) is False:
            return []
        return found

    def admin_grants(self) -> list[Grant]:
        """Grants of ``*`` on ``*``, unless an unconditional Deny or a known boundary cuts them."""
        found = [g for g in self.grants if grants_full_admin(g.statement)]
        if not found:
            return []
        if self.boundary_allows("*", "*") is False or self.denial("*", "*") is not None:
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
        return Principal(item, kind, grants, unknown, boundary, boundary_statements, groups)

    def group(self, name: str) -> Principal | None:
        """The group principal called ``name``."""
        return next(
            (g for g in self.groups if g.item.name == name or as_dict(g.item.data).get("GroupName") == name),
            None,
        )
