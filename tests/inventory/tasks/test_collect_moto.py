"""Collection end to end against the moto server: real access layer, real collectors, real storage."""

from __future__ import annotations

import time

import pytest

from accounts.models import AwsAccount
from inventory.aws.session import AwsSettings, Hub, Target
from inventory.collectors import base
from inventory.models import CoverageRecord, Resource, RunState
from inventory.services.collect import AwsAccess, collect_account
from inventory.services.runs import create_run
from inventory.simulation.proxy import FaultProxy

pytestmark = [pytest.mark.django_db, pytest.mark.moto]

ACCOUNT = "210987654321"
REGIONS = ["eu-west-1", "us-east-1"]


def _collectors(services: frozenset[str] = frozenset({"ec2", "s3", "iam"})) -> list[base.Collector]:
    return base.collectors(lambda c: c.service in services)


@pytest.fixture
def seeded(moto_endpoint: str) -> tuple[Hub, object]:
    """An account with two buckets, a user and a security group, seen through its read role."""
    hub = Hub(AwsSettings(endpoint_url=moto_endpoint))
    session = hub.assume(Target(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/SkyledgerReadOnly"))
    s3 = session.client("s3", "us-east-1")
    s3.create_bucket(Bucket="seed-keep")
    s3.create_bucket(Bucket="seed-gone")
    session.client("iam").create_user(UserName="alice", Tags=[{"Key": "team", "Value": "<b>ops</b>"}])
    session.client("ec2", "eu-west-1").create_security_group(GroupName="web", Description="web tier")
    return hub, session


def _account() -> AwsAccount:
    return AwsAccount.objects.create(account_id=ACCOUNT, name="moto", allowed_regions=REGIONS)


def test_collection_stores_the_estate_and_detects_deletions(seeded: tuple[Hub, object]) -> None:
    hub, session = seeded
    account = _account()
    run = collect_account(
        account, create_run(account), access=AwsAccess(hub), collectors=_collectors(), only_regions=REGIONS
    )
    assert run.state == RunState.DONE, (run.message, run.errors)
    assert run.regions == REGIONS and run.units_done == run.units_planned == 2 + 1 * 2
    assert run.api_calls > 10
    live = Resource.objects.filter(account=account, deleted_at__isnull=True)
    assert set(live.filter(type="s3:bucket").values_list("name", flat=True)) == {"seed-keep", "seed-gone"}
    alice = live.get(type="iam:user", name="alice")
    assert alice.tags == {"team": "<b>ops</b>"} and alice.region == "global"
    web = live.get(type="ec2:security-group", name="web")
    assert web.region == "eu-west-1" and web.data["Description"] == "web tier"
    assert not CoverageRecord.objects.exclude(coverage="ok").exists()

    session.client("s3", "us-east-1").delete_bucket(Bucket="seed-gone")  # type: ignore[attr-defined]
    session.client("ec2", "eu-west-1").delete_security_group(GroupId=web.resource_id)  # type: ignore[attr-defined]
    time.sleep(0.01)
    second = collect_account(
        account, create_run(account), access=AwsAccess(hub), collectors=_collectors(), only_regions=REGIONS
    )
    assert second.state == RunState.DONE
    assert second.resources_deleted == 2 and second.resources_new == 0
    gone = set(Resource.objects.filter(deleted_at__isnull=False).values_list("name", flat=True))
    assert gone == {"seed-gone", "web"}
    assert Resource.objects.filter(deleted_at__isnull=True, name="seed-keep").exists()


def test_denied_listing_makes_a_partial_run_that_keeps_the_resources(seeded: tuple[Hub, object]) -> None:
    hub, session = seeded
    account = _account()
    light = _collectors(frozenset({"s3", "iam"}))
    collect_account(account, create_run(account), access=AwsAccess(hub), collectors=light)
    buckets = Resource.objects.filter(type="s3:bucket", deleted_at__isnull=True).count()
    with FaultProxy(hub.endpoint_url) as proxy:  # type: ignore[arg-type]
        # REST services are matched by method and path: ListBuckets is "GET /"
        proxy.add_rule(service="s3", operation="GET /", status=403, code="AccessDenied")
        denied_hub = Hub(AwsSettings(endpoint_url=proxy.url))
        run = collect_account(account, create_run(account), access=AwsAccess(denied_hub), collectors=light)
    assert run.state == RunState.PARTIAL
    assert CoverageRecord.objects.get(type="s3:bucket").coverage == "denied"
    assert Resource.objects.filter(type="s3:bucket", deleted_at__isnull=True).count() == buckets == 2
    assert any(e["service"] == "s3" and e["code"] == "access-denied" for e in run.errors)
    assert Resource.objects.filter(type="iam:user", deleted_at__isnull=True).count() == 1


def test_unknown_role_fails_the_run_with_a_readable_error(moto_endpoint: str) -> None:
    account = _account()
    with FaultProxy(moto_endpoint) as proxy:
        proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")
        run = collect_account(
            account,
            create_run(account),
            access=AwsAccess(Hub(AwsSettings(endpoint_url=proxy.url))),
            collectors=_collectors(),
        )
    assert run.state == RunState.FAILED
    assert run.errors[0]["code"] == "role-missing" and "assume" in run.message.lower()


def test_role_arn_of_another_account_is_refused(moto_endpoint: str) -> None:
    account = AwsAccount.objects.create(
        account_id=ACCOUNT, name="wrong role", read_role="arn:aws:iam::999988887777:role/SkyledgerReadOnly"
    )
    hub = Hub(AwsSettings(endpoint_url=moto_endpoint))
    run = collect_account(account, create_run(account), access=AwsAccess(hub), collectors=_collectors())
    assert run.state == RunState.FAILED and "999988887777" in run.message
    assert not Resource.objects.exists()


# --- every region: the allowed list classifies, it never hides ------------------------------------

STRAY = "ap-southeast-2"  # outside REGIONS, the account's allowed list


def test_a_resource_outside_the_allowed_regions_is_collected_and_named_by_the_finding(
    seeded: tuple[Hub, object],
) -> None:
    from iam_audit import engine
    from iam_audit.models import Finding

    hub, session = seeded
    ec2 = session.client("ec2", STRAY)  # type: ignore[attr-defined]
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    ssh = ec2.create_security_group(GroupName="forgotten-ssh", Description="ssh from anywhere", VpcId=vpc)
    ec2.authorize_security_group_ingress(
        GroupId=ssh["GroupId"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    account = _account()
    run = collect_account(
        account,
        create_run(account),
        access=AwsAccess(hub),
        # the check needs every workload type collected to say anything
        collectors=_collectors(frozenset({"ec2", "s3", "rds", "lambda"})),
    )

    assert run.state == RunState.DONE, (run.message, run.errors[:3])
    assert STRAY in run.regions and set(REGIONS) < set(run.regions)
    # moto's opt-in regions are not enabled: recorded as not looked at, not silently dropped
    assert {e["reason"] for e in run.regions_skipped} == {"not-enabled"}
    assert "me-south-1" in {e["region"] for e in run.regions_skipped}
    group = Resource.objects.get(account=account, type="ec2:security-group", name="forgotten-ssh")
    assert group.region == STRAY

    engine.run_account(account, graph=False)
    finding = Finding.objects.get(account=account, check_id="inventory.unexpected_region")
    assert finding.status == "open" and STRAY in finding.summary
    named = {r["arn"]: r for r in finding.evidence["resources"]}
    assert (
        group.arn in named
        and named[group.arn]["region"] == STRAY
        and named[group.arn]["name"] == "forgotten-ssh"
    )
    assert all(r["region"] not in REGIONS for r in finding.evidence["resources"])
    # and the open SSH group is checked like any other
    assert Finding.objects.filter(
        account=account, check_id="ec2.sg_admin_ports_open", subject=group.arn
    ).exists()


def test_a_region_an_scp_denies_is_recorded_as_denied_not_as_an_error(seeded: tuple[Hub, object]) -> None:
    hub, _ = seeded
    account = _account()
    with FaultProxy(hub.endpoint_url) as proxy:  # type: ignore[arg-type]
        # what a region-fencing SCP does: every call to the region is refused, other regions answer
        proxy.add_rule(
            region=STRAY,
            status=403,
            code="UnauthorizedOperation",
            message="You are not authorized to perform this operation. with an explicit deny in a service control policy",
        )
        fenced_hub = Hub(AwsSettings(endpoint_url=proxy.url))
        run = collect_account(
            account, create_run(account), access=AwsAccess(fenced_hub), collectors=_collectors({"ec2"})
        )
        refused = [r for r in proxy.seen("ec2") if r.region == STRAY]
    assert refused and all(r.injected for r in refused)
    assert run.state == RunState.DONE, (run.message, run.errors[:3])
    # (moto answers "not implemented" for one EC2 call: that error stays, it is not a denial)
    assert not [e for e in run.errors if e["region"] == STRAY or e["code"] == "access-denied"], run.errors
    denied = [e for e in run.regions_skipped if e["reason"] == "denied"]
    assert [e["region"] for e in denied] == [STRAY] and "UnauthorizedOperation" in denied[0]["detail"]
    assert (
        CoverageRecord.objects.filter(account=account, region="eu-west-1").exclude(coverage="ok").count() == 0
    )
    assert not CoverageRecord.objects.filter(account=account, region=STRAY).exists()

    # the checks judge the regions that were read instead of answering "unknown" for the account
    from iam_audit import engine
    from iam_audit.models import CheckResult

    engine.run_account(account, graph=False)
    assert CheckResult.objects.get(account=account, check_id="ec2.sg_admin_ports_open").state != "unknown"
