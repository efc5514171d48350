"""The per-account orchestrator with fake collectors: states, counters, parallel regions, hooks."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import ClassVar

import pytest

from accounts.models import AwsAccount
from inventory import hooks
from inventory.aws.errors import ErrorKind
from inventory.collectors.base import CollectContext
from inventory.models import CollectionRun, CoverageRecord, Resource, RunState
from inventory.records import CollectError, Coverage, Record
from inventory.services.collect import Progress, TransientCollectionError, collect_account
from inventory.services.runs import create_run

from .fakes import Boxes, Crashes, Denied, FakeAccess, Users, access_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> AwsAccount:
    return AwsAccount.objects.create(
        account_id="111122223333", name="prod", read_role="ReadRole", external_id="ext-123"
    )


def run_for(account: AwsAccount) -> CollectionRun:
    return create_run(account, "command")


def test_complete_collection_is_done_with_counters(account: AwsAccount) -> None:
    access = FakeAccess(regions=["eu-west-1", "us-east-1", "ap-south-1"])
    boxes, users = Boxes(per_region=3), Users()
    run = collect_account(
        account, run_for(account), access=access, collectors=[boxes, users], region_workers=3
    )
    run.refresh_from_db()
    assert run.state == RunState.DONE, run.message
    assert (run.units_planned, run.units_done) == (4, 4)  # 1 global + 1 regional x 3 regions
    assert (run.resources_seen, run.resources_new, run.resources_deleted) == (11, 11, 0)
    assert run.regions == ["ap-south-1", "eu-west-1", "us-east-1"] and run.regions_skipped == []
    assert run.api_calls == access.sessions[0].stats.calls + 1  # + the AssumeRole
    assert run.api_retries == 1
    assert run.started_at and run.finished_at and run.error_count == 0
    assert users.regions == ["global"]  # global collectors run once
    assert Resource.objects.filter(account=account).count() == 11
    target = access.targets[0]
    assert target.role_arn == "arn:aws:iam::111122223333:role/ReadRole"
    assert target.external_id == "ext-123" and target.session_name == f"skyledger-run-{run.pk}"


def test_partial_run_when_one_type_is_denied_keeps_every_other_record(account: AwsAccount) -> None:
    access = FakeAccess(regions=["eu-west-1", "us-east-1"])
    run = collect_account(account, run_for(account), access=access, collectors=[Boxes(), Denied(), Users()])
    assert run.state == RunState.PARTIAL
    assert Resource.objects.count() == 3 * 2 + 2
    assert CoverageRecord.objects.filter(type="locked:thing", coverage="denied").count() == 2
    assert CoverageRecord.objects.filter(type="box:box", coverage="ok").count() == 2
    assert run.error_count == 2
    error = run.errors[0]
    assert {error["account"], error["service"], error["resource_type"], error["code"]} == {
        "111122223333",
        "locked",
        "locked:thing",
        "access-denied",
    }
    assert error["region"] in {"eu-west-1", "us-east-1"}


def test_unsupported_memo_is_shared_by_every_pass_of_a_run(account: AwsAccount) -> None:
    boxes = Boxes()
    collect_account(
        account, run_for(account), access=FakeAccess(), collectors=[Denied(), boxes], region_workers=2
    )
    memos = {id(ctx.unsupported) for ctx in boxes.contexts}
    assert len(memos) == 1
    assert ("locked", boxes.contexts[0].region, "ListThings") in boxes.contexts[0].unsupported


def test_run_fails_when_the_role_cannot_be_assumed_and_keeps_stored_data(account: AwsAccount) -> None:
    collect_account(account, run_for(account), access=FakeAccess(), collectors=[Boxes()])
    before = Resource.objects.count()
    access = FakeAccess(fail=access_error(ErrorKind.EXTERNAL_ID_MISMATCH))
    run = collect_account(account, run_for(account), access=access, collectors=[Boxes()])
    assert run.state == RunState.FAILED
    assert run.errors[0]["code"] == "external-id-mismatch" and run.errors[0]["service"] == "sts"
    assert "assume" in run.message.lower()
    assert Resource.objects.filter(deleted_at__isnull=True).count() == before


def test_transient_assume_failure_requeues_the_run_unless_final(account: AwsAccount) -> None:
    run = run_for(account)
    access = FakeAccess(fail=access_error(ErrorKind.THROTTLED, "Throttling"))
    with pytest.raises(TransientCollectionError):
        collect_account(account, run, access=access, collectors=[Boxes()], final_attempt=False)
    run.refresh_from_db()
    assert run.state == RunState.QUEUED
    collect_account(account, run, access=access, collectors=[Boxes()], final_attempt=True)
    run.refresh_from_db()
    assert run.state == RunState.FAILED and run.errors[-1]["code"] == "throttled"


def test_crashing_collector_keeps_what_it_yielded_and_deletes_nothing(account: AwsAccount) -> None:
    access = FakeAccess(regions=["eu-west-1"])
    collect_account(account, run_for(account), access=access, collectors=[Crashes(before=3), Boxes()])
    # the crashing collector yields fewer next time: nothing of its types may be deleted
    run = collect_account(account, run_for(account), access=access, collectors=[Crashes(before=1), Boxes()])
    assert run.state == RunState.PARTIAL
    assert Resource.objects.filter(type="crash:item", deleted_at__isnull=True).count() == 3
    assert set(
        CoverageRecord.objects.filter(type__startswith="crash:").values_list("coverage", flat=True)
    ) == {"failed"}
    assert any("collector bug" in e["message"] and e["service"] == "crash" for e in run.errors)
    assert Resource.objects.filter(type="box:box", deleted_at__isnull=True).count() == 3


def test_second_run_marks_resources_gone_from_aws_as_deleted(account: AwsAccount) -> None:
    access = FakeAccess(regions=["eu-west-1"])
    collect_account(account, run_for(account), access=access, collectors=[Boxes(per_region=4)])
    time.sleep(0.01)
    run = collect_account(
        account, run_for(account), access=access, collectors=[Boxes(per_region=4, skip=["box-eu-west-1-2"])]
    )
    assert run.state == RunState.DONE
    assert run.resources_deleted == 1 and run.resources_new == 0
    assert Resource.objects.get(deleted_at__isnull=False).resource_id == "box-eu-west-1-2"


def test_nothing_collected_is_a_failed_run(account: AwsAccount) -> None:
    run = collect_account(account, run_for(account), access=FakeAccess(), collectors=[Denied()])
    assert run.state == RunState.FAILED


def test_regions_run_in_parallel_within_the_worker_bound(account: AwsAccount) -> None:
    regions = [f"eu-west-{n}" for n in range(1, 9)]
    boxes = Boxes(per_region=1, delay=0.3)
    started = time.monotonic()
    run = collect_account(
        account, run_for(account), access=FakeAccess(regions=regions), collectors=[boxes], region_workers=4
    )
    elapsed = time.monotonic() - started
    assert run.state == RunState.DONE
    assert boxes.peak == 4  # bounded by region_workers, and actually parallel
    assert elapsed < 8 * 0.3 * 0.75  # serial would take 2.4 s


def test_global_collectors_run_beside_the_region_pool_not_in_a_region_slot(account: AwsAccount) -> None:
    """IAM is a long chain of calls: it must not hold one of the pool's places while regions wait."""
    import threading

    regions = [f"eu-west-{n}" for n in range(1, 4)]
    boxes = Boxes(per_region=1, delay=0.2)
    released = threading.Event()
    outcome: list[bool] = []

    class SlowUsers(Users):
        def collect(self, ctx):  # type: ignore[no-untyped-def]
            # finishes only once every region was collected: with a region slot of its own and one
            # worker, the regions could not start before it ended
            outcome.append(released.wait(timeout=5))
            yield from super().collect(ctx)

    class LastBox(Boxes):
        def collect(self, ctx):  # type: ignore[no-untyped-def]
            yield from boxes.collect(ctx)
            if len(boxes.contexts) == len(regions):
                released.set()

    run = collect_account(
        account,
        run_for(account),
        access=FakeAccess(regions=regions),
        collectors=[SlowUsers(), LastBox()],
        region_workers=1,
    )
    assert run.state == RunState.DONE, run.message
    assert outcome == [True]  # the regions ran while the global collector was still going
    assert boxes.peak == 1  # and still one at a time
    assert Resource.objects.filter(account=account).count() == 3 + 2


def test_progress_is_saved_on_the_run_row_as_units_complete(account: AwsAccount) -> None:
    seen: list[tuple[int, int]] = []

    def on_progress(progress: Progress) -> None:
        row = CollectionRun.objects.get(pk=progress.run_id)
        seen.append((progress.units_done, row.units_done))

    regions = [f"eu-west-{n}" for n in range(1, 5)]
    collect_account(
        account,
        run_for(account),
        access=FakeAccess(regions=regions),
        collectors=[Boxes(delay=0.05)],
        region_workers=1,
        progress=on_progress,
        progress_interval=0,
    )
    assert len(seen) >= 4
    assert all(in_memory == stored for in_memory, stored in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_after_collection_hooks_run_and_their_failures_are_recorded(account: AwsAccount) -> None:
    calls: list[str] = []

    def ok(acct: AwsAccount, run: CollectionRun) -> None:
        calls.append(run.state)

    def broken(acct: AwsAccount, run: CollectionRun) -> None:
        raise ValueError("checks exploded")

    hooks.on_after_collection(ok)
    hooks.on_after_collection(broken)
    try:
        run = collect_account(account, run_for(account), access=FakeAccess(), collectors=[Boxes()])
    finally:
        hooks.disconnect(ok)
        hooks.disconnect(broken)
    run.refresh_from_db()
    assert calls == [RunState.DONE]
    assert run.state == RunState.DONE  # the data is stored; the hook's failure is reported
    assert any(e["code"] == "hook-failed" and "checks exploded" in e["message"] for e in run.errors)


def test_allowed_regions_only_classify_every_enabled_region_is_collected(
    account: AwsAccount, settings
) -> None:
    settings.SKYLEDGER_ALLOWED_REGIONS = ["eu-west-1"]
    account.allowed_regions = ["us-east-1"]  # an owner's idea of "our regions" must hide nothing
    account.save()
    run = collect_account(
        account,
        run_for(account),
        access=FakeAccess(regions=["eu-west-1", "us-east-1", "ap-southeast-2"]),
        collectors=[Boxes()],
    )
    assert run.state == RunState.DONE and run.regions == ["ap-southeast-2", "eu-west-1", "us-east-1"]
    assert set(Resource.objects.values_list("region", flat=True)) == {
        "ap-southeast-2",
        "eu-west-1",
        "us-east-1",
    }
    assert run.regions_skipped == [] and "not looked at" not in run.message


class OptIn(FakeAccess):
    """An account that lists opt-in regions it has not enabled (as ``AwsAccess.not_enabled`` does)."""

    def not_enabled(self, session: object) -> list[str]:
        return ["af-south-1", "me-south-1"]


def test_the_security_teams_exclusions_and_run_limits_are_recorded_with_their_reason(
    account: AwsAccount, settings
) -> None:
    settings.SKYLEDGER_COLLECTION_EXCLUDED_REGIONS = ["ap-south-1"]
    account.collection_excluded_regions = ["eu-west-1"]
    account.save()
    access = OptIn(regions=["eu-west-1", "us-east-1", "ap-south-1", "us-west-2"])
    boxes = Boxes()
    run = collect_account(account, run_for(account), access=access, collectors=[boxes])
    assert run.state == RunState.DONE and run.regions == ["us-east-1", "us-west-2"]
    assert sorted(c.region for c in boxes.contexts) == ["us-east-1", "us-west-2"]
    skipped = {e["region"]: (e["reason"], e["detail"]) for e in run.regions_skipped}
    assert skipped == {
        "ap-south-1": (
            "excluded",
            "in the estate's (SKYLEDGER_COLLECTION_EXCLUDED_REGIONS) excluded regions",
        ),
        "eu-west-1": ("excluded", "in the account's excluded regions"),
        "af-south-1": ("not-enabled", "opt-in region not enabled"),
        "me-south-1": ("not-enabled", "opt-in region not enabled"),
    }
    assert "4 regions not looked at" in run.message
    assert [e["label"] for e in run.skipped_regions][:2] == ["excluded by a collection setting"] * 2

    only = collect_account(
        account, run_for(account), access=access, collectors=[Boxes()], only_regions=["US-WEST-2"]
    )
    assert only.regions == ["us-west-2"]
    assert {e["region"]: e["reason"] for e in only.regions_skipped}["us-east-1"] == "not-requested"


class FencedRegion:
    """A regional collector refused everywhere in ``fenced`` (as a region-fencing SCP refuses), fine elsewhere."""

    service: ClassVar[str] = "fence"
    types: ClassVar[tuple[str, ...]] = ("fence:a", "fence:b")
    scope: ClassVar[str] = "regional"

    def __init__(self, fenced: Sequence[str]) -> None:
        self.fenced = set(fenced)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        if ctx.region not in self.fenced:
            yield Record("fence:a", f"arn:aws:fence:{ctx.region}:{ctx.account_id}:a/1", "1", "1", ctx.region)
            return
        for type_ in self.types:
            ctx.mark(
                type_,
                Coverage.DENIED,
                CollectError(
                    "fence", ctx.region, "access-denied", "Access denied", "List", type_, "AccessDenied"
                ),
            )


def test_a_region_refused_as_a_whole_is_recorded_as_denied_not_as_errors(account: AwsAccount) -> None:
    access = FakeAccess(regions=["eu-west-1", "us-east-1", "ap-southeast-2"])
    run = collect_account(
        account, run_for(account), access=access, collectors=[FencedRegion(["ap-southeast-2"]), Users()]
    )
    assert run.state == RunState.DONE, (run.message, run.errors)
    assert run.errors == [] and run.error_count == 0
    assert run.regions_skipped == [
        {
            "region": "ap-southeast-2",
            "reason": "denied",
            "detail": "every call was refused (AccessDenied), as a region-fencing SCP does",
        }
    ]
    assert "1 region not looked at" in run.message
    # not looked at, like an excluded region: no coverage there, so checks judge the regions read
    assert not CoverageRecord.objects.filter(region="ap-southeast-2").exists()
    assert set(CoverageRecord.objects.values_list("region", flat=True)) == {
        "eu-west-1",
        "us-east-1",
        "global",
    }


def test_a_role_refused_everywhere_is_an_error_not_a_fenced_region(account: AwsAccount) -> None:
    regions = ["eu-west-1", "us-east-1"]
    run = collect_account(
        account,
        run_for(account),
        access=FakeAccess(regions=regions),
        collectors=[FencedRegion(regions), Users()],
    )
    assert run.state == RunState.PARTIAL and run.regions_skipped == []
    assert {e["region"] for e in run.errors if e["code"] == "access-denied"} == set(regions)


def test_interrupted_run_stores_what_it_saw_and_deletes_nothing(account: AwsAccount) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    access = FakeAccess(regions=["eu-west-1", "us-east-1"])
    collect_account(account, run_for(account), access=access, collectors=[Boxes(per_region=4)])

    def time_is_up(progress: Progress) -> None:
        raise SoftTimeLimitExceeded()

    shrunk = Boxes(per_region=4, skip=["box-eu-west-1-0", "box-us-east-1-0"], delay=0.05)
    run = collect_account(
        account,
        run_for(account),
        access=access,
        collectors=[shrunk, Users(names=["carol"])],
        progress=time_is_up,
        progress_interval=0,
        chunk_size=1000,
    )
    run.refresh_from_db()
    assert run.state in (RunState.PARTIAL, RunState.FAILED) and run.finished_at is not None
    assert any(e["code"] == "interrupted" and e["aws_code"] == "SoftTimeLimitExceeded" for e in run.errors)
    assert Resource.objects.filter(type="box:box", deleted_at__isnull=False).count() == 0
    # what the cut-short passes had buffered was stored, not dropped
    assert Resource.objects.filter(type="box:box").count() == 8
    assert run.resources_seen >= 1


def test_role_answering_from_another_account_collects_nothing(account: AwsAccount) -> None:
    same = collect_account(
        account, run_for(account), access=FakeAccess(identity="111122223333"), collectors=[Boxes()]
    )
    assert same.state == RunState.DONE
    before = Resource.objects.count()
    run = collect_account(
        account, run_for(account), access=FakeAccess(identity="999988887777"), collectors=[Boxes()]
    )
    assert run.state == RunState.FAILED and "999988887777" in run.message
    assert run.errors[-1]["aws_code"] == "AccountMismatch"
    assert (
        Resource.objects.count() == before and not Resource.objects.filter(deleted_at__isnull=False).exists()
    )
