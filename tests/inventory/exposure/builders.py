"""Small builders for stored items shaped like the collectors' records (see inventory/resource_types.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from iam_audit.checks.base import Item

ACCOUNT = "111122223333"
REGION = "eu-west-1"


def arn(kind: str, rid: str, service: str = "ec2", region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{kind}/{rid}"


def item(
    type_: str,
    rid: str,
    data: Mapping[str, Any],
    *,
    item_arn: str = "",
    tags: Mapping[str, str] | None = None,
    name: str = "",
    region: str = REGION,
) -> Item:
    kind = type_.split(":", 1)[1]
    return Item(
        type=type_,
        arn=item_arn or arn(kind, rid, type_.split(":")[0], region),
        resource_id=rid,
        name=name or rid,
        region=region,
        tags=dict(tags or {}),
        data=dict(data) if data is not None else data,
    )


def vpc(vpc_id: str, cidr: str) -> Item:
    return item(
        "ec2:vpc",
        vpc_id,
        {
            "VpcId": vpc_id,
            "CidrBlock": cidr,
            "IsDefault": False,
            "CidrBlockAssociationSet": [{"CidrBlock": cidr}],
        },
    )


def subnet(
    subnet_id: str, vpc_id: str, cidr: str, ipv6: str = "", tags: Mapping[str, str] | None = None
) -> Item:
    data: dict[str, Any] = {
        "SubnetId": subnet_id,
        "VpcId": vpc_id,
        "CidrBlock": cidr,
        "AvailabilityZone": "eu-west-1a",
    }
    if ipv6:
        data["Ipv6CidrBlockAssociationSet"] = [{"Ipv6CidrBlock": ipv6}]
    return item("ec2:subnet", subnet_id, data, tags=tags)


def route(dest: str, target: str, state: str = "active") -> dict[str, Any]:
    key = "DestinationIpv6CidrBlock" if ":" in dest else "DestinationCidrBlock"
    if target.startswith("pcx-"):
        tkey = "VpcPeeringConnectionId"
    elif target.startswith("nat-"):
        tkey = "NatGatewayId"
    else:
        tkey = "GatewayId"
    return {key: dest, tkey: target, "State": state, "Origin": "CreateRoute"}


def route_table(
    rtb: str, vpc_id: str, routes: Sequence[dict[str, Any]], subnets: Iterable[str] = (), main: bool = False
) -> Item:
    assoc: list[dict[str, Any]] = [
        {
            "RouteTableAssociationId": f"rtbassoc-{s}",
            "RouteTableId": rtb,
            "SubnetId": s,
            "Main": False,
            "AssociationState": {"State": "associated"},
        }
        for s in subnets
    ]
    if main:
        assoc.append(
            {
                "RouteTableAssociationId": f"rtbassoc-main-{rtb}",
                "RouteTableId": rtb,
                "Main": True,
                "AssociationState": {"State": "associated"},
            }
        )
    return item(
        "ec2:route-table",
        rtb,
        {"RouteTableId": rtb, "VpcId": vpc_id, "Routes": list(routes), "Associations": assoc},
    )


def igw(igw_id: str, vpc_id: str) -> Item:
    return item(
        "ec2:internet-gateway",
        igw_id,
        {"InternetGatewayId": igw_id, "Attachments": [{"VpcId": vpc_id, "State": "available"}]},
    )


def perm(
    proto: str,
    lo: int | None = None,
    hi: int | None = None,
    *,
    cidrs: Iterable[str] = (),
    v6: Iterable[str] = (),
    groups: Iterable[str] = (),
    prefix_lists: Iterable[str] = (),
) -> dict[str, Any]:
    p: dict[str, Any] = {
        "IpProtocol": proto,
        "IpRanges": [{"CidrIp": c} for c in cidrs],
        "Ipv6Ranges": [{"CidrIpv6": c} for c in v6],
        "PrefixListIds": [{"PrefixListId": pl} for pl in prefix_lists],
        "UserIdGroupPairs": [{"GroupId": g, "UserId": ACCOUNT} for g in groups],
    }
    if lo is not None:
        p["FromPort"] = lo
        p["ToPort"] = lo if hi is None else hi
    return p


ALL_OUT = [perm("-1", cidrs=["0.0.0.0/0"], v6=["::/0"])]


def sg(
    sg_id: str,
    vpc_id: str,
    ingress: Sequence[dict[str, Any]] = (),
    egress: Sequence[dict[str, Any]] | None = None,
    name: str = "",
) -> Item:
    return item(
        "ec2:security-group",
        sg_id,
        {
            "GroupId": sg_id,
            "GroupName": name or sg_id,
            "VpcId": vpc_id,
            "OwnerId": ACCOUNT,
            "IpPermissions": list(ingress),
            "IpPermissionsEgress": list(ALL_OUT if egress is None else egress),
        },
        name=name or sg_id,
    )


def entry(
    number: int,
    action: str,
    cidr: str = "0.0.0.0/0",
    proto: str = "-1",
    ports: tuple[int, int] | None = None,
    egress: bool = False,
) -> dict[str, Any]:
    e: dict[str, Any] = {"RuleNumber": number, "RuleAction": action, "Protocol": proto, "Egress": egress}
    e["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
    if ports is not None:
        e["PortRange"] = {"From": ports[0], "To": ports[1]}
    return e


DEFAULT_ACL_ENTRIES = [
    entry(100, "allow"),
    entry(32767, "deny"),
    entry(100, "allow", egress=True),
    entry(32767, "deny", egress=True),
    entry(101, "allow", "::/0"),
    entry(32768, "deny", "::/0"),
]


def nacl(
    acl_id: str,
    vpc_id: str,
    entries: Sequence[dict[str, Any]] | None = None,
    subnets: Iterable[str] = (),
    default: bool = False,
) -> Item:
    return item(
        "ec2:network-acl",
        acl_id,
        {
            "NetworkAclId": acl_id,
            "VpcId": vpc_id,
            "IsDefault": default,
            "Entries": list(DEFAULT_ACL_ENTRIES if entries is None else entries),
            "Associations": [
                {"NetworkAclAssociationId": f"aclassoc-{s}", "NetworkAclId": acl_id, "SubnetId": s}
                for s in subnets
            ],
        },
    )


def instance(
    iid: str,
    subnet_id: str,
    vpc_id: str,
    groups: Sequence[str],
    public_ip: str = "",
    private_ip: str = "10.0.1.10",
    ipv6: str = "",
    tags: Mapping[str, str] | None = None,
    state: str = "running",
) -> Item:
    eni: dict[str, Any] = {
        "NetworkInterfaceId": f"eni-{iid[2:]}",
        "SubnetId": subnet_id,
        "VpcId": vpc_id,
        "Groups": [{"GroupId": g, "GroupName": g} for g in groups],
        "PrivateIpAddress": private_ip,
        "PrivateIpAddresses": [{"PrivateIpAddress": private_ip, "Primary": True}],
        "Ipv6Addresses": [{"Ipv6Address": ipv6}] if ipv6 else [],
        "Attachment": {"DeviceIndex": 0, "Status": "attached"},
    }
    data: dict[str, Any] = {
        "InstanceId": iid,
        "SubnetId": subnet_id,
        "VpcId": vpc_id,
        "State": {"Name": state},
        "SecurityGroups": [{"GroupId": g, "GroupName": g} for g in groups],
        "PrivateIpAddress": private_ip,
        "NetworkInterfaces": [eni],
    }
    if public_ip:
        data["PublicIpAddress"] = public_ip
        eni["Association"] = {"PublicIp": public_ip}
    if ipv6:
        data["Ipv6Address"] = ipv6
    return item("ec2:instance", iid, data, tags=tags, name=iid)


def base_network(vpc_id: str = "vpc-1", cidr: str = "10.0.0.0/16") -> list[Item]:
    """A VPC with a public subnet (subnet-pub, 10.0.1.0/24, explicit route to igw-1) and a private one
    (subnet-priv, 10.0.2.0/24, main route table: local + NAT), default NACL allowing all."""
    return [
        vpc(vpc_id, cidr),
        subnet("subnet-pub", vpc_id, "10.0.1.0/24", ipv6="2001:db8:1:1::/64"),
        subnet("subnet-priv", vpc_id, "10.0.2.0/24"),
        igw("igw-1", vpc_id),
        route_table(
            "rtb-pub",
            vpc_id,
            [route(cidr, "local"), route("0.0.0.0/0", "igw-1"), route("::/0", "igw-1")],
            subnets=["subnet-pub"],
        ),
        route_table("rtb-main", vpc_id, [route(cidr, "local"), route("0.0.0.0/0", "nat-1")], main=True),
        nacl("acl-default", vpc_id, default=True, subnets=["subnet-pub", "subnet-priv"]),
    ]
