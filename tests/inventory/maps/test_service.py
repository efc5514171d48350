"""The Django bridge of the exposure analysis: stored resources in, cached exposure and maps out."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AwsAccount
from inventory.exposure.mapgraph import INTERNET
from inventory.models import Resource
from inventory.records import Coverage
from inventory.services import exposure as service
from tests.factories import AwsAccountFactory
from tests.inventory.exposure import builders as b
from tests.inventory.maps.conftest import HIDDEN_ARN, REGION, WEB_ARN, network, store

pytestmark = pytest.mark.django_db


def test_stored_account_exposes_exactly_the_public_instance_with_its_path(account: AwsAccount) -> None:
    exposure = service.account_exposure(account)
    assert [x["arn"] for x in exposure.exposed] == [WEB_ARN]
    row = exposure.exposed[0]
    assert row["resource_pk"] == Resource.objects.get(arn=WEB_ARN).pk
    assert row["ports_text"] == "tcp/22, tcp/443"
    assert [h["kind"] for h in row["hops"]] == [
        "internet-gateway",
        "route-table",
        "subnet",
        "network-acl",
        "security-group",
        "resource",
    ]
    # every hop that is a stored resource links to it (the gateway, route table, subnet, ACL, group)
    assert all(h["resource_pk"] for h in row["hops"])
    assert row["path_text"] == (
        "Internet gateway igw-1 (route 0.0.0.0/0 → igw-1) → Route table rtb-pub (explicit association)"
        " → Subnet subnet-pub (public: default route to an internet gateway)"
        " → Network ACL acl-default (rule 100 allow all traffic from 0.0.0.0/0)"
        " → Security group sg-web (tcp/22 from 0.0.0.0/0; tcp/443 from 0.0.0.0/0)"
        " → Resource i-web (public IP 54.0.0.10)"
    )


def test_exposure_is_cached_until_the_account_is_collected_again(
    account: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = service.compute_exposure

    def counting(
        account_pk: int, stamp: str = "", organisation: frozenset[str] | None = None
    ) -> service.AccountExposure:
        calls.append(account_pk)
        return real(account_pk, stamp, organisation)

    monkeypatch.setattr(service, "compute_exposure", counting)
    assert service.account_exposure(account).count == 1
    assert service.account_exposure(account).count == 1
    assert len(calls) == 1
    # the next collection closes the web instance's group: a new stamp, a new answer
    closed = [
        b.sg("sg-web", "vpc-1", [b.perm("tcp", 22, cidrs=["10.0.0.0/8"])], name="web")
        if i.resource_id == "sg-web"
        else i
        for i in network()
    ]
    store(account, closed, at=timezone.now() + dt.timedelta(seconds=5))
    assert service.account_exposure(account).count == 0
    assert len(calls) == 2


def test_deleted_resources_are_not_analysed(account: AwsAccount) -> None:
    Resource.objects.filter(arn=WEB_ARN).update(deleted_at=timezone.now())
    items, pk_by_arn = service.load_items(account.pk)
    assert WEB_ARN not in pk_by_arn and HIDDEN_ARN in pk_by_arn
    assert all(i.type in service.NETWORK_TYPES for i in items)


def test_only_network_types_are_loaded(account: AwsAccount) -> None:
    Resource.objects.create(
        account=account, region=REGION, service="s3", type="s3:bucket", arn="arn:aws:s3:::b", data_hash="x"
    )
    items, _ = service.load_items(account.pk)
    assert "s3:bucket" not in {i.type for i in items}


@pytest.mark.parametrize(
    ("ports", "port", "expected"),
    [
        ([{"protocol": "tcp", "from_port": 20, "to_port": 25}], 22, True),
        ([{"protocol": "tcp", "from_port": 20, "to_port": 25}], 26, False),
        ([{"protocol": "udp", "from_port": 53, "to_port": 53}], 53, True),
        ([{"protocol": "all", "from_port": 0, "to_port": 65535}], 3389, True),
        ([{"protocol": "icmp", "from_port": 0, "to_port": 255}], 8, False),
        # "other protocols" beside tcp and udp ranges does not include more tcp/udp ports
        (
            [
                {"protocol": "tcp", "from_port": 80, "to_port": 80},
                {"protocol": "udp", "from_port": 53, "to_port": 53},
                {"protocol": "other", "from_port": 0, "to_port": 65535},
            ],
            22,
            False,
        ),
        # ... but beside tcp alone it includes every udp port
        (
            [
                {"protocol": "tcp", "from_port": 80, "to_port": 80},
                {"protocol": "other", "from_port": 0, "to_port": 65535},
            ],
            22,
            True,
        ),
        ([{"protocol": "tcp", "from_port": "x", "to_port": None}], 22, False),
    ],
)
def test_port_filter_reads_every_kind_of_range(
    ports: list[dict[str, Any]], port: int, expected: bool
) -> None:
    assert service.port_matches(ports, port) is expected


# ---------------------------------------------------------------------- findings agreement input
def test_security_group_reachability_tells_reachable_from_protecting_nothing(account: AwsAccount) -> None:
    items, _ = service.load_items(account.pk)
    coverage = {(t, REGION): Coverage.OK for t in service.NETWORK_TYPES}
    reach = service.sg_reachability(items, coverage)
    assert reach[b.arn("security-group", "sg-web")] is True
    assert reach[b.arn("security-group", "sg-hidden")] is False


def test_unreachable_is_unknown_when_the_region_was_not_collected_completely(account: AwsAccount) -> None:
    items, _ = service.load_items(account.pk)
    coverage = {(t, REGION): Coverage.OK for t in service.NETWORK_TYPES}
    coverage[("ec2:instance", REGION)] = Coverage.DENIED  # an instance might hide behind the group
    reach = service.sg_reachability(items, coverage)
    assert reach[b.arn("security-group", "sg-hidden")] is None
    assert reach[b.arn("security-group", "sg-web")] is True  # something reachable is a fact anyway
    del coverage[("ec2:instance", REGION)]  # never collected at all: unknown as well
    assert service.sg_reachability(items, coverage)[b.arn("security-group", "sg-hidden")] is None
    coverage[("ec2:instance", REGION)] = Coverage.UNSUPPORTED  # not offered there: nothing exists
    assert service.sg_reachability(items, coverage)[b.arn("security-group", "sg-hidden")] is False


def test_reachability_of_an_account_without_groups_is_empty() -> None:
    assert service.sg_reachability([]) == {}


# ---------------------------------------------------------------------- the map
def test_map_payload_is_built_from_stored_resources_with_server_made_links(account: AwsAccount) -> None:
    payload = service.map_payload(account, service.MapFilters(region=REGION))
    stats = payload["stats"]
    assert stats["resources"] == 2 and stats["exposed"] == 1 and stats["vpcs"] == 1
    keys = [k for trace in payload["figure"]["data"] for k in trace.get("customdata") or []]
    assert WEB_ARN in keys and HIDDEN_ARN in keys and INTERNET in keys
    web_pk = Resource.objects.get(arn=WEB_ARN).pk
    assert payload["links"][WEB_ARN] == reverse("inventory:resource_detail", args=[web_pk])
    internet = urlsplit(payload["links"][INTERNET])
    assert internet.path == reverse("inventory:exposed")
    assert parse_qs(internet.query) == {"account": [str(account.pk)], "region": [REGION]}
    assert [n["resource_id"] for n in payload["exposed"]] == ["i-web"]
    assert payload["exposed"][0]["url"] == reverse("inventory:resource_detail", args=[web_pk])


def test_a_group_node_links_to_the_filtered_resource_list(db: None) -> None:
    acct = AwsAccountFactory(account_id=b.ACCOUNT)
    fleet = [
        b.instance(
            f"i-app{n}",
            "subnet-priv",
            "vpc-1",
            ["sg-app"],
            private_ip=f"10.0.2.{20 + n}",
            tags={"aws:autoscaling:groupName": "app&asg"},
        )
        for n in range(4)
    ]
    store(acct, [*b.base_network(), b.sg("sg-app", "vpc-1", []), *fleet])
    payload = service.map_payload(acct, service.MapFilters(region=REGION))
    assert payload["stats"]["grouped"] == 4 and payload["stats"]["groups"] == 1
    (group_key,) = [k for k in payload["links"] if k.startswith("group?")]
    link = urlsplit(payload["links"][group_key])
    assert link.path == reverse("inventory:resource_list")
    assert parse_qs(link.query) == {
        "account_id": [str(acct.pk)],
        "region": [REGION],
        "type": ["ec2:instance"],
        "tag_key": ["aws:autoscaling:groupName"],
        "tag_value": ["app&asg"],
    }


def test_map_filters_are_part_of_the_cache_key(account: AwsAccount) -> None:
    everything = service.map_payload(account, service.MapFilters(region=REGION))
    exposed = service.map_payload(account, service.MapFilters(region=REGION, exposed_only=True))
    assert everything["stats"]["resources"] == 2
    assert exposed["stats"]["resources"] == 1
    tagged = service.map_payload(
        account, service.MapFilters(region=REGION, tag_key="team", tag_value="<b>ops</b>")
    )
    assert tagged["stats"]["resources"] == 1


def test_regions_and_vpcs_for_the_filters(account: AwsAccount) -> None:
    other_vpc = b.item("ec2:vpc", "vpc-9", {"VpcId": "vpc-9", "CidrBlock": "10.9.0.0/16"}, region="us-east-1")
    store(account, [other_vpc], region="us-east-1")
    assert service.network_regions(account.pk) == [REGION, "us-east-1"]
    assert service.vpcs_in(account.pk, REGION) == [("vpc-1", "vpc-1")]


# ---------------------------------------------------------------------- estate overview
def test_estate_overview_counts_live_resources_in_sql(account: AwsAccount) -> None:
    other = AwsAccountFactory(name="sandbox <i>x</i>")
    Resource.objects.create(
        account=other, region="global", service="s3", type="s3:bucket", arn="arn:aws:s3:::a", data_hash="x"
    )
    Resource.objects.create(
        account=other,
        region="global",
        service="s3",
        type="s3:bucket",
        arn="arn:aws:s3:::gone",
        data_hash="x",
        deleted_at=timezone.now(),
    )
    overview = service.estate_overview()
    trace = overview["figure"]["data"][0]
    values = dict(zip(trace["ids"], trace["values"], strict=True))
    label = f"sandbox <i>x</i> ({other.account_id})"
    assert values[label] == 1  # the deleted bucket does not count
    assert overview["accounts"][label] == other.pk
    assert overview["total"] == Resource.objects.filter(deleted_at__isnull=True).count()
    assert "<i>" not in "".join(trace["labels"])  # labels are escaped for plotly


def test_an_account_never_collected_costs_one_query(db: None, django_assert_num_queries: Any) -> None:
    acct = AwsAccountFactory()
    with django_assert_num_queries(1):  # its collection stamp: no pass recorded, nothing stored
        assert service.account_exposure(acct).count == 0


def test_cached_exposure_of_many_accounts_costs_two_queries(
    account: AwsAccount, django_assert_num_queries: Any
) -> None:
    others = [AwsAccountFactory() for _ in range(3)]
    service.account_exposures([account, *others])
    with django_assert_num_queries(2):  # the stamps, and the organisation the trusts are judged by
        found = service.account_exposures([account, *others])
    assert [found[a.pk].count for a in (account, *others)] == [1, 0, 0, 0]
