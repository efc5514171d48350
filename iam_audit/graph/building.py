"""Principals from stored IAM data: groups, users, roles and providers with their inline, attached and
group policies, permission boundaries, and the context and caches each principal is evaluated with."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from iam_audit.checks.base import Item
from iam_audit.graph.decisions import GraphDecisions
from iam_audit.graph.nodes import (
    ASSUME_ROLE,
    PolicyRef,
    Principal,
    _data,
    _list,
    _principal_specific,
    _text,
    name_of,
)
from iam_audit.policy.match import substitute_variables
from iam_audit.policy.model import (
    parse_policy,
)


class GraphBuilder(GraphDecisions):
    """Principals from stored IAM data, with their policies, boundary and evaluation context."""

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
