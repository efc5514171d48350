"""Build check snapshots from stored inventory (the Django side of the pure checks)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.choices import AccessStatus, Environment
from accounts.models import AwsAccount
from iam_audit.checks.base import AccountFacts, Item, OrgContext, Snapshot
from inventory.models import CollectionRun, CoverageRecord, Resource, RunState, SkippedReason
from inventory.records import GLOBAL_REGION, Coverage
from inventory.services.exposure import sg_reachability

log = logging.getLogger(__name__)

ITEM_FIELDS = ("id", "type", "arn", "resource_id", "name", "region", "tags", "data")

# The organisation types each context-only check reads (collected in the management account). A check
# in iam_audit.checks.CONTEXT_ONLY_CHECKS that is not listed reads the organisation and its accounts.
ORG_BASE_TYPES = ("organizations:organization", "organizations:account")
ORG_TYPES_READ: dict[str, tuple[str, ...]] = {
    "org.member": ORG_BASE_TYPES,
    "org.scp_guardrails": (*ORG_BASE_TYPES, "organizations:policy"),
}
ORG_TYPES = (
    "organizations:organization",
    "organizations:account",
    "organizations:ou",
    "organizations:policy",
)


def org_types_read(check_id: str) -> tuple[str, ...]:
    """The organisation resource types a context-only check depends on."""
    return ORG_TYPES_READ.get(check_id, ORG_BASE_TYPES)


# Regional types of the management account that checks of other accounts read (the organisation
# trail is homed in one region of it; see ``Check.org_requires``)
ORG_REGIONAL_TYPES = ("cloudtrail:trail",)


def org_coverage(management_account_id: str) -> dict[str, str]:
    """How completely the organisation was collected: type -> coverage in the management account.

    Empty when the management account is not known (or never collected): every type is missing. A
    regional type (:data:`ORG_REGIONAL_TYPES`) is OK when some region was collected completely and
    none failed (a failed region may be the one that holds the organisation trail).
    """
    if not management_account_id:
        return {}
    rows = CoverageRecord.objects.filter(account__account_id=management_account_id).filter(
        Q(type__in=ORG_TYPES, region=GLOBAL_REGION) | Q(type__in=ORG_REGIONAL_TYPES)
    )
    out: dict[str, str] = {}
    regional: dict[str, set[str]] = {}
    for type_, coverage in rows.values_list("type", "coverage"):
        if type_ in ORG_REGIONAL_TYPES:
            regional.setdefault(type_, set()).add(coverage)
        else:
            out[type_] = coverage
    for type_, values in regional.items():
        if Coverage.FAILED.value in values:
            out[type_] = Coverage.FAILED.value
        elif Coverage.OK.value in values:
            out[type_] = Coverage.OK.value
        else:
            out[type_] = sorted(values)[0]
    return out


def missing_org_types(coverage: Mapping[str, str], types: tuple[str, ...]) -> list[str]:
    """The types among ``types`` that were not collected completely (absent counts as missing)."""
    return [t for t in types if coverage.get(t) != Coverage.OK.value]


def account_facts(account: AwsAccount) -> AccountFacts:
    role = account.read_role or settings.SKYLEDGER_READ_ROLE
    return AccountFacts(
        account_id=account.account_id,
        name=account.name,
        environment=account.environment,
        environment_guessed=account.environment_guessed,
        status=account.status,
        allowed_regions=tuple(account.effective_allowed_regions()),
        read_role_name=role.rsplit("/", 1)[-1],
    )


def _regions_not_looked_at(account: AwsAccount) -> dict[str, str]:
    """``{region: reason}`` from the account's latest finished collection (excluded or denied only:
    an opt-in region not enabled holds nothing, and a one-off ``--region`` run is not a policy)."""

    latest = (
        CollectionRun.objects.filter(account=account, state__in=[RunState.DONE, RunState.PARTIAL])
        .order_by("-created", "-pk")
        .values_list("regions_skipped", flat=True)
        .first()
    )
    wanted = {SkippedReason.EXCLUDED.value, SkippedReason.DENIED.value}
    return {
        str(e.get("region")): str(e.get("reason"))
        for e in latest or []
        if isinstance(e, dict) and e.get("reason") in wanted and e.get("region")
    }


def build(
    account: AwsAccount, *, org: OrgContext | None = None, now: dt.datetime | None = None
) -> tuple[Snapshot, dict[str, int]]:
    """The account's live resources, collection coverage and context; plus ARN -> resource pk."""
    now = now or timezone.now()
    items: list[Item] = []
    arn_to_pk: dict[str, int] = {}
    rows = (
        Resource.objects.filter(account=account, deleted_at__isnull=True)
        .values_list(*ITEM_FIELDS)
        .iterator(chunk_size=2000)
    )
    for pk, type_, arn, resource_id, name, region, tags, data in rows:
        items.append(Item(type_, arn, resource_id, name, region, tags or {}, data or {}))
        arn_to_pk[arn] = pk
    coverage = {
        (t, r): Coverage(c)
        for t, r, c in CoverageRecord.objects.filter(account=account).values_list(
            "type", "region", "coverage"
        )
    }
    regions = tuple(sorted({r for (_, r) in coverage if r != GLOBAL_REGION}))
    facts: dict[str, Any] = {
        "now": now.isoformat(),
        "unused_days": settings.SKYLEDGER_UNUSED_DAYS,
        "access_check_ok": account.access_status == AccessStatus.OK,
        # security-group ARN -> protects something reachable from the internet (None: unknown);
        # the engine weighs internet-open group findings by it
        "sg_reachable": _sg_reachable(items, coverage, account),
        # regions the latest collection did not look at, and why (excluded by a setting, denied by an
        # SCP): checks that judge "everywhere" cannot pass on them
        "regions_not_looked_at": _regions_not_looked_at(account),
    }
    snap = Snapshot(
        account=account_facts(account),
        org=org or OrgContext(),
        items=items,
        coverage=coverage,
        regions=regions,
        facts=facts,
    )
    return snap, arn_to_pk


def _sg_reachable(
    items: list[Item], coverage: Mapping[tuple[str, str], Coverage], account: AwsAccount
) -> dict[str, bool | None]:
    try:
        return sg_reachability(items, coverage)
    except Exception:  # the analysis only refines priorities: it must never stop the checks
        log.exception("exposure analysis failed for account %s", account.account_id)
        return {}


@dataclasses.dataclass
class EstateOrg:
    """Organisation facts read once for the whole estate; ``for_account`` narrows them."""

    org_id: str = ""
    management_account_id: str = ""
    member_account_ids: frozenset[str] = frozenset()
    identity_account_ids: frozenset[str] = frozenset()
    org_trails: tuple[Item, ...] = ()
    policies: Mapping[str, tuple[str, Mapping[str, Any]]] = dataclasses.field(default_factory=dict)
    policy_ids_by_account: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # type -> coverage of the organisation types in the management account (see org_coverage)
    coverage: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # account -> names from the root down to its parent (absent: not known)
    parent_paths: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def for_account(self, account_id: str) -> OrgContext:
        scps = tuple(
            (pid, self.policies[pid][0], self.policies[pid][1])
            for pid in self.policy_ids_by_account.get(account_id, ())
            if pid in self.policies
        )
        return OrgContext(
            org_id=self.org_id,
            management_account_id=self.management_account_id,
            member_account_ids=self.member_account_ids,
            identity_account_ids=self.identity_account_ids,
            org_trails=self.org_trails,
            scps=scps,
            parent_path=self.parent_paths.get(account_id),
        )


def _item(row: tuple[Any, ...]) -> Item:
    _pk, type_, arn, resource_id, name, region, tags, data = row
    return Item(type_, arn, resource_id, name, region, tags or {}, data or {})


def org_context_for_estate() -> EstateOrg:
    """Read the organisation as collected from its management account (if it was collected)."""
    # only the security team designates the identity account: an environment guessed from a name does not
    identity = frozenset(
        AwsAccount.objects.filter(environment=Environment.IDENTITY, environment_guessed=False).values_list(
            "account_id", flat=True
        )
    )
    org_rows = Resource.objects.filter(
        deleted_at__isnull=True,
        type__in=["organizations:organization", "organizations:account", "organizations:policy"],
    ).values_list(*ITEM_FIELDS)
    org_id = management = ""
    members: set[str] = set()
    policies: dict[str, tuple[str, Mapping[str, Any]]] = {}
    policy_ids: dict[str, tuple[str, ...]] = {}
    parent_paths: dict[str, tuple[str, ...]] = {}
    for row in org_rows:
        item = _item(row)
        if item.type == "organizations:organization":
            org_id = str(item.data.get("Id", ""))
            management = str(item.data.get("MasterAccountId", ""))
        elif item.type == "organizations:account":
            account_id = str(item.data.get("Id", ""))
            if item.data.get("Status", "ACTIVE") == "ACTIVE":
                members.add(account_id)
            policy_ids[account_id] = tuple(item.data.get("PolicyIds") or ())
            path = item.data.get("ParentPath")
            if isinstance(path, list) and path:
                parent_paths[account_id] = tuple(
                    str(p.get("Name") or p.get("Id") or "") for p in path if isinstance(p, dict)
                )
        else:
            content = item.data.get("Content")
            policies[str(item.data.get("Id", item.resource_id))] = (
                item.name,
                content if isinstance(content, dict) else {},
            )
    if not management:
        root = (
            AwsAccount.objects.filter(environment=Environment.ORG_ROOT)
            .values_list("account_id", flat=True)
            .first()
        )
        management = root or ""
    trails: tuple[Item, ...] = ()
    if management:
        trail_rows = Resource.objects.filter(
            account__account_id=management, type="cloudtrail:trail", deleted_at__isnull=True
        ).values_list(*ITEM_FIELDS)
        trails = tuple(
            item
            for item in map(_item, trail_rows)
            if item.data.get("IsOrganizationTrail") and (item.data.get("Status") or {}).get("IsLogging")
        )
    return EstateOrg(
        org_id=org_id,
        management_account_id=management,
        member_account_ids=frozenset(members),
        identity_account_ids=identity,
        org_trails=trails,
        policies=policies,
        policy_ids_by_account=policy_ids,
        coverage=org_coverage(management),
        parent_paths=parent_paths,
    )
