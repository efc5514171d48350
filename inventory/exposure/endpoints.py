"""The resources that can receive traffic, read from stored items into :class:`Endpoint`. No Django.

One :class:`Endpoint` per instance, standalone network interface, load balancer (classic and v2), RDS
instance, Lambda function and EKS cluster; each meets the network through one or more
:class:`Attachment` (a subnet, its security groups, whether it has a public IPv4 / an IPv6 address).
Network interfaces that another analysed resource stands for (an instance's, a load balancer's, an
RDS instance's, NAT/Lambda/endpoint interfaces) are not endpoints of their own.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from inventory.exposure.ports import PortSet, union_all
from inventory.exposure.results import Hop
from inventory.exposure.topology import (
    WORLD_V4,
    WORLD_V6,
    Network,
    Topology,
    as_int,
    as_list,
    as_map,
    as_str,
    is_internet_source,
    item_data,
    item_str,
    item_tags,
    parse_network,
)

ASG_TAG = "aws:autoscaling:groupName"

# Resource types that can receive traffic (and so appear on the map and in the analysis).
RECEIVER_TYPES = (
    "ec2:instance",
    "ec2:network-interface",
    "elb:load-balancer",
    "elbv2:load-balancer",
    "rds:db-instance",
    "lambda:function",
    "eks:cluster",
)

# Network interfaces another analysed resource already stands for, or that accept no inbound
# connections of their own: not analysed as separate resources.
_MANAGED_ENI_TYPES = frozenset(
    {
        "nat_gateway",
        "lambda",
        "vpc_endpoint",
        "gateway_load_balancer",
        "gateway_load_balancer_endpoint",
        "network_load_balancer",
        "load_balancer",
        "transit_gateway",
        "api_gateway_managed",
        "aws_codestar_connections_managed",
        "quicksight",
        "global_accelerator_managed",
        "iot_rules_managed",
        "ec2_instance_connect_endpoint",
    }
)
_MANAGED_ENI_DESCRIPTIONS = ("ELB ", "RDSNetworkInterface", "AWS Lambda VPC ENI", "Interface for NAT Gateway")
_NOT_RUNNING = frozenset({"stopped", "stopping", "terminated", "shutting-down"})


@dataclasses.dataclass(frozen=True, slots=True)
class Attachment:
    """Where a resource meets the network: one subnet, its security groups and addresses."""

    subnet_id: str
    vpc_id: str
    group_ids: tuple[str, ...]
    public_v4: bool
    v6: bool
    addresses: tuple[str, ...] = ()  # public addresses, for evidence
    private_ips: tuple[str, ...] = ()
    interface_id: str = ""
    sg_applies: bool = True  # False: a network load balancer without security groups


@dataclasses.dataclass
class Endpoint:
    """A resource that can receive traffic, as the analysis sees it."""

    type: str
    arn: str
    resource_id: str
    name: str
    region: str
    vpc_id: str
    tags: dict[str, str]
    attachments: list[Attachment]
    listen: PortSet | None = None  # what it listens on; None: unknown (security groups decide)
    running: bool = True
    public_reason: str = ""
    # exposure through an endpoint AWS runs (function URL, EKS API): (ports, cidrs, hops, reasons)
    direct: tuple[PortSet, tuple[Network, ...], tuple[Hop, ...], tuple[str, ...]] | None = None
    # load balancers: (target group arn, target id, ports)
    targets: list[tuple[str, str, PortSet]] = dataclasses.field(default_factory=list)
    private_ips: tuple[str, ...] = ()

    @property
    def group_ids(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for att in self.attachments:
            for gid in att.group_ids:
                seen[gid] = None
        return tuple(seen)

    @property
    def subnet_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.subnet_id for a in self.attachments if a.subnet_id))

    @property
    def asg(self) -> str:
        return self.tags.get(ASG_TAG, "")


def _ids(values: Iterable[Any], key: str | None = None) -> tuple[str, ...]:
    out = []
    for v in values:
        text = as_str(as_map(v).get(key)) if key else as_str(v)
        if text and text not in out:
            out.append(text)
    return tuple(sorted(out))


def _listener_ports(protocol: str, port: Any) -> PortSet:
    number = as_int(port)
    proto = protocol.upper()
    if number is None:
        return PortSet.empty()
    if proto == "UDP":
        return PortSet.of("udp", number, number)
    if proto == "TCP_UDP":
        return PortSet.of("tcp", number, number) | PortSet.of("udp", number, number)
    if proto == "GENEVE":
        return PortSet.of("udp", 6081, 6081)
    return PortSet.of("tcp", number, number)


def _public_invoke(policy: Any) -> bool:
    """Does a Lambda resource policy let anyone invoke the function URL?"""
    for stmt in as_list(as_map(policy).get("Statement")):
        stmt = as_map(stmt)
        if as_str(stmt.get("Effect")) != "Allow":
            continue
        principal = stmt.get("Principal")
        anyone = principal == "*" or as_map(principal).get("AWS") in ("*", ["*"])
        actions = stmt.get("Action")
        actions = [actions] if isinstance(actions, str) else as_list(actions)
        if anyone and any(as_str(a) in ("lambda:InvokeFunctionUrl", "lambda:*", "*") for a in actions):
            return True
    return False


class EndpointBuilder:
    """Turns stored items into :class:`Endpoint` objects (one per receiving resource)."""

    def __init__(self, topo: Topology, items: Sequence[Any]) -> None:
        self.topo = topo
        self.items = items
        self.eni_items: dict[tuple[str, str], Mapping[str, Any]] = {}
        self.eip_by_eni: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.eip_by_instance: dict[tuple[str, str], list[str]] = defaultdict(list)
        for data, region in zip(topo.eips, topo.eip_regions, strict=False):
            ip = as_str(data.get("PublicIp"))
            if not ip:
                continue
            eni = as_str(data.get("NetworkInterfaceId"))
            instance = as_str(data.get("InstanceId"))
            if eni:
                self.eip_by_eni[(region, eni)].append(ip)
            elif instance:
                self.eip_by_instance[(region, instance)].append(ip)

    def build(self) -> list[Endpoint]:
        for item in self.items:
            if item_str(item, "type") == "ec2:network-interface":
                data = item_data(item)
                eni_id = as_str(data.get("NetworkInterfaceId")) or item_str(item, "resource_id")
                if eni_id:
                    self.eni_items[(item_str(item, "region"), eni_id)] = data
        instance_ids = {
            (item_str(i, "region"), as_str(item_data(i).get("InstanceId")) or item_str(i, "resource_id"))
            for i in self.items
            if item_str(i, "type") == "ec2:instance"
        }
        out: list[Endpoint] = []
        for item in self.items:
            kind = item_str(item, "type")
            try:
                if kind == "ec2:instance":
                    out.append(self.instance(item))
                elif kind == "ec2:network-interface":
                    endpoint = self.interface(item, instance_ids)
                    if endpoint is not None:
                        out.append(endpoint)
                elif kind == "elbv2:load-balancer":
                    out.append(self.elbv2(item))
                elif kind == "elb:load-balancer":
                    out.append(self.elb(item))
                elif kind == "rds:db-instance":
                    out.append(self.rds(item))
                elif kind == "lambda:function":
                    out.append(self.function(item))
                elif kind == "eks:cluster":
                    out.append(self.eks(item))
            except (TypeError, ValueError, AttributeError, KeyError) as exc:  # pragma: no cover - last resort
                self.topo.warnings.append(
                    f"{item_str(item, 'arn')}: skipped, data not understood ({exc!r:.80})"
                )
        return out

    def _base(self, item: Any, vpc_id: str, attachments: list[Attachment], **kw: Any) -> Endpoint:
        return Endpoint(
            type=item_str(item, "type"),
            arn=item_str(item, "arn"),
            resource_id=item_str(item, "resource_id"),
            name=item_tags(item).get("Name", "") or item_str(item, "name"),
            region=item_str(item, "region"),
            vpc_id=vpc_id,
            tags=item_tags(item),
            attachments=attachments,
            **kw,
        )

    def _eni_public(self, region: str, eni: Mapping[str, Any]) -> list[str]:
        ips = [as_str(as_map(eni.get("Association")).get("PublicIp"))]
        ips += [
            as_str(as_map(as_map(p).get("Association")).get("PublicIp"))
            for p in as_list(eni.get("PrivateIpAddresses"))
        ]
        eni_id = as_str(eni.get("NetworkInterfaceId"))
        stored = self.eni_items.get((region, eni_id))
        if stored is not None and stored is not eni:
            ips += self._eni_public(region, stored)
        ips += self.eip_by_eni.get((region, eni_id), [])
        return list(dict.fromkeys(ip for ip in ips if ip))

    @staticmethod
    def _eni_private(eni: Mapping[str, Any]) -> list[str]:
        ips = [as_str(eni.get("PrivateIpAddress"))]
        ips += [as_str(as_map(p).get("PrivateIpAddress")) for p in as_list(eni.get("PrivateIpAddresses"))]
        return list(dict.fromkeys(ip for ip in ips if ip))

    @staticmethod
    def _eni_v6(eni: Mapping[str, Any]) -> bool:
        return any(as_str(as_map(a).get("Ipv6Address")) for a in as_list(eni.get("Ipv6Addresses")))

    def instance(self, item: Any) -> Endpoint:
        data = item_data(item)
        region = item_str(item, "region")
        instance_id = as_str(data.get("InstanceId")) or item_str(item, "resource_id")
        vpc_id = as_str(data.get("VpcId"))
        state = as_str(as_map(data.get("State")).get("Name"))
        top_groups = _ids(as_list(data.get("SecurityGroups")), "GroupId")
        top_public = as_str(data.get("PublicIpAddress"))
        enis = [as_map(e) for e in as_list(data.get("NetworkInterfaces")) if as_map(e)]
        attachments: list[Attachment] = []
        for eni in enis:
            device = as_int(as_map(eni.get("Attachment")).get("DeviceIndex"), 0)
            public = self._eni_public(region, eni)
            if device == 0 and top_public and top_public not in public:
                public.append(top_public)
            if device == 0:
                public += [
                    ip for ip in self.eip_by_instance.get((region, instance_id), []) if ip not in public
                ]
            groups = _ids(as_list(eni.get("Groups")), "GroupId") or top_groups
            attachments.append(
                Attachment(
                    subnet_id=as_str(eni.get("SubnetId")) or as_str(data.get("SubnetId")),
                    vpc_id=as_str(eni.get("VpcId")) or vpc_id,
                    group_ids=groups,
                    public_v4=bool(public),
                    v6=self._eni_v6(eni) or (device == 0 and bool(as_str(data.get("Ipv6Address")))),
                    addresses=tuple(public),
                    private_ips=tuple(self._eni_private(eni)),
                    interface_id=as_str(eni.get("NetworkInterfaceId")),
                )
            )
        if not attachments and (as_str(data.get("SubnetId")) or top_public):
            public = [top_public] if top_public else []
            public += self.eip_by_instance.get((region, instance_id), [])
            private = as_str(data.get("PrivateIpAddress"))
            attachments.append(
                Attachment(
                    subnet_id=as_str(data.get("SubnetId")),
                    vpc_id=vpc_id,
                    group_ids=top_groups,
                    public_v4=bool(public),
                    v6=bool(as_str(data.get("Ipv6Address"))),
                    addresses=tuple(public),
                    private_ips=(private,) if private else (),
                )
            )
        endpoint = self._base(item, vpc_id, attachments, running=state not in _NOT_RUNNING)
        endpoint.public_reason = "public IP " + ", ".join(a for att in attachments for a in att.addresses)
        endpoint.private_ips = tuple(ip for att in attachments for ip in att.private_ips)
        return endpoint

    def interface(self, item: Any, instance_ids: set[tuple[str, str]]) -> Endpoint | None:
        data = item_data(item)
        region = item_str(item, "region")
        attached_to = as_str(as_map(data.get("Attachment")).get("InstanceId"))
        if attached_to and (region, attached_to) in instance_ids:
            return None  # the instance stands for it
        if as_str(data.get("InterfaceType")) in _MANAGED_ENI_TYPES:
            return None
        if as_str(data.get("Description")).startswith(_MANAGED_ENI_DESCRIPTIONS):
            return None
        public = self._eni_public(region, data)
        vpc_id = as_str(data.get("VpcId"))
        att = Attachment(
            subnet_id=as_str(data.get("SubnetId")),
            vpc_id=vpc_id,
            group_ids=_ids(as_list(data.get("Groups")), "GroupId"),
            public_v4=bool(public),
            v6=self._eni_v6(data),
            addresses=tuple(public),
            private_ips=tuple(self._eni_private(data)),
            interface_id=as_str(data.get("NetworkInterfaceId")),
        )
        endpoint = self._base(item, vpc_id, [att], public_reason="public IP " + ", ".join(public))
        endpoint.private_ips = att.private_ips
        return endpoint

    def elbv2(self, item: Any) -> Endpoint:
        data = item_data(item)
        vpc_id = as_str(data.get("VpcId"))
        lb_type = as_str(data.get("Type")) or "application"
        facing = as_str(data.get("Scheme")) == "internet-facing" and lb_type != "gateway"
        address_type = as_str(data.get("IpAddressType"))
        groups = _ids(as_list(data.get("SecurityGroups")))
        sg_applies = bool(groups) or lb_type == "application"
        attachments = [
            Attachment(
                subnet_id=as_str(as_map(az).get("SubnetId")),
                vpc_id=vpc_id,
                group_ids=groups,
                public_v4=facing and address_type != "dualstack-without-public-ipv4",
                v6=facing and address_type.startswith("dualstack"),
                sg_applies=sg_applies,
                addresses=(as_str(data.get("DNSName")),) if facing and as_str(data.get("DNSName")) else (),
            )
            for az in as_list(data.get("AvailabilityZones"))
            if as_str(as_map(az).get("SubnetId"))
        ]
        listen: PortSet | None = union_all(
            _listener_ports(as_str(as_map(li).get("Protocol")), as_map(li).get("Port"))
            for li in as_list(data.get("Listeners"))
        )
        if data.get("Listeners") is None:
            # Listeners could not be read: let the security groups decide rather than say "closed".
            listen = None
            self.topo.warnings.append(
                f"{item_str(item, 'arn')}: listeners not collected; security groups decide"
            )
        endpoint = self._base(
            item,
            vpc_id,
            attachments,
            listen=listen,
            public_reason=f"{lb_type} load balancer, internet-facing" if facing else "",
        )
        for tg in as_list(data.get("TargetGroups")):
            tg = as_map(tg)
            ports = _listener_ports(as_str(tg.get("Protocol")), tg.get("Port"))
            for target in as_list(tg.get("Targets")):
                target_id = as_str(target) or as_str(as_map(target).get("Id"))
                if target_id:
                    endpoint.targets.append((as_str(tg.get("TargetGroupArn")), target_id, ports))
        return endpoint

    def elb(self, item: Any) -> Endpoint:
        data = item_data(item)
        vpc_id = as_str(data.get("VPCId")) or as_str(data.get("VpcId"))
        facing = as_str(data.get("Scheme")) == "internet-facing"
        groups = _ids(as_list(data.get("SecurityGroups")))
        attachments = [
            Attachment(
                subnet_id=s,
                vpc_id=vpc_id,
                group_ids=groups,
                public_v4=facing,
                v6=False,
                addresses=(as_str(data.get("DNSName")),) if facing and as_str(data.get("DNSName")) else (),
            )
            for s in _ids(as_list(data.get("Subnets")))
        ]
        listener_ports = PortSet.empty()
        instance_ports = PortSet.empty()
        for desc in as_list(data.get("ListenerDescriptions")):
            listener = as_map(as_map(desc).get("Listener"))
            listener_ports = listener_ports | _listener_ports(
                as_str(listener.get("Protocol")), listener.get("LoadBalancerPort")
            )
            instance_ports = instance_ports | _listener_ports(
                as_str(listener.get("InstanceProtocol")) or "TCP", listener.get("InstancePort")
            )
        listen: PortSet | None = listener_ports
        if data.get("ListenerDescriptions") is None:
            listen = None
            self.topo.warnings.append(
                f"{item_str(item, 'arn')}: listeners not collected; security groups decide"
            )
        endpoint = self._base(
            item,
            vpc_id,
            attachments,
            listen=listen,
            public_reason="classic load balancer, internet-facing" if facing else "",
        )
        for inst in as_list(data.get("Instances")):
            target_id = as_str(as_map(inst).get("InstanceId"))
            if target_id:
                endpoint.targets.append(("", target_id, instance_ports))
        return endpoint

    def rds(self, item: Any) -> Endpoint:
        data = item_data(item)
        group = as_map(data.get("DBSubnetGroup"))
        vpc_id = as_str(group.get("VpcId"))
        public = data.get("PubliclyAccessible") is True
        v6 = public and as_str(data.get("NetworkType")).upper() == "DUAL"
        groups = _ids(
            [
                g
                for g in as_list(data.get("VpcSecurityGroups"))
                if as_str(as_map(g).get("Status")) in ("active", "adding", "")
            ],
            "VpcSecurityGroupId",
        )
        address = as_str(as_map(data.get("Endpoint")).get("Address"))
        attachments = [
            Attachment(
                subnet_id=s,
                vpc_id=vpc_id,
                group_ids=groups,
                public_v4=public,
                v6=v6,
                addresses=(address,) if public and address else (),
            )
            for s in _ids(as_list(group.get("Subnets")), "SubnetIdentifier")
        ]
        port = as_int(as_map(data.get("Endpoint")).get("Port")) or as_int(data.get("DbInstancePort"))
        listen = PortSet.of("tcp", port, port) if port else None
        status = as_str(data.get("DBInstanceStatus"))
        return self._base(
            item,
            vpc_id,
            attachments,
            listen=listen,
            running=status not in ("stopped", "stopping", "deleting"),
            public_reason="PubliclyAccessible" if public else "",
        )

    def function(self, item: Any) -> Endpoint:
        data = item_data(item)
        vpc = as_map(data.get("VpcConfig"))
        vpc_id = as_str(vpc.get("VpcId"))
        groups = _ids(as_list(vpc.get("SecurityGroupIds")))
        attachments = [
            Attachment(subnet_id=s, vpc_id=vpc_id, group_ids=groups, public_v4=False, v6=False)
            for s in _ids(as_list(vpc.get("SubnetIds")))
        ]
        endpoint = self._base(item, vpc_id if attachments else "", attachments)
        url = as_map(data.get("FunctionUrl"))
        if url and as_str(url.get("AuthType")).upper() == "NONE":
            address = as_str(url.get("FunctionUrl"))
            reasons = ["function URL with AuthType NONE: anyone can call it without AWS credentials"]
            if data.get("Policy") is not None and not _public_invoke(data.get("Policy")):
                reasons.append(
                    "its resource policy does not grant public lambda:InvokeFunctionUrl (calls may be refused)"
                )
            hops = (Hop("function-url", address or "function URL", "AuthType NONE"),)
            endpoint.direct = (PortSet.of("tcp", 443, 443), (WORLD_V4, WORLD_V6), hops, tuple(reasons))
            endpoint.public_reason = "function URL " + address
        return endpoint

    def eks(self, item: Any) -> Endpoint:
        data = item_data(item)
        cfg = as_map(data.get("resourcesVpcConfig"))
        vpc_id = as_str(cfg.get("vpcId"))
        group_list = list(as_list(cfg.get("securityGroupIds")))
        if as_str(cfg.get("clusterSecurityGroupId")):
            group_list.append(cfg.get("clusterSecurityGroupId"))
        groups = _ids(group_list)
        attachments = [
            Attachment(subnet_id=s, vpc_id=vpc_id, group_ids=groups, public_v4=False, v6=False)
            for s in _ids(as_list(cfg.get("subnetIds")))
        ]
        endpoint = self._base(
            item,
            vpc_id,
            attachments,
            listen=PortSet.of("tcp", 443, 443),
            running=as_str(data.get("status")) not in ("DELETING", "FAILED"),
        )
        if cfg.get("endpointPublicAccess") is True:
            raw_cidrs = as_list(cfg.get("publicAccessCidrs")) or ["0.0.0.0/0"]
            cidrs = tuple(
                n for n in (parse_network(c) for c in raw_cidrs) if n is not None and is_internet_source(n)
            )
            address = as_str(data.get("endpoint"))
            hops = (
                Hop(
                    "public-endpoint",
                    address or "EKS API endpoint",
                    "endpointPublicAccess from " + ", ".join(str(c) for c in cidrs),
                ),
            )
            if cidrs:
                endpoint.direct = (
                    PortSet.of("tcp", 443, 443),
                    cidrs,
                    hops,
                    ("EKS cluster API endpoint is public",),
                )
                endpoint.public_reason = "public API endpoint"
        return endpoint
