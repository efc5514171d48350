"""A stalled service cannot hold up its region, nor a run its worker: each (collector, region) pass
has a deadline, the run a budget, and what was cut short is reported, with nothing deleted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from accounts.models import AwsAccount
from inventory.collectors.base import CollectContext
from inventory.collectors.common import Guard
from inventory.models import CollectionRun, Resource, RunState
from inventory.records import Record
from inventory.services.collect import _Limits, collect_account
from inventory.services.runs import create_run

from .fakes import Boxes, FakeAccess

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account() -> AwsAccount:
    return AwsAccount.objects.create(account_id="111122223333", name="prod")


class Stalling:
    """A regional collector whose every call takes ``delay`` (through the Guard, like real collectors)."""

    service: ClassVar[str] = "slow"
    types: ClassVar[tuple[str, ...]] = ("slow:thing",)
    scope: ClassVar[str] = "regional"

    def __init__(self, items: int, delay: float, stall_in: str) -> None:
        self.items, self.delay, self.stall_in = items, delay, stall_in

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        guard = Guard(ctx, self.service)
        for n in range(self.items):
            if ctx.region == self.stall_in:
                guard.ctx.check_deadline()  # what guard.call does before each call
                time.sleep(self.delay)
            rid = f"thing-{n}"
            yield Record(
                "slow:thing",
                f"arn:aws:slow:{ctx.region}:{ctx.account_id}:thing/{rid}",
                rid,
                rid,
                ctx.region,
                {},
                {},
            )


def limits(unit_seconds: float, budget_seconds: float) -> _Limits:
    return _Limits(
        unit_seconds=unit_seconds,
        run_deadline=time.monotonic() + budget_seconds,
        budget_minutes=budget_seconds / 60,
    )


def run_for(account: AwsAccount) -> CollectionRun:
    return create_run(account, "command")


def test_a_stalled_service_is_cut_short_and_the_region_goes_on(account: AwsAccount) -> None:
    access = FakeAccess(regions=["eu-west-1", "us-east-1"])
    first = collect_account(
        account,
        run_for(account),
        access=access,
        collectors=[Stalling(5, 0.0, "none"), Boxes()],
        region_workers=2,
    )
    assert first.state == RunState.DONE and Resource.objects.filter(type="slow:thing").count() == 10

    started = time.monotonic()
    run = collect_account(
        account,
        run_for(account),
        access=access,
        collectors=[Stalling(50, 0.2, "eu-west-1"), Boxes()],
        region_workers=2,
        limits=limits(unit_seconds=1.0, budget_seconds=60),
    )
    elapsed = time.monotonic() - started

    assert elapsed < 6  # not 50 × 0.2 s: the pass stopped at its deadline
    assert run.state == RunState.PARTIAL
    [cut] = [e for e in run.errors if e["code"] == "cut-short"]
    assert (cut["service"], cut["region"]) == ("slow", "eu-west-1")
    assert cut["message"].startswith("The slow collector was cut short after")
    assert "its deadline of 1 s for one collector in one region passed" in cut["message"]
    # the collector after it in the same region still ran, and the cut pass deleted nothing
    assert Resource.objects.filter(type="box:box", region="eu-west-1", deleted_at__isnull=True).count() == 3
    stalled = Resource.objects.filter(type="slow:thing", region="eu-west-1")
    assert stalled.filter(deleted_at__isnull=False).count() == 0 and stalled.count() >= 5
    assert (
        Resource.objects.filter(type="slow:thing", region="us-east-1", deleted_at__isnull=True).count() == 50
    )


def test_when_the_run_budget_is_spent_no_further_pass_starts(account: AwsAccount) -> None:
    access = FakeAccess(regions=["eu-west-1", "us-east-1"])
    collect_account(account, run_for(account), access=access, collectors=[Boxes()], region_workers=1)
    run = collect_account(
        account,
        run_for(account),
        access=access,
        collectors=[Stalling(50, 0.2, "eu-west-1"), Boxes()],
        region_workers=1,  # one region after the other: us-east-1 finds the budget spent
        limits=limits(unit_seconds=60, budget_seconds=1.0),
    )
    assert run.state == RunState.PARTIAL
    cut = {(e["service"], e["region"]): e["message"] for e in run.errors if e["code"] == "cut-short"}
    assert "cut short after" in cut[("slow", "eu-west-1")] and "time budget" in cut[("slow", "eu-west-1")]
    assert cut[("box", "us-east-1")].startswith("The box collector was not started: the run's time budget")
    # nothing it did not reach was deleted
    assert Resource.objects.filter(type="box:box", region="us-east-1", deleted_at__isnull=True).count() == 3
