"""Security-group and network-ACL helpers: internet CIDRs, port ranges, all traffic, rule order."""

from __future__ import annotations

import pytest

from iam_audit.checks import network as n
from tests.iam_audit.checks.factories import nacl_entry, perm


def sg(*perms: dict) -> dict:
    return {"GroupId": "sg-1", "IpPermissions": list(perms)}


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "0.0.0.0/00", " 0.0.0.0/0 "])
def test_internet_cidrs(cidr: str) -> None:
    assert n.is_internet(cidr)


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "0.0.0.0/1", "2001:db8::/32", "nonsense", None, 5])
def test_other_cidrs_are_not_the_internet(cidr: object) -> None:
    assert not n.is_internet(cidr)


def test_port_range_covering_22_is_found_with_its_range() -> None:
    rules = n.internet_ingress(sg(perm("tcp", 0, 1024, cidrs=["0.0.0.0/0"])))
    [(rule, port, proto)] = n.rules_on_ports(rules, n.ADMIN_PORT_PROTOCOLS)
    assert (port, proto) == (22, "tcp")
    assert rule.describe() == "tcp 0-1024 from 0.0.0.0/0"
    assert rule.evidence()["from_port"] == 0 and rule.evidence()["to_port"] == 1024


def test_all_traffic_rule_covers_every_port_and_protocol() -> None:
    [rule] = n.internet_ingress(sg(perm("-1", v6=["::/0"])))
    assert rule.protocol == "all" and rule.all_ports and rule.source == "::/0"
    assert rule.covers(22) and rule.covers(3389, "udp") and rule.covers(5432)
    assert rule.describe() == "all traffic from ::/0"


def test_ipv6_only_rule_on_ssh() -> None:
    rules = n.internet_ingress(sg(perm("tcp", 22, cidrs=["10.0.0.0/8"], v6=["::/0"])))
    assert [r.source for r in rules] == ["::/0"]


def test_restricted_and_icmp_rules_are_not_internet_port_grants() -> None:
    rules = n.internet_ingress(
        sg(perm("tcp", 22, cidrs=["203.0.113.0/24"]), perm("icmp", 8, -1, cidrs=["0.0.0.0/0"]))
    )
    assert n.rules_on_ports(rules, n.ADMIN_PORT_PROTOCOLS) == []
    assert [r.protocol for r in rules] == ["icmp"] and not rules[0].all_ports


def test_full_tcp_range_counts_as_all_ports() -> None:
    [rule] = n.internet_ingress(sg(perm("6", 0, 65535, cidrs=["0.0.0.0/0"])))
    assert rule.protocol == "tcp" and rule.all_ports


def test_prefix_list_holding_the_internet_is_open() -> None:
    rules = n.internet_ingress(
        sg(perm("tcp", 22, prefix_lists=["pl-1", "pl-unknown"])), {"pl-1": ["10.0.0.0/8", "0.0.0.0/0"]}
    )
    assert [(r.source, r.prefix_list) for r in rules] == [("0.0.0.0/0", "pl-1")]


@pytest.mark.parametrize(
    "permission",
    [
        {"IpProtocol": None},
        {"IpProtocol": "tcp", "FromPort": "x", "ToPort": None, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "IpRanges": "0.0.0.0/0"},
        {"IpProtocol": "bogus", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        "not a dict",
    ],
)
def test_odd_permissions_do_not_crash(permission: object) -> None:
    n.internet_ingress({"IpPermissions": [permission]})


def test_missing_ports_on_tcp_mean_every_port() -> None:
    [rule] = n.internet_ingress(
        {"IpPermissions": [{"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}
    )
    assert rule.all_ports


# ----------------------------------------------------------------------------------- NACLs
def verdict(entries: list[dict], port: int = 22, proto: str = "tcp", family: int = 4) -> n.NaclVerdict:
    return n.nacl_internet_ingress(n.nacl_entries({"Entries": entries}), port, proto, family)


def test_nacl_deny_before_allow_closes_the_port() -> None:
    v = verdict([nacl_entry(100, "allow", protocol="-1"), nacl_entry(50, "deny", ports=(22, 22))])
    assert not v.open and v.deciding and v.deciding.rule_number == 50


def test_nacl_allow_before_deny_opens_the_port() -> None:
    v = verdict([nacl_entry(100, "allow", ports=(0, 1024)), nacl_entry(200, "deny", ports=(22, 22))])
    assert v.open and v.deciding and v.deciding.rule_number == 100


def test_nacl_narrow_deny_before_allow_all_leaves_the_rest_of_the_internet_open() -> None:
    v = verdict(
        [
            nacl_entry(10, "deny", ports=(22, 22), cidr="198.51.100.7/32"),
            nacl_entry(100, "allow", protocol="-1"),
        ]
    )
    assert v.open and [e.rule_number for e in v.earlier] == [10]


def test_nacl_denies_covering_the_whole_space_close_the_port() -> None:
    v = verdict(
        [
            nacl_entry(10, "deny", ports=(22, 22), cidr="0.0.0.0/1"),
            nacl_entry(11, "deny", ports=(22, 22), cidr="128.0.0.0/1"),
            nacl_entry(100, "allow", protocol="-1"),
        ]
    )
    assert not v.open


def test_nacl_restricted_allow_is_not_from_the_internet() -> None:
    v = verdict(
        [
            nacl_entry(100, "allow", ports=(22, 22), cidr="203.0.113.0/24"),
            nacl_entry(32767, "deny", protocol="-1"),
        ]
    )
    assert not v.open


def test_nacl_egress_entries_and_other_families_are_ignored() -> None:
    entries = [
        nacl_entry(100, "allow", protocol="-1", egress=True),
        nacl_entry(101, "allow", protocol="-1", cidr="::/0"),
    ]
    assert not verdict(entries).open
    assert verdict(entries, family=6).open


def test_nacl_udp_3389() -> None:
    entries = [nacl_entry(100, "allow", protocol="17", ports=(3389, 3389))]
    assert verdict(entries, 3389, "udp").open and not verdict(entries, 3389, "tcp").open


def test_nacl_entries_skip_malformed_ones() -> None:
    entries = n.nacl_entries(
        {
            "Entries": [
                {"RuleNumber": "x"},
                {"RuleNumber": 5, "RuleAction": "allow", "Protocol": "-1"},
                None,
                nacl_entry(7, "allow", protocol="-1"),
            ]
        }
    )
    assert [e.rule_number for e in entries] == [7]
