"""Read an AWS Organization from its management account: accounts, OU paths, SCPs. No Django here.

Used by account discovery (``inventory.discovery``), which fills the registry from it. The reads are
few whatever the size of the organisation: one walk of the OU tree (a call per OU), one call per
SCP for its targets, and paginated account lists — never a call per account.

Errors propagate (the caller classifies them), except that SCPs are optional: when the policies
cannot be listed (access denied, or SCPs not enabled) the organisation is still returned, with
``scps_known`` False and every account's ``scps`` empty.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

from botocore.client import BaseClient
from botocore.utils import parse_timestamp

from inventory.aws.calls import paginate
from inventory.aws.errors import Classified, classify
from inventory.aws.permissions import HUB, declare

# Discovery: the hub's own credentials find the management account (DescribeOrganization answers in
# any member account); the read role there (or SKYLEDGER_DISCOVERY_ROLE_ARN) reads the organisation.
CALLS = declare(__name__, "organizations", "DescribeOrganization", principal=HUB) + declare(
    __name__,
    "organizations",
    "DescribeOrganization",
    "ListAccounts",
    "ListAccountsForParent",
    "ListOrganizationalUnitsForParent",
    "ListPolicies",
    "ListRoots",
    "ListTargetsForPolicy",
)

SCP = "SERVICE_CONTROL_POLICY"
DIRECT = "account"  # ScpRef.via for a policy attached to the account itself
MAX_DEPTH = 10  # AWS allows five levels of OUs under the root; stop an endless tree well after


@dataclasses.dataclass(frozen=True)
class ScpRef:
    """One SCP that applies to an account, and where it is attached (OU paths, or "account")."""

    id: str
    name: str
    via: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "via": list(self.via)}


@dataclasses.dataclass(frozen=True)
class OrgAccount:
    """One account as AWS Organizations describes it."""

    id: str
    arn: str
    name: str
    email: str
    status: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED (AWS's State when given, else Status)
    joined_method: str
    joined_at: dt.datetime | None
    ou_path: str  # "Root/Workloads/Prod"; "Root" for an account directly under the root
    parent_id: str
    scps: tuple[ScpRef, ...] = ()


@dataclasses.dataclass(frozen=True)
class Organization:
    """The organisation, read from its management account."""

    id: str
    arn: str
    management_account_id: str
    management_email: str
    feature_set: str
    accounts: tuple[OrgAccount, ...]
    ou_paths: dict[str, str]  # OU or root id -> path
    policies: dict[str, str]  # SCP id -> name
    scps_known: bool = True
    scp_problem: Classified | None = None

    def account(self, account_id: str) -> OrgAccount | None:
        return next((a for a in self.accounts if a.id == account_id), None)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _timestamp(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            moment = dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str) and value:
        try:
            moment = parse_timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return None
    else:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def describe_organization(client: BaseClient) -> dict[str, Any]:
    """``describe_organization``'s Organization (from any member account: AWS allows it)."""
    answer = client.describe_organization()
    organization = answer.get("Organization") if isinstance(answer, dict) else None
    return organization if isinstance(organization, dict) else {}


def _walk_ous(client: BaseClient, roots: Iterable[dict[str, Any]]) -> dict[str, str]:
    """OU and root ids -> their path ("Root/Workloads/Prod"), breadth first from the roots."""
    paths: dict[str, str] = {}
    level: list[tuple[str, str]] = []
    for root in roots:
        root_id = _text(root.get("Id"))
        if root_id:
            paths[root_id] = _text(root.get("Name")) or "Root"
            level.append((root_id, paths[root_id]))
    for _ in range(MAX_DEPTH):
        if not level:
            break
        below: list[tuple[str, str]] = []
        for parent_id, parent_path in level:
            for ou in paginate(
                client, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent_id
            ):
                ou_id = _text(ou.get("Id")) if isinstance(ou, dict) else ""
                if not ou_id or ou_id in paths:  # a cycle or a repeat would never end
                    continue
                name = _text(ou.get("Name")).replace("/", "∕") or ou_id  # a "/" would fake a level
                paths[ou_id] = f"{parent_path}/{name}"
                below.append((ou_id, paths[ou_id]))
        level = below
    return paths


def _account_parents(client: BaseClient, paths: dict[str, str]) -> dict[str, str]:
    """Account id -> parent (root or OU) id, one paginated call per parent."""
    parents: dict[str, str] = {}
    for parent_id in paths:
        for account in paginate(client, "list_accounts_for_parent", "Accounts", ParentId=parent_id):
            account_id = _text(account.get("Id")) if isinstance(account, dict) else ""
            if account_id:
                parents.setdefault(account_id, parent_id)
    return parents


def _policy_targets(client: BaseClient) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(SCP id -> name, target id -> SCP ids attached to it)."""
    names: dict[str, str] = {}
    attached: dict[str, list[str]] = {}
    for policy in paginate(client, "list_policies", "Policies", Filter=SCP):
        policy_id = _text(policy.get("Id")) if isinstance(policy, dict) else ""
        if not policy_id or policy_id in names:
            continue
        names[policy_id] = _text(policy.get("Name")) or policy_id
        for target in paginate(client, "list_targets_for_policy", "Targets", PolicyId=policy_id):
            target_id = _text(target.get("TargetId")) if isinstance(target, dict) else ""
            if target_id:
                attached.setdefault(target_id, []).append(policy_id)
    return names, attached


def _scps_for(
    account_id: str, parent_id: str, paths: dict[str, str], ids_by_path: dict[str, str],
    names: dict[str, str], attached: dict[str, list[str]],
) -> tuple[ScpRef, ...]:  # fmt: skip
    """The SCPs reaching an account: via every OU on its path from the root, and direct."""
    via: dict[str, list[str]] = {}
    path = paths.get(parent_id, "")
    parts = path.split("/") if path else []
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        for policy_id in attached.get(ids_by_path.get(prefix, ""), []):
            via.setdefault(policy_id, []).append(prefix)
    for policy_id in attached.get(account_id, []):
        via.setdefault(policy_id, []).append(DIRECT)
    refs = [
        ScpRef(policy_id, names.get(policy_id, policy_id), tuple(places)) for policy_id, places in via.items()
    ]
    return tuple(sorted(refs, key=lambda ref: (ref.name, ref.id)))


def read_organization(client: BaseClient) -> Organization:
    """The whole organisation, read with ``client`` (Organizations, in the management account).

    Raises what the client raises when the organisation, its roots, OUs or accounts cannot be read.
    """
    organization = describe_organization(client)
    roots = [root for root in paginate(client, "list_roots", "Roots") if isinstance(root, dict)]
    paths = _walk_ous(client, roots)
    ids_by_path = {path: node_id for node_id, path in paths.items()}
    parents = _account_parents(client, paths)
    scps_known, problem = True, None
    try:
        names, attached = _policy_targets(client)
    except Exception as exc:  # noqa: BLE001 (SCPs are optional: the accounts are still worth having)
        names, attached, scps_known, problem = {}, {}, False, classify(exc, "ListPolicies")

    accounts: list[OrgAccount] = []
    seen: set[str] = set()
    for item in paginate(client, "list_accounts", "Accounts"):
        account_id = _text(item.get("Id")) if isinstance(item, dict) else ""
        if not account_id or account_id in seen:
            continue
        seen.add(account_id)
        parent_id = parents.get(account_id, "")
        accounts.append(
            OrgAccount(
                id=account_id,
                arn=_text(item.get("Arn")),
                name=_text(item.get("Name")),
                email=_text(item.get("Email")),
                status=(_text(item.get("State")) or _text(item.get("Status"))).upper(),
                joined_method=_text(item.get("JoinedMethod")),
                joined_at=_timestamp(item.get("JoinedTimestamp")),
                ou_path=paths.get(parent_id, ""),
                parent_id=parent_id,
                scps=_scps_for(account_id, parent_id, paths, ids_by_path, names, attached)
                if scps_known
                else (),
            )
        )
    return Organization(
        id=_text(organization.get("Id")),
        arn=_text(organization.get("Arn")),
        management_account_id=_text(organization.get("MasterAccountId")),
        management_email=_text(organization.get("MasterAccountEmail")),
        feature_set=_text(organization.get("FeatureSet")),
        accounts=tuple(sorted(accounts, key=lambda a: a.id)),
        ou_paths=paths,
        policies=names,
        scps_known=scps_known,
        scp_problem=problem,
    )
