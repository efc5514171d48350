"""The snapshot tells checks which regions the latest collection did not look at, and why."""

from __future__ import annotations

import pytest

from accounts.models import AwsAccount
from iam_audit.snapshots import build
from inventory.models import CollectionRun, RunState

pytestmark = pytest.mark.django_db


def test_regions_excluded_or_denied_by_the_latest_collection_reach_the_checks() -> None:
    account = AwsAccount.objects.create(account_id="111122223333", name="prod")
    assert build(account)[0].facts["regions_not_looked_at"] == {}  # never collected: nothing to say here
    CollectionRun.objects.create(
        account=account, state=RunState.DONE, regions_skipped=[{"region": "ap-south-1", "reason": "excluded"}]
    )
    CollectionRun.objects.create(
        account=account,
        state=RunState.PARTIAL,
        regions_skipped=[
            {"region": "eu-north-1", "reason": "excluded", "detail": ""},
            {"region": "sa-east-1", "reason": "denied", "detail": "every call was refused"},
            {"region": "me-south-1", "reason": "not-enabled", "detail": "opt-in region not enabled"},
            {"region": "us-west-2", "reason": "not-requested", "detail": ""},
        ],
    )
    CollectionRun.objects.create(
        account=account, state=RunState.FAILED, regions_skipped=[]
    )  # not a collection
    assert build(account)[0].facts["regions_not_looked_at"] == {
        "eu-north-1": "excluded",
        "sa-east-1": "denied",
    }
