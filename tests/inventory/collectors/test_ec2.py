"""EC2/VPC collector against the moto server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from inventory.collectors import common
from inventory.collectors.base import CollectContext
from inventory.collectors.ec2 import Ec2Collector
from inventory.records import Coverage, Record
from tests.inventory.collectors.conftest import (
    DEFAULT_ACCOUNT,
    AccountClients,
    by_type,
    capture_params,
    count_requests,
    inject_answer,
    inject_error,
    make_ctx,
    run,
)

pytestmark = pytest.mark.moto

REGION = "us-east-1"
HOSTILE = '<img src=x onerror="alert(1)"> Ünïcødé 日本 🚀'
ENDPOINT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
}


def build_estate(clients: AccountClients) -> dict[str, Any]:
    """One of every EC2/VPC resource kind, with hostile tag values."""
    ec2 = clients("ec2", REGION)
    tags = [{"Key": "Name", "Value": HOSTILE}, {"Key": "owner<script>", "Value": "x" * 256}]
    spec = lambda kind: [{"ResourceType": kind, "Tags": tags}]  # noqa: E731
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=spec("vpc"))["Vpc"]["VpcId"]
    peer = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"][
        "SubnetId"
    ]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    route_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=route_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=route_table, SubnetId=subnet)
    nat_eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=subnet, AllocationId=nat_eip)
    sg = ec2.create_security_group(
        GroupName="ssh-open", Description="ssh", VpcId=vpc, TagSpecifications=spec("security-group")
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    ec2.create_network_acl(VpcId=vpc)
    ec2.allocate_address(Domain="vpc", TagSpecifications=spec("elastic-ip"))
    ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=peer)
    ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        RouteTableIds=[route_table],
        PolicyDocument=json.dumps(ENDPOINT_POLICY),
    )
    clients("s3", REGION).create_bucket(Bucket="flow-log-bucket")
    ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::flow-log-bucket",
    )
    instance = ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SubnetId=subnet,
        SecurityGroupIds=[sg],
        MetadataOptions={"HttpTokens": "optional", "HttpEndpoint": "enabled"},
        TagSpecifications=spec("instance"),
    )["Instances"][0]["InstanceId"]
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1)["VolumeId"]
    public_snapshot = ec2.create_snapshot(VolumeId=volume, TagSpecifications=spec("snapshot"))["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=public_snapshot,
        Attribute="createVolumePermission",
        OperationType="add",
        GroupNames=["all"],
    )
    private_snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    image = ec2.create_image(InstanceId=instance, Name="golden")["ImageId"]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    prefix_list = ec2.create_managed_prefix_list(
        PrefixListName="office",
        MaxEntries=5,
        AddressFamily="IPv4",
        Entries=[{"Cidr": "198.51.100.0/24", "Description": "HQ <b>"}],
    )["PrefixList"]["PrefixListId"]
    ec2.enable_ebs_encryption_by_default()
    return {
        "vpc": vpc,
        "sg": sg,
        "instance": instance,
        "public_snapshot": public_snapshot,
        "private_snapshot": private_snapshot,
        "image": image,
        "prefix_list": prefix_list,
    }


@pytest.fixture(scope="module")
def estate(endpoint: str) -> dict[str, Any]:
    return build_estate(AccountClients(endpoint))


Clients = Callable[..., AccountClients]


@pytest.fixture(scope="module")
def collected(estate: dict[str, Any], endpoint: str) -> tuple[dict[str, list[Record]], CollectContext]:
    ctx = make_ctx(AccountClients(endpoint), DEFAULT_ACCOUNT, REGION)
    return by_type(run(Ec2Collector(), ctx)), ctx


def test_ec2_collector_yields_every_declared_type_with_documented_extras(
    estate: dict[str, Any], collected: Any
) -> None:
    ids, (records, ctx) = estate, collected

    assert set(records) == set(Ec2Collector.types), set(Ec2Collector.types) - set(records)
    assert all(c is Coverage.OK for c in ctx.coverage.values())
    assert all(r.region == REGION for rs in records.values() for r in rs)

    instance = next(r for r in records["ec2:instance"] if r.resource_id == ids["instance"])
    assert instance.arn == f"arn:aws:ec2:{REGION}:{DEFAULT_ACCOUNT}:instance/{ids['instance']}"
    assert instance.data["MetadataOptions"]["HttpTokens"] == "optional"
    assert isinstance(instance.data["LaunchTime"], str)  # datetimes arrive as ISO strings

    sg = next(r for r in records["ec2:security-group"] if r.resource_id == ids["sg"])
    assert sg.data["IpPermissions"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert sg.arn.endswith(f":security-group/{ids['sg']}")

    endpoint = records["ec2:vpc-endpoint"][0]
    assert endpoint.data["PolicyDocument"] == ENDPOINT_POLICY  # parsed from the JSON string

    snapshots = {r.resource_id: r for r in records["ec2:snapshot"]}
    assert snapshots[ids["public_snapshot"]].data["CreateVolumePermissions"] == [{"Group": "all"}]
    assert snapshots[ids["private_snapshot"]].data["CreateVolumePermissions"] == []
    assert snapshots[ids["public_snapshot"]].arn == f"arn:aws:ec2:{REGION}::snapshot/{ids['public_snapshot']}"

    image = records["ec2:image"][0]
    assert image.resource_id == ids["image"] and image.data["LaunchPermissions"] == [{"Group": "all"}]

    prefix_list = records["ec2:managed-prefix-list"][0]
    assert prefix_list.resource_id == ids["prefix_list"]
    assert prefix_list.data["Entries"] == [{"Cidr": "198.51.100.0/24", "Description": "HQ <b>"}]

    settings = records["ec2:account-settings"][0]
    assert settings.arn == f"arn:aws:ec2:{REGION}:{DEFAULT_ACCOUNT}:account-settings"
    assert settings.data["EbsEncryptionByDefault"] is True
    # moto does not serve get_instance_metadata_defaults: None, noted, and the type stays OK
    assert settings.data["InstanceMetadataDefaults"] is None
    assert settings.data["Unavailable"] == {"InstanceMetadataDefaults": "not-implemented"}
    assert ctx.coverage.get("ec2:account-settings", Coverage.OK) is Coverage.OK
    assert ("ec2", ctx.region, "GetInstanceMetadataDefaults") in ctx.unsupported

    json.dumps([r.data for rs in records.values() for r in rs])  # every record is JSON-safe


def test_hostile_tag_values_survive_verbatim_and_become_the_name(
    estate: dict[str, Any], collected: Any
) -> None:
    ids, (records, _) = estate, collected
    for type_, key in (("ec2:vpc", "vpc"), ("ec2:security-group", "sg"), ("ec2:instance", "instance")):
        rec = next(r for r in records[type_] if r.resource_id == ids[key])
        assert rec.name == HOSTILE
        assert rec.tags == {"Name": HOSTILE, "owner<script>": "x" * 256}


def test_every_page_is_read_when_the_listing_spans_pages(
    clients_for: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    region = "us-west-2"  # a region of its own: only these instances
    clients = clients_for()
    ec2 = clients("ec2", region)
    launched = {
        ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        for _ in range(11)
    }
    sent = count_requests(ec2, "DescribeInstances")
    monkeypatch.setattr(common, "PAGE_SIZE", 5)  # EC2's smallest

    ctx = make_ctx(clients, DEFAULT_ACCOUNT, region)
    records = run(Ec2Collector(), ctx)

    assert {r.resource_id for r in records if r.type == "ec2:instance"} == launched
    assert len(sent) == 3  # 5 + 5 + 1
    assert {
        t for t, c in ctx.coverage.items() if c is not Coverage.OK
    } == set()  # every listing took the page size


def test_a_denied_listing_marks_only_its_type_and_the_rest_is_collected(
    estate: dict[str, Any], clients_for: Clients
) -> None:
    clients = clients_for()
    inject_error(clients("ec2", REGION), "DescribeSecurityGroups", "UnauthorizedOperation")
    ctx = make_ctx(clients, DEFAULT_ACCOUNT, REGION)

    records = by_type(run(Ec2Collector(), ctx))

    assert ctx.coverage["ec2:security-group"] is Coverage.DENIED
    assert "ec2:security-group" not in records
    assert {t for t, c in ctx.coverage.items() if c is not Coverage.OK} == {"ec2:security-group"}
    assert records["ec2:instance"] and records["ec2:vpc"]
    error = next(e for e in ctx.errors if e.resource_type == "ec2:security-group")
    assert (error.code, error.aws_code, error.service, error.region) == (
        "access-denied",
        "UnauthorizedOperation",
        "ec2",
        REGION,
    )


def test_a_failing_attribute_call_keeps_the_snapshot_and_notes_what_is_missing(
    estate: dict[str, Any], clients_for: Clients
) -> None:
    ids, clients = estate, clients_for()
    inject_error(clients("ec2", REGION), "DescribeSnapshotAttribute", "RequestLimitExceeded", status=503)
    ctx = make_ctx(clients, DEFAULT_ACCOUNT, REGION)

    snapshots = {r.resource_id: r for r in run(Ec2Collector(), ctx) if r.type == "ec2:snapshot"}

    assert {ids["public_snapshot"], ids["private_snapshot"]} <= set(snapshots)
    assert snapshots[ids["public_snapshot"]].data["CreateVolumePermissions"] is None
    assert snapshots[ids["public_snapshot"]].data["Unavailable"] == {"CreateVolumePermissions": "throttled"}
    assert ctx.coverage.get("ec2:snapshot", Coverage.OK) is Coverage.OK  # the listing itself succeeded
    assert sum(e.operation == "DescribeSnapshotAttribute" for e in ctx.errors) == len(snapshots)


def test_an_unimplemented_operation_is_asked_once_per_region_in_a_run(
    estate: dict[str, Any], clients_for: Clients
) -> None:
    clients = clients_for()
    unsupported: set[tuple[str, str, str]] = set()
    first = make_ctx(clients, DEFAULT_ACCOUNT, REGION, unsupported)
    run(Ec2Collector(), first)
    assert ("ec2", REGION, "GetInstanceMetadataDefaults") in unsupported

    sent = count_requests(clients("ec2", REGION), "GetInstanceMetadataDefaults")
    second = make_ctx(clients, DEFAULT_ACCOUNT, REGION, unsupported)
    settings = next(r for r in run(Ec2Collector(), second) if r.type == "ec2:account-settings")

    assert sent == []  # not asked again in the same region
    assert settings.data["InstanceMetadataDefaults"] is None
    assert second.coverage.get("ec2:account-settings", Coverage.OK) is Coverage.OK
    assert not [e for e in second.errors if e.operation == "GetInstanceMetadataDefaults"]

    # another region asks for itself (an API may exist in one region and not yet in another)
    other = "eu-west-1"
    asked = count_requests(clients("ec2", other), "GetInstanceMetadataDefaults")
    run(Ec2Collector(), make_ctx(clients, DEFAULT_ACCOUNT, other, unsupported))
    assert len(asked) == 1 and ("ec2", other, "GetInstanceMetadataDefaults") in unsupported


def test_snapshots_and_images_owned_by_other_accounts_are_not_recorded(
    estate: dict[str, Any], clients_for: Clients
) -> None:
    # What moto with its default AMIs (and an endpoint ignoring OwnerIds) answers: other accounts'
    # public snapshots and images mixed with ours. Loading those defaults costs a real server ~10 s.
    clients = clients_for()
    ec2 = clients("ec2", REGION)
    sent = capture_params(ec2, "DescribeSnapshots")
    inject_answer(
        ec2,
        "DescribeSnapshots",
        {
            "Snapshots": [
                {
                    "SnapshotId": "snap-0foreign",
                    "OwnerId": "099720109477",
                    "VolumeId": "vol-1",
                    "State": "completed",
                },
                {
                    "SnapshotId": estate["private_snapshot"],
                    "OwnerId": DEFAULT_ACCOUNT,
                    "VolumeId": "vol-2",
                    "State": "completed",
                },
            ]
        },
    )
    inject_answer(
        ec2,
        "DescribeImages",
        {
            "Images": [
                {"ImageId": "ami-0foreign", "OwnerId": "137112412989", "Public": True, "Name": "amzn2"},
                {"ImageId": estate["image"], "OwnerId": DEFAULT_ACCOUNT, "Public": True, "Name": "golden"},
            ]
        },
    )

    records = by_type(run(Ec2Collector(), make_ctx(clients, DEFAULT_ACCOUNT, REGION)))

    assert [r.resource_id for r in records["ec2:snapshot"]] == [estate["private_snapshot"]]
    assert [r.resource_id for r in records["ec2:image"]] == [estate["image"]]
    # and the request itself asks only for our own snapshots
    assert sent[0]["Filters"] == [{"Name": "owner-id", "Values": [DEFAULT_ACCOUNT]}]
    assert sent[0]["OwnerIds"] == ["self"]


def test_a_denied_service_marks_every_one_of_its_types_denied(clients_for: Clients) -> None:
    clients = clients_for()
    inject_error(clients("ec2", REGION), "*", "UnauthorizedOperation")  # every EC2 call
    ctx = make_ctx(clients, DEFAULT_ACCOUNT, REGION)

    assert run(Ec2Collector(), ctx) == []

    assert ctx.coverage == {t: Coverage.DENIED for t in Ec2Collector.types}
    assert ctx.unsupported == set()
