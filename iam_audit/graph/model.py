"""The graph's input: every account's IAM items plus what is known about the organisation.

Plain dataclasses, built from stored :class:`~iam_audit.checks.base.Item` s (whose ``data`` shapes
are documented in :mod:`inventory.resource_types`) by :func:`from_items`. SCPs are given per
account as *levels* (root, each OU on the way down, the account itself): an action must be allowed
by some SCP at every level and denied by none — :func:`scp_levels_from_org_items` derives the levels
from the management account's ``organizations:account`` and ``organizations:policy`` items.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from iam_audit.checks.base import Item

IAM_TYPES = (
    "iam:user",
    "iam:group",
    "iam:role",
    "iam:policy",
    "iam:saml-provider",
    "iam:oidc-provider",
)

DEFAULT_CRITICAL = frozenset({"prod", "org-root", "identity"})


@dataclasses.dataclass(frozen=True, slots=True)
class ScpPolicy:
    """One service control policy: id, name and parsed document (``Content``)."""

    id: str
    name: str
    document: Any


@dataclasses.dataclass(slots=True)
class AccountIam:
    """One account's IAM items, by type (only the types the graph reads)."""

    account_id: str
    users: list[Item] = dataclasses.field(default_factory=list)
    groups: list[Item] = dataclasses.field(default_factory=list)
    roles: list[Item] = dataclasses.field(default_factory=list)
    policies: list[Item] = dataclasses.field(default_factory=list)
    saml_providers: list[Item] = dataclasses.field(default_factory=list)
    oidc_providers: list[Item] = dataclasses.field(default_factory=list)

    def add(self, item: Item) -> None:
        bucket = {
            "iam:user": self.users,
            "iam:group": self.groups,
            "iam:role": self.roles,
            "iam:policy": self.policies,
            "iam:saml-provider": self.saml_providers,
            "iam:oidc-provider": self.oidc_providers,
        }.get(item.type)
        if bucket is not None:
            bucket.append(item)


@dataclasses.dataclass(frozen=True, slots=True)
class OrgInfo:
    """Organisation context. Empty values mean "not known" (no organisation, or not collected)."""

    org_id: str = ""
    management_account_id: str = ""
    account_ids: frozenset[str] = frozenset()  # members, management included
    environments: Mapping[str, str] = dataclasses.field(default_factory=dict)  # account -> environment
    critical_environments: frozenset[str] = DEFAULT_CRITICAL
    # account -> levels (root first, the account itself last) -> SCPs attached at that level
    scps: Mapping[str, tuple[tuple[ScpPolicy, ...], ...]] = dataclasses.field(default_factory=dict)

    def environment(self, account_id: str) -> str:
        return self.environments.get(account_id, "other") or "other"

    def is_critical(self, account_id: str) -> bool:
        return self.environment(account_id) in self.critical_environments


@dataclasses.dataclass(slots=True)
class EstateIam:
    """Every collected account's IAM, and the organisation around them."""

    accounts: dict[str, AccountIam]
    org: OrgInfo = dataclasses.field(default_factory=OrgInfo)

    def inside(self, account_id: str) -> bool:
        """Is this account one of ours (in the organisation; or collected, when no org is known)?"""
        if self.org.account_ids:
            return account_id in self.org.account_ids or account_id == self.org.management_account_id
        return account_id in self.accounts or (
            bool(self.org.management_account_id) and account_id == self.org.management_account_id
        )


def _as_scp(value: Any, position: int) -> ScpPolicy | None:
    if isinstance(value, ScpPolicy):
        return value
    if isinstance(value, Item):
        data = value.data or {}
        return ScpPolicy(
            str(data.get("Id") or value.resource_id), str(data.get("Name") or value.name), data.get("Content")
        )
    if isinstance(value, Mapping):
        if "Content" in value:
            return ScpPolicy(str(value.get("Id", position)), str(value.get("Name", "")), value.get("Content"))
        return ScpPolicy(str(position), "", value)  # a bare document
    return None


def _scp_levels(value: Any) -> tuple[tuple[ScpPolicy, ...], ...]:
    """Accept levels (a list of lists) or a flat list (one level) of SCPs/Items/documents."""
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return ()
    nested = value and all(
        isinstance(v, Sequence) and not isinstance(v, str | bytes | Mapping) for v in value
    )
    raw_levels: Iterable[Any] = value if nested else [value]
    levels = []
    for level in raw_levels:
        scps = tuple(s for i, v in enumerate(level) if (s := _as_scp(v, i)) is not None)
        levels.append(scps)
    return tuple(levels)


def from_items(
    items_by_account: Mapping[str, Iterable[Item]],
    environments: Mapping[str, str] | None = None,
    org_account_ids: Iterable[str] = (),
    management_id: str = "",
    scps_by_account: Mapping[str, Any] | None = None,
    *,
    org_id: str = "",
    critical_environments: Iterable[str] = DEFAULT_CRITICAL,
    org_items: Iterable[Item] = (),
) -> EstateIam:
    """Build the graph's input from stored items.

    ``scps_by_account`` maps an account id to its SCP levels (a list of lists, root first) or to a
    flat list (one level); entries may be :class:`ScpPolicy`, ``organizations:policy`` Items,
    ``{"Id", "Name", "Content"}`` dicts or bare documents. Alternatively pass the management
    account's ``organizations:*`` items as ``org_items`` and the levels are derived from them
    (:func:`scp_levels_from_org_items`); explicit ``scps_by_account`` entries win. Items of other
    types are ignored.
    """
    accounts: dict[str, AccountIam] = {}
    for account_id, items in items_by_account.items():
        acct = AccountIam(str(account_id))
        for item in items or ():
            if isinstance(item, Item):
                acct.add(item)
        accounts[str(account_id)] = acct
    scps: dict[str, tuple[tuple[ScpPolicy, ...], ...]] = dict(scp_levels_from_org_items(org_items))
    scps.update({str(a): _scp_levels(v) for a, v in (scps_by_account or {}).items()})
    org = OrgInfo(
        org_id=org_id,
        management_account_id=management_id or "",
        account_ids=frozenset(str(a) for a in org_account_ids),
        environments=dict(environments or {}),
        critical_environments=frozenset(critical_environments),
        scps={a: v for a, v in scps.items() if v},
    )
    return EstateIam(accounts, org)


def scp_levels_from_org_items(org_items: Iterable[Item]) -> dict[str, tuple[tuple[ScpPolicy, ...], ...]]:
    """SCP levels per member account from ``organizations:account`` and ``organizations:policy`` items.

    A level is the root, each OU on the account's ``ParentPath``, then the account. A policy sits at
    a level when its ``Targets`` name that level's id; a policy listed in the account's ``PolicyIds``
    with no known target goes to the account level (the most lenient reading we can justify).
    """
    policies: dict[str, Item] = {}
    accounts: list[Item] = []
    for item in org_items:
        if not isinstance(item, Item):
            continue
        if item.type == "organizations:policy":
            kind = (item.data or {}).get("Type")
            if kind and kind != "SERVICE_CONTROL_POLICY":
                continue  # tag, backup, AI opt-out policies do not limit permissions
            pid = str((item.data or {}).get("Id") or item.resource_id)
            policies[pid] = item
        elif item.type == "organizations:account":
            accounts.append(item)
    out: dict[str, tuple[tuple[ScpPolicy, ...], ...]] = {}
    for acct in accounts:
        data = acct.data or {}
        account_id = str(data.get("Id") or acct.resource_id)
        path = [p for p in (data.get("ParentPath") or []) if isinstance(p, Mapping)]
        level_ids = [str(p.get("Id", "")) for p in path] + [account_id]
        levels: list[list[ScpPolicy]] = [[] for _ in level_ids]
        for pid in data.get("PolicyIds") or []:
            pitem = policies.get(str(pid))
            if pitem is None:
                continue
            scp = _as_scp(pitem, 0)
            if scp is None:
                continue
            targets = {
                str(t.get("TargetId", ""))
                for t in ((pitem.data or {}).get("Targets") or [])
                if isinstance(t, Mapping)
            }
            placed = False
            for i, lid in enumerate(level_ids):
                if lid in targets:
                    levels[i].append(scp)
                    placed = True
            if not placed:
                levels[-1].append(scp)
        # a level with no SCP at all means we do not know it (AWS requires one): skip it rather
        # than deny everything
        out[account_id] = tuple(tuple(lv) for lv in levels if lv)
    return out
