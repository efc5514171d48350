"""AWS Organizations: the organisation, its accounts, OUs and SCPs (global, management account only).

No Django here. From any other account there is nothing to collect: the types are complete and empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, error_code, parse_policy, record, with_unavailable
from inventory.records import GLOBAL_REGION, Coverage, Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(
    __name__,
    "organizations",
    "DescribeOrganization",
    "DescribePolicy",
    "ListAccounts",
    "ListAccountsForParent",
    "ListOrganizationalUnitsForParent",
    "ListPolicies",
    "ListRoots",
    "ListTargetsForPolicy",
)

_SCP = "SERVICE_CONTROL_POLICY"
_TYPES = ("organizations:organization", "organizations:account", "organizations:ou", "organizations:policy")


def _kind(classified: Any) -> str:
    # Guard.fail answers None for an operation already known to be unimplemented
    return str(classified.kind.value) if classified is not None else "not-implemented"


@register
class OrganizationsCollector:
    """The organisation seen from its management account."""

    service: ClassVar[str] = "organizations"
    scope: ClassVar[str] = "global"
    types: ClassVar[tuple[str, ...]] = _TYPES

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield the organisation, its accounts (with their path and SCPs), OUs and SCPs."""
        g = Guard(ctx, self.service)
        org_client = g.client()
        try:
            organization = g.call(org_client, "describe_organization").get("Organization") or {}
        except Exception as exc:
            if error_code(exc) == "AWSOrganizationsNotInUseException":
                self._nothing(ctx)
                return
            g.fail(_TYPES, exc, "DescribeOrganization")
            return
        if organization.get("MasterAccountId") != ctx.account_id:
            self._nothing(ctx)  # a member account: the management account is where it is collected
            return

        try:
            roots = list(g.items(org_client, "list_roots", "Roots"))
        except Exception as exc:
            g.fail(_TYPES, exc, "ListRoots")
            return
        yield record(
            ctx,
            "organizations:organization",
            organization.get("Arn", ""),
            organization.get("Id", ""),
            {**organization, "Roots": roots},
            name=organization.get("Id", ""),
            region=GLOBAL_REGION,
        )

        # the tree: parent id -> (id, name, type) path from the root, and OU records
        paths: dict[str, list[dict[str, str]]] = {}
        ous: list[tuple[dict[str, Any], str, list[dict[str, str]]]] = []
        tree_problem = ""  # the error kind when the OU tree could not be read whole
        try:
            queue: list[tuple[str, list[dict[str, str]]]] = []
            for root in roots:
                root_path = [{"Id": root.get("Id", ""), "Name": root.get("Name", "Root"), "Type": "ROOT"}]
                paths[root.get("Id", "")] = root_path
                queue.append((root.get("Id", ""), root_path))
            while queue:
                parent_id, parent_path = queue.pop(0)
                for ou in g.items(
                    org_client,
                    "list_organizational_units_for_parent",
                    "OrganizationalUnits",
                    ParentId=parent_id,
                ):
                    ou_path = [
                        *parent_path,
                        {"Id": ou.get("Id", ""), "Name": ou.get("Name", ""), "Type": "ORGANIZATIONAL_UNIT"},
                    ]
                    paths[ou.get("Id", "")] = ou_path
                    ous.append((ou, parent_id, ou_path))
                    queue.append((ou.get("Id", ""), ou_path))
        except Exception as exc:
            tree_problem = _kind(g.fail("organizations:ou", exc, "ListOrganizationalUnitsForParent"))

        for ou, parent_id, ou_path in ous:
            yield record(
                ctx,
                "organizations:ou",
                ou.get("Arn", ""),
                ou.get("Id", ""),
                {**ou, "ParentId": parent_id, "Path": "/".join(p["Name"] for p in ou_path)},
                name=ou.get("Name", ""),
                region=GLOBAL_REGION,
            )

        # SCPs with their targets; which SCPs reach each account follows from the targets
        targets_of: dict[str, list[str]] = {}  # target id -> policy ids
        policies_problem = ""  # the error kind when some SCP's targets are unknown
        try:
            for summary in g.items(org_client, "list_policies", "Policies", Filter=_SCP):
                policy, targets = self._policy(ctx, g, org_client, summary)
                if targets is None:  # cannot say which accounts it reaches
                    policies_problem = policy.data.get("Unavailable", {}).get("Targets", "other")
                for target in targets or []:
                    targets_of.setdefault(target.get("TargetId", ""), []).append(summary.get("Id", ""))
                yield policy
        except Exception as exc:
            policies_problem = _kind(g.fail("organizations:policy", exc, "ListPolicies"))

        yield from self._accounts(ctx, g, org_client, paths, targets_of, tree_problem, policies_problem)

    def _nothing(self, ctx: CollectContext) -> None:
        for type_ in _TYPES:
            ctx.mark(type_, Coverage.OK)

    def _policy(
        self, ctx: CollectContext, g: Guard, org_client: Any, summary: dict[str, Any]
    ) -> tuple[Record, list[dict[str, Any]] | None]:
        policy_id = summary.get("Id", "")
        unavailable: dict[str, str] = {}
        described = g.extra(
            "organizations:policy",
            unavailable,
            "Content",
            lambda: g.call(org_client, "describe_policy", PolicyId=policy_id).get("Policy") or {},
            resource=policy_id,
            operation="DescribePolicy",
        )
        content = parse_policy((described or {}).get("Content")) if described is not None else None
        targets = g.extra(
            "organizations:policy",
            unavailable,
            "Targets",
            lambda: [
                {"TargetId": t.get("TargetId"), "Type": t.get("Type"), "Name": t.get("Name")}
                for t in g.items(org_client, "list_targets_for_policy", "Targets", PolicyId=policy_id)
            ],
            resource=policy_id,
            operation="ListTargetsForPolicy",
        )
        item = {**((described or {}).get("PolicySummary") or summary), "Content": content, "Targets": targets}
        return (
            record(
                ctx,
                "organizations:policy",
                item.get("Arn", ""),
                policy_id,
                with_unavailable(item, unavailable),
                name=item.get("Name", ""),
                region=GLOBAL_REGION,
            ),
            targets,
        )

    def _accounts(
        self,
        ctx: CollectContext,
        g: Guard,
        org_client: Any,
        paths: dict[str, list[dict[str, str]]],
        targets_of: dict[str, list[str]],
        tree_problem: str,
        policies_problem: str,
    ) -> Iterator[Record]:
        type_ = "organizations:account"
        with g.listing(type_, "ListAccounts"):
            accounts = list(g.items(org_client, "list_accounts", "Accounts"))
            # parent of each account, one listing per parent (not one call per account)
            parent_of: dict[str, str] = {}
            parents_problem = tree_problem
            if not tree_problem:
                try:
                    for parent_id in paths:
                        for child in g.items(
                            org_client, "list_accounts_for_parent", "Accounts", ParentId=parent_id
                        ):
                            parent_of[child.get("Id", "")] = parent_id
                except Exception as exc:
                    parents_problem = g.note(type_, exc, "ListAccountsForParent")
            for account in accounts:
                account_id = account.get("Id", "")
                unavailable: dict[str, str] = {}
                parent_path = paths.get(parent_of.get(account_id, "")) if not parents_problem else None
                if parent_path is None:
                    unavailable["ParentPath"] = parents_problem or "other"
                policy_ids: list[str] | None = None
                if parent_path is not None and not policies_problem:
                    seen: list[str] = []
                    for target in [account_id, *(p["Id"] for p in parent_path)]:
                        for policy_id in targets_of.get(target, []):
                            if policy_id not in seen:
                                seen.append(policy_id)
                    policy_ids = seen
                else:
                    unavailable["PolicyIds"] = unavailable.get("ParentPath") or policies_problem
                data = {**account, "ParentPath": parent_path, "PolicyIds": policy_ids}
                yield record(
                    ctx,
                    type_,
                    account.get("Arn", ""),
                    account_id,
                    with_unavailable(data, unavailable),
                    name=account.get("Name", ""),
                    region=GLOBAL_REGION,
                )
