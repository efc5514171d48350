"""The network of one account as an index: VPCs, subnets, routes, gateways, ACLs, security groups.

Pure Python, no Django. Built from stored items whose ``data`` is shaped as documented in
:mod:`inventory.resource_types`. Stored data may be incomplete or odd (a collector failed, an
endpoint left keys out, a value is ``None``), so every read goes through the small tolerant
accessors here and nothing raises on bad input: what cannot be understood is skipped and, where it
changes an answer, recorded in :attr:`Topology.warnings`.

Everything is keyed by ``(region, id)``: ids are unique per region, and one account's items may
cover several regions.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from inventory.exposure.ports import ALL, PortSet, normalise_protocol

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

WORLD_V4 = ipaddress.IPv4Network("0.0.0.0/0")
WORLD_V6 = ipaddress.IPv6Network("::/0")

# Source ranges that cannot arrive through an internet gateway: private, shared (CGNAT), loopback,
# link-local, multicast and reserved space. A rule or ACL region wholly inside one of these is not
# "from the internet".
NON_INTERNET: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


class ItemLike(Protocol):
    """What the analysis reads from a stored resource: both ``Item`` and ``Record`` fit."""

    @property
    def type(self) -> str: ...

    @property
    def arn(self) -> str: ...

    @property
    def resource_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def tags(self) -> Mapping[str, str]: ...

    @property
    def data(self) -> Mapping[str, Any]: ...


# ---------------------------------------------------------------------- tolerant accessors
_EMPTY_MAP: Mapping[str, Any] = {}


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    # ``type(...) is dict`` first: the ABC check is slow and this runs a million times on a big account.
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return _EMPTY_MAP


def as_list(value: Any) -> list[Any]:
    """``value`` as a list if it is a list/tuple, else empty (a lone string is not a list)."""
    if type(value) is list:
        return value
    return list(value) if isinstance(value, tuple) else []


def as_str(value: Any) -> str:
    """``value`` if it is a string, numbers as text, anything else as empty."""
    if type(value) is str or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def as_int(value: Any, default: int | None = None) -> int | None:
    """An integer from an int or a numeric string; ``default`` otherwise."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return default
    return default


def item_data(item: Any) -> Mapping[str, Any]:
    return as_map(getattr(item, "data", None))


def item_tags(item: Any) -> dict[str, str]:
    """Tags as a plain ``{str: str}`` (tolerates ``None`` and AWS's ``[{Key, Value}]`` list form)."""
    raw = getattr(item, "tags", None)
    if isinstance(raw, Mapping):
        return {str(k): as_str(v) if not isinstance(v, str) else v for k, v in raw.items()}
    out: dict[str, str] = {}
    for pair in as_list(raw):
        pair = as_map(pair)
        key = as_str(pair.get("Key"))
        if key:
            out[key] = as_str(pair.get("Value"))
    return out


def item_str(item: Any, attr: str) -> str:
    return as_str(getattr(item, attr, ""))


def parse_network(value: Any) -> Network | None:
    """A CIDR (or a bare address) as a network, tolerating host bits; None when it is not one."""
    text = as_str(value).strip()
    if not text:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def parse_address(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = as_str(value).strip()
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=65536)
def is_internet_source(net: Network) -> bool:
    """False when the whole range is space that never comes from the internet (private, ...)."""
    return not any(net.version == block.version and net.subnet_of(block) for block in NON_INTERNET)  # type: ignore[arg-type]


def overlaps(a: Network, b: Network) -> bool:
    return a.version == b.version and a.overlaps(b)


def covers_world(nets: Iterable[Network], version: int) -> bool:
    """Do ``nets`` (plus the space that never comes from the internet) cover the whole internet?"""
    pool = [n for n in nets if n.version == version]
    if not pool:
        return False
    if any(n.prefixlen == 0 for n in pool):
        return True
    return _covers_world(tuple(sorted(set(pool))), version)


@functools.lru_cache(maxsize=4096)
def _covers_world(pool_in: tuple[Network, ...], version: int) -> bool:
    pool = list(pool_in)
    pool += [b for b in NON_INTERNET if b.version == version]
    world = WORLD_V4 if version == 4 else WORLD_V6
    return any(n == world for n in ipaddress.collapse_addresses(pool))  # type: ignore[type-var]


# ---------------------------------------------------------------------- rules
@dataclasses.dataclass(frozen=True, slots=True)
class SgRule:
    """One security-group permission, flattened: what it allows and from (or to) where."""

    group_id: str
    ports: PortSet
    cidrs: tuple[Network, ...]
    group_refs: tuple[str, ...]  # security groups referenced (same or peered VPC)
    cross_account_refs: tuple[str, ...]  # "account/sg-id" for references to other accounts' groups
    prefix_lists: tuple[str, ...]  # ids, as written in the rule
    text: str  # "tcp/22 from 0.0.0.0/0" for evidence


@dataclasses.dataclass(frozen=True, slots=True)
class SecurityGroup:
    region: str
    group_id: str
    arn: str
    name: str
    vpc_id: str
    ingress: tuple[SgRule, ...]
    egress: tuple[SgRule, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class AclEntry:
    number: int
    allow: bool
    egress: bool
    network: Network
    ports: PortSet
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class NetworkAcl:
    region: str
    acl_id: str
    vpc_id: str
    is_default: bool
    entries: tuple[AclEntry, ...]  # sorted by rule number

    def direction(self, egress: bool) -> tuple[AclEntry, ...]:
        return tuple(e for e in self.entries if e.egress == egress)


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    destination: Network | None
    prefix_list: str
    target: str  # igw-..., nat-..., pcx-..., local, ...
    active: bool


@dataclasses.dataclass(frozen=True, slots=True)
class RouteTable:
    region: str
    table_id: str
    vpc_id: str
    is_main: bool
    routes: tuple[Route, ...]
    subnet_ids: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Subnet:
    region: str
    subnet_id: str
    arn: str
    name: str
    vpc_id: str
    cidrs: tuple[Network, ...]  # IPv4 first, then IPv6
    availability_zone: str
    tags: Mapping[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Vpc:
    region: str
    vpc_id: str
    arn: str
    name: str
    cidrs: tuple[Network, ...]
    is_default: bool
    tags: Mapping[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Peering:
    region: str
    pcx_id: str
    active: bool
    requester: tuple[str, str, str, tuple[Network, ...]]  # (owner, region, vpc id, cidrs)
    accepter: tuple[str, str, str, tuple[Network, ...]]


@dataclasses.dataclass(frozen=True, slots=True)
class InternetRoute:
    """Why a subnet is public for one address family (or why it is not: ``table_id`` may be set)."""

    table_id: str
    table_how: str  # "explicit association" | "main route table"
    gateway_id: str
    destination: str


# ---------------------------------------------------------------------- the index
def _name(item: Any, tags: Mapping[str, str]) -> str:
    # Collectors name most network items by their id; the Name tag is what people call them.
    return tags.get("Name", "") or item_str(item, "name")


def _cidr_list(*values: Any) -> tuple[Network, ...]:
    out: list[Network] = []
    for value in values:
        net = parse_network(value)
        if net is not None and net not in out:
            out.append(net)
    return tuple(out)


class Topology:
    """Index of one account's network items; see the module docstring."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.warnings: list[str] = []
        self.vpcs: dict[tuple[str, str], Vpc] = {}
        self.subnets: dict[tuple[str, str], Subnet] = {}
        self.route_tables: dict[tuple[str, str], RouteTable] = {}
        self.igws: dict[tuple[str, str], tuple[str, ...]] = {}  # igw -> attached VPC ids
        self.security_groups: dict[tuple[str, str], SecurityGroup] = {}
        self.acls: dict[tuple[str, str], NetworkAcl] = {}
        self.prefix_lists: dict[tuple[str, str], tuple[Network, ...]] = {}
        self.peerings: list[Peering] = []
        self.eips: list[Mapping[str, Any]] = []
        self.eip_regions: list[str] = []
        self._subnet_table: dict[tuple[str, str], str] = {}
        self._main_table: dict[tuple[str, str], str] = {}
        self._subnet_acl: dict[tuple[str, str], str] = {}
        self._default_acl: dict[tuple[str, str], str] = {}
        self._raw_sgs: list[tuple[str, Any]] = []
        self._route_cache: dict[tuple[str, str, int], InternetRoute | None] = {}
        self.unresolved_prefix_lists: set[str] = set()
        # (region, id) -> ARN of every network item, for links in evidence
        self.arns: dict[tuple[str, str], str] = {}
        by_kind: dict[str, list[Any]] = defaultdict(list)
        for item in items:
            by_kind[item_str(item, "type")].append(item)
        for item in by_kind["ec2:managed-prefix-list"]:
            self._add_prefix_list(item)
        for item in by_kind["ec2:vpc"]:
            self._add_vpc(item)
        for item in by_kind["ec2:subnet"]:
            self._add_subnet(item)
        for item in by_kind["ec2:route-table"]:
            self._add_route_table(item)
        for item in by_kind["ec2:internet-gateway"]:
            self._add_igw(item)
        for item in by_kind["ec2:network-acl"]:
            self._add_acl(item)
        for item in by_kind["ec2:security-group"]:
            self._add_sg(item)
        for item in by_kind["ec2:vpc-peering-connection"]:
            self._add_peering(item)
        for kind in (
            "ec2:route-table",
            "ec2:internet-gateway",
            "ec2:network-acl",
            "ec2:vpc-peering-connection",
        ):
            for item in by_kind[kind]:
                self.arns[(item_str(item, "region"), item_str(item, "resource_id"))] = item_str(item, "arn")
        for item in by_kind["ec2:elastic-ip"]:
            self.eips.append(item_data(item))
            self.eip_regions.append(item_str(item, "region"))

    # ------------------------------------------------------------------ builders
    def _add_prefix_list(self, item: Any) -> None:
        data = item_data(item)
        pl_id = as_str(data.get("PrefixListId")) or item_str(item, "resource_id")
        # Entries None: the entries could not be read, so the list stays unresolved (and reported).
        if pl_id and data.get("Entries") is not None:
            entries = [as_map(e).get("Cidr") for e in as_list(data.get("Entries"))]
            self.prefix_lists[(item_str(item, "region"), pl_id)] = _cidr_list(*entries)

    def _add_vpc(self, item: Any) -> None:
        data = item_data(item)
        vpc_id = as_str(data.get("VpcId")) or item_str(item, "resource_id")
        if not vpc_id:
            return
        tags = item_tags(item)
        v4 = [as_map(a).get("CidrBlock") for a in as_list(data.get("CidrBlockAssociationSet"))]
        v6 = [as_map(a).get("Ipv6CidrBlock") for a in as_list(data.get("Ipv6CidrBlockAssociationSet"))]
        region = item_str(item, "region")
        self.vpcs[(region, vpc_id)] = Vpc(
            region,
            vpc_id,
            item_str(item, "arn"),
            _name(item, tags),
            _cidr_list(data.get("CidrBlock"), *v4, *v6),
            data.get("IsDefault") is True,
            tags,
        )

    def _add_subnet(self, item: Any) -> None:
        data = item_data(item)
        subnet_id = as_str(data.get("SubnetId")) or item_str(item, "resource_id")
        if not subnet_id:
            return
        tags = item_tags(item)
        v6 = [as_map(a).get("Ipv6CidrBlock") for a in as_list(data.get("Ipv6CidrBlockAssociationSet"))]
        region = item_str(item, "region")
        self.subnets[(region, subnet_id)] = Subnet(
            region,
            subnet_id,
            item_str(item, "arn"),
            _name(item, tags),
            as_str(data.get("VpcId")),
            _cidr_list(data.get("CidrBlock"), *v6),
            as_str(data.get("AvailabilityZone")),
            tags,
        )

    def _add_route_table(self, item: Any) -> None:
        data = item_data(item)
        region = item_str(item, "region")
        table_id = as_str(data.get("RouteTableId")) or item_str(item, "resource_id")
        vpc_id = as_str(data.get("VpcId"))
        if not table_id:
            return
        routes = []
        for raw in as_list(data.get("Routes")):
            raw = as_map(raw)
            dest = parse_network(raw.get("DestinationCidrBlock")) or parse_network(
                raw.get("DestinationIpv6CidrBlock")
            )
            target = ""
            for key in (
                "GatewayId",
                "NatGatewayId",
                "VpcPeeringConnectionId",
                "TransitGatewayId",
                "NetworkInterfaceId",
                "InstanceId",
                "EgressOnlyInternetGatewayId",
                "LocalGatewayId",
                "CarrierGatewayId",
                "CoreNetworkArn",
            ):
                target = as_str(raw.get(key))
                if target:
                    break
            state = as_str(raw.get("State")) or "active"
            routes.append(
                Route(dest, as_str(raw.get("DestinationPrefixListId")), target, state != "blackhole")
            )
        is_main = False
        subnet_ids = []
        for assoc in as_list(data.get("Associations")):
            assoc = as_map(assoc)
            if assoc.get("Main") is True:
                is_main = True
            subnet = as_str(assoc.get("SubnetId"))
            state = as_str(as_map(assoc.get("AssociationState")).get("State")) or "associated"
            if subnet and state in ("associated", "associating"):
                subnet_ids.append(subnet)
        table = RouteTable(region, table_id, vpc_id, is_main, tuple(routes), tuple(subnet_ids))
        self.route_tables[(region, table_id)] = table
        for subnet in subnet_ids:
            self._subnet_table[(region, subnet)] = table_id
        if is_main and vpc_id:
            self._main_table[(region, vpc_id)] = table_id

    def _add_igw(self, item: Any) -> None:
        data = item_data(item)
        igw_id = as_str(data.get("InternetGatewayId")) or item_str(item, "resource_id")
        if not igw_id:
            return
        attached = tuple(
            as_str(as_map(a).get("VpcId"))
            for a in as_list(data.get("Attachments"))
            if as_str(as_map(a).get("State")) in ("available", "attached", "")
        )
        self.igws[(item_str(item, "region"), igw_id)] = attached

    def _add_acl(self, item: Any) -> None:
        data = item_data(item)
        region = item_str(item, "region")
        acl_id = as_str(data.get("NetworkAclId")) or item_str(item, "resource_id")
        vpc_id = as_str(data.get("VpcId"))
        if not acl_id:
            return
        entries: list[AclEntry] = []
        for raw in as_list(data.get("Entries")):
            entry = self._acl_entry(as_map(raw), acl_id)
            if entry is not None:
                entries.append(entry)
        entries.sort(key=lambda e: (e.egress, e.number))
        is_default = data.get("IsDefault") is True
        self.acls[(region, acl_id)] = NetworkAcl(region, acl_id, vpc_id, is_default, tuple(entries))
        for assoc in as_list(data.get("Associations")):
            subnet = as_str(as_map(assoc).get("SubnetId"))
            if subnet:
                self._subnet_acl[(region, subnet)] = acl_id
        if is_default and vpc_id:
            self._default_acl[(region, vpc_id)] = acl_id

    def _acl_entry(self, raw: Mapping[str, Any], acl_id: str) -> AclEntry | None:
        number = as_int(raw.get("RuleNumber"))
        proto = normalise_protocol(raw.get("Protocol"))
        net = parse_network(raw.get("CidrBlock")) or parse_network(raw.get("Ipv6CidrBlock"))
        action = as_str(raw.get("RuleAction")).lower()
        if number is None or proto is None or net is None or action not in ("allow", "deny"):
            self.warnings.append(f"{acl_id}: ignored an ACL entry that could not be read ({_short(raw)})")
            return None
        if proto == ALL:
            ports = PortSet.all()
        elif proto in ("icmp", "icmpv6"):
            icmp_type = as_int(as_map(raw.get("IcmpTypeCode")).get("Type"), -1)
            ports = (
                PortSet.of(proto)
                if icmp_type is None or icmp_type < 0
                else PortSet.of(proto, icmp_type, icmp_type)
            )
        elif proto in ("tcp", "udp"):
            rng = as_map(raw.get("PortRange"))
            lo, hi = as_int(rng.get("From")), as_int(rng.get("To"))
            ports = (
                PortSet.of(proto, lo, hi if hi is not None else lo) if lo is not None else PortSet.of(proto)
            )
        else:
            ports = PortSet.of(proto)
        direction = "egress" if raw.get("Egress") is True else "ingress"
        text = f"rule {number} {action} {ports.label()} {'to' if direction == 'egress' else 'from'} {net}"
        return AclEntry(number, action == "allow", raw.get("Egress") is True, net, ports, text)

    def _add_sg(self, item: Any) -> None:
        data = item_data(item)
        region = item_str(item, "region")
        group_id = as_str(data.get("GroupId")) or item_str(item, "resource_id")
        if not group_id:
            return
        owner = as_str(data.get("OwnerId"))
        ingress = tuple(
            r
            for r in (
                self._sg_rule(group_id, region, owner, p, False) for p in as_list(data.get("IpPermissions"))
            )
            if r is not None
        )
        egress = tuple(
            r
            for r in (
                self._sg_rule(group_id, region, owner, p, True)
                for p in as_list(data.get("IpPermissionsEgress"))
            )
            if r is not None
        )
        self.security_groups[(region, group_id)] = SecurityGroup(
            region,
            group_id,
            item_str(item, "arn"),
            as_str(data.get("GroupName")) or item_str(item, "name"),
            as_str(data.get("VpcId")),
            ingress,
            egress,
        )

    def _sg_rule(self, group_id: str, region: str, owner: str, raw: Any, egress: bool) -> SgRule | None:
        raw = as_map(raw)
        proto = normalise_protocol(raw.get("IpProtocol"))
        if proto is None:
            self.warnings.append(
                f"{group_id}: ignored a rule with protocol {as_str(raw.get('IpProtocol'))!r}"
            )
            return None
        lo, hi = as_int(raw.get("FromPort")), as_int(raw.get("ToPort"))
        if proto == ALL:
            ports = PortSet.all()
        elif proto in ("icmp", "icmpv6"):
            # FromPort is the ICMP type (-1: every type); ToPort is the code, not modelled.
            ports = PortSet.of(proto) if lo is None or lo < 0 else PortSet.of(proto, lo, lo)
        elif proto in ("tcp", "udp"):
            if lo is None or lo < 0:
                ports = PortSet.of(proto)
            else:
                ports = PortSet.of(proto, lo, hi if hi is not None and hi >= 0 else lo)
        else:
            ports = PortSet.of(proto)
        cidrs: list[Network] = []
        for r in as_list(raw.get("IpRanges")):
            net = parse_network(as_map(r).get("CidrIp"))
            if net is not None:
                cidrs.append(net)
            elif as_map(r).get("CidrIp") is not None:
                self.warnings.append(f"{group_id}: ignored an odd CIDR {_short(as_map(r).get('CidrIp'))}")
        for r in as_list(raw.get("Ipv6Ranges")):
            net = parse_network(as_map(r).get("CidrIpv6"))
            if net is not None:
                cidrs.append(net)
        prefix_lists = []
        for r in as_list(raw.get("PrefixListIds")):
            pl_id = as_str(as_map(r).get("PrefixListId"))
            if not pl_id:
                continue
            prefix_lists.append(pl_id)
            resolved = self.prefix_lists.get((region, pl_id))
            if resolved is None:
                self.unresolved_prefix_lists.add(pl_id)
                self.warnings.append(
                    f"{group_id}: prefix list {pl_id} was not collected (AWS-managed?); its ranges are not counted"
                )
            else:
                cidrs.extend(resolved)
        refs, foreign = [], []
        for pair in as_list(raw.get("UserIdGroupPairs")):
            pair = as_map(pair)
            ref = as_str(pair.get("GroupId"))
            user = as_str(pair.get("UserId"))
            if not ref:
                continue
            if user and owner and user != owner:
                foreign.append(f"{user}/{ref}")
            else:
                refs.append(ref)
        where = "to" if egress else "from"
        sources = [str(c) for c in cidrs] + prefix_lists + refs + foreign
        text = f"{ports.label()} {where} {', '.join(sources[:8]) or 'nowhere'}"
        if len(sources) > 8:
            text += f" (+{len(sources) - 8} more)"
        return SgRule(group_id, ports, tuple(cidrs), tuple(refs), tuple(foreign), tuple(prefix_lists), text)

    def _add_peering(self, item: Any) -> None:
        data = item_data(item)
        pcx = as_str(data.get("VpcPeeringConnectionId")) or item_str(item, "resource_id")
        if not pcx:
            return
        status = as_str(as_map(data.get("Status")).get("Code"))
        region = item_str(item, "region")

        def side(key: str) -> tuple[str, str, str, tuple[Network, ...]]:
            info = as_map(data.get(key))
            v4 = [as_map(c).get("CidrBlock") for c in as_list(info.get("CidrBlockSet"))]
            v6 = [as_map(c).get("Ipv6CidrBlock") for c in as_list(info.get("Ipv6CidrBlockSet"))]
            return (
                as_str(info.get("OwnerId")),
                as_str(info.get("Region")) or region,
                as_str(info.get("VpcId")),
                _cidr_list(info.get("CidrBlock"), *v4, *v6),
            )

        self.peerings.append(
            Peering(region, pcx, status == "active", side("RequesterVpcInfo"), side("AccepterVpcInfo"))
        )

    # ------------------------------------------------------------------ queries
    def arn_of(self, region: str, resource_id: str) -> str:
        """The stored ARN of a route table, gateway, ACL or peering ("" when unknown)."""
        return self.arns.get((region, resource_id), "")

    def subnet(self, region: str, subnet_id: str) -> Subnet | None:
        return self.subnets.get((region, subnet_id))

    def vpc_of_subnet(self, region: str, subnet_id: str) -> str:
        subnet = self.subnets.get((region, subnet_id))
        return subnet.vpc_id if subnet else ""

    def route_table_for(self, region: str, subnet_id: str, vpc_id: str = "") -> tuple[RouteTable | None, str]:
        """The subnet's route table and how it was found (explicit association, else the VPC's main)."""
        table_id = self._subnet_table.get((region, subnet_id))
        if table_id:
            return self.route_tables.get((region, table_id)), "explicit association"
        vpc_id = vpc_id or self.vpc_of_subnet(region, subnet_id)
        table_id = self._main_table.get((region, vpc_id), "")
        if table_id:
            return self.route_tables.get((region, table_id)), "main route table"
        return None, ""

    def internet_route(
        self, region: str, subnet_id: str, version: int, vpc_id: str = ""
    ) -> InternetRoute | None:
        """The default route (0.0.0.0/0 or ::/0) to an internet gateway for this subnet, if any."""
        key = (region, subnet_id, version)
        if key in self._route_cache:
            return self._route_cache[key]
        found: InternetRoute | None = None
        table, how = self.route_table_for(region, subnet_id, vpc_id)
        if table is not None:
            world = WORLD_V4 if version == 4 else WORLD_V6
            vpc = vpc_id or table.vpc_id or self.vpc_of_subnet(region, subnet_id)
            for route in table.routes:
                if not (route.active and route.destination == world and route.target.startswith("igw-")):
                    continue
                attached = self.igws.get((region, route.target))
                # An IGW we know about must be attached to this VPC; an uncollected one is trusted.
                if attached is not None and vpc and vpc not in attached:
                    continue
                found = InternetRoute(table.table_id, how, route.target, str(world))
                break
        self._route_cache[key] = found
        return found

    def is_public(self, region: str, subnet_id: str, vpc_id: str = "") -> bool:
        return any(self.internet_route(region, subnet_id, v, vpc_id) for v in (4, 6))

    def acl_for(self, region: str, subnet_id: str, vpc_id: str = "") -> NetworkAcl | None:
        acl_id = self._subnet_acl.get((region, subnet_id))
        if not acl_id:
            acl_id = self._default_acl.get((region, vpc_id or self.vpc_of_subnet(region, subnet_id)), "")
        return self.acls.get((region, acl_id)) if acl_id else None

    def groups(self, region: str, group_ids: Iterable[str]) -> list[SecurityGroup]:
        return [g for g in (self.security_groups.get((region, gid)) for gid in group_ids) if g is not None]

    def peering_routes(self, region: str, subnet_id: str, pcx_id: str) -> list[Network]:
        """Destinations this subnet routes to ``pcx_id``."""
        table, _how = self.route_table_for(region, subnet_id)
        if table is None:
            return []
        return [
            r.destination
            for r in table.routes
            if r.active and r.target == pcx_id and r.destination is not None
        ]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nets_text(nets: Sequence[Network], limit: int = 6) -> str:
    parts = [str(n) for n in nets[:limit]]
    if len(nets) > limit:
        parts.append(f"+{len(nets) - limit} more")
    return ", ".join(parts)
