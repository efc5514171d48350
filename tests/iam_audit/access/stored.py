"""Store IAM estates through the real ingest, for the bridge's and the pages' database tests.

The story estate of tests/iam_audit/graph/factories.py (Developer → StagingReadOnly →
CompanyAssumeRoleStagingReadOnly → staging CompanyReadOnly → ReadOnlyAccess) becomes registered
accounts with collected IAM resources and, in the management account, the organisation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from accounts.models import AwsAccount
from iam_audit import graph_store
from iam_audit.checks.base import Item
from iam_audit.graph.model import IAM_TYPES
from inventory.records import GLOBAL_REGION, Coverage, Record
from inventory.services.ingest import ingest
from tests.factories import AwsAccountFactory
from tests.iam_audit.graph.factories import ENVIRONMENTS, MGMT, ORG_ACCOUNTS, Story, story

T0 = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
ORG_ID = "o-story12345"
NAMES = {
    MGMT: "org-root",
    "111111111111": "identity",
    "222222222222": "staging",
    "333333333333": "payments-prod",
    "555555555555": "operations",
}


def record(item: Item) -> Record:
    return Record(
        type=item.type,
        arn=item.arn,
        resource_id=item.resource_id,
        name=item.name,
        region=item.region or GLOBAL_REGION,
        tags=dict(item.tags),
        data=dict(item.data),
    )


def org_records(members: Iterable[str] = ORG_ACCOUNTS, management: str = MGMT) -> list[Record]:
    """The organisation as the organizations collector records it in the management account."""
    out = [
        Record(
            "organizations:organization",
            f"arn:aws:organizations::{management}:organization/{ORG_ID}",
            ORG_ID,
            ORG_ID,
            GLOBAL_REGION,
            data={"Id": ORG_ID, "MasterAccountId": management, "FeatureSet": "ALL"},
        )
    ]
    for account_id in members:
        out.append(
            Record(
                "organizations:account",
                f"arn:aws:organizations::{management}:account/{ORG_ID}/{account_id}",
                account_id,
                NAMES.get(account_id, account_id),
                GLOBAL_REGION,
                data={"Id": account_id, "Status": "ACTIVE", "ParentPath": [], "PolicyIds": []},
            )
        )
    return out


def collect_iam(account: AwsAccount, items: Sequence[Item], at: dt.datetime = T0, ok: bool = True) -> None:
    """One complete (or failed, ``ok=False``) pass of the IAM collector over ``items``."""
    coverage = {t: (Coverage.OK if ok else Coverage.FAILED) for t in IAM_TYPES}
    ingest(
        account,
        GLOBAL_REGION,
        list(IAM_TYPES),
        [record(i) for i in items] if ok else [],
        coverage,
        seen_at=at,
    )


def collect_org(account: AwsAccount, records: Sequence[Record], at: dt.datetime = T0) -> None:
    types = [
        "organizations:organization",
        "organizations:account",
        "organizations:ou",
        "organizations:policy",
    ]
    ingest(account, GLOBAL_REGION, types, list(records), {t: Coverage.OK for t in types}, seen_at=at)


def store_story(
    s: Story | None = None,
    *,
    at: dt.datetime = T0,
    owners: Mapping[str, object] | None = None,
    skip: Iterable[str] = (),
    with_org: bool = True,
) -> dict[str, AwsAccount]:
    """Register the story's accounts and ingest their IAM (and the organisation): account id -> account."""
    s = s or story()
    owners = owners or {}
    accounts = {}
    for account_id, env in ENVIRONMENTS.items():
        kwargs = {"owner": owners[account_id]} if account_id in owners else {}
        accounts[account_id] = AwsAccountFactory(
            account_id=account_id, name=NAMES.get(account_id, account_id), environment=env, **kwargs
        )
    for account_id, items in s.items.items():
        if account_id in skip or account_id not in accounts:
            continue
        collect_iam(accounts[account_id], items, at)
    if with_org:
        collect_org(accounts[MGMT], org_records(), at)
    graph_store.invalidate()
    return accounts
