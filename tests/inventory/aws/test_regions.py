"""Region discovery: enabled regions of our partition, intersected with the allowed list."""

from __future__ import annotations

import pytest

from inventory.aws.regions import enabled_regions, filter_regions, partition_of
from inventory.aws.session import Hub
from inventory.simulation.proxy import FaultProxy
from tests.inventory.aws.support import target


@pytest.mark.moto
def test_enabled_regions_drop_other_partitions_and_regions_not_opted_in(hub: Hub, account: str) -> None:
    regions = enabled_regions(hub.assume(target(account)))

    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(regions)
    assert regions == sorted(regions)
    assert not [r for r in regions if r.startswith(("cn-", "us-gov-"))]
    assert "me-south-1" not in regions  # moto answers not-opted-in for the opt-in regions


@pytest.mark.moto
def test_allowed_regions_intersect_and_the_answer_is_asked_once_per_session(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    session = hub.assume(target(account))
    allowed = [" EU-WEST-1 ", "us-west-2", "cn-north-1", "us-gov-west-1", "me-south-1", "xx-nowhere-9", ""]

    assert enabled_regions(session, allowed) == ["eu-west-1", "us-west-2"]
    assert enabled_regions(session, ["eu-west-1"]) == ["eu-west-1"]
    assert len(enabled_regions(session, [])) > 2

    assert len(proxy.seen("ec2", "DescribeRegions")) == 1


def test_filter_regions_ignores_malformed_items_and_serves_other_partitions() -> None:
    described = [
        {"RegionName": "eu-west-1", "OptInStatus": "opt-in-not-required"},
        {"RegionName": "af-south-1", "OptInStatus": "opted-in"},
        {"RegionName": "me-south-1", "OptInStatus": "not-opted-in"},
        {"RegionName": "us-east-2"},  # older answers list only enabled regions, without a status
        {"RegionName": "cn-north-1", "OptInStatus": "opt-in-not-required"},
        {"RegionName": "<script>alert(1)</script>", "OptInStatus": "opted-in"},
        {"RegionName": None},
        {"OptInStatus": "opted-in"},
        "eu-west-2",
        {"RegionName": "eu-west-1", "OptInStatus": "opt-in-not-required"},  # duplicate
    ]

    assert filter_regions(described) == ["af-south-1", "eu-west-1", "us-east-2"]
    assert filter_regions(described, partition="aws-cn") == ["cn-north-1"]
    assert filter_regions(described, ["us-east-2"]) == ["us-east-2"]


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("eu-west-1", "aws"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-east-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ],
)
def test_partition_of_region(region: str, partition: str) -> None:
    assert partition_of(region) == partition
