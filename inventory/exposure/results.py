"""What the exposure analysis returns: plain frozen records, JSON-ready through ``as_dict()``. No Django."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from inventory.exposure.ports import PortRange

# The ways in (an exposure's ``vector``), in the order pages list them.
NETWORK = "network"  # a network path from the internet: route, ACL, security group, listener
FUNCTION_URL = "function-url"  # a Lambda function URL with AuthType NONE
RESOURCE_POLICY = "resource-policy"  # a resource-policy statement that allows anyone
ACL = "acl"  # an S3 ACL grant to AllUsers / AuthenticatedUsers
SHARING = "sharing"  # a snapshot / AMI attribute shared with every AWS account ("all")
TRUST = "trust"  # a role trust statement: anyone, or an account outside the organisation
VECTORS: dict[str, str] = {
    NETWORK: "Network path",
    FUNCTION_URL: "Lambda function URL",
    RESOURCE_POLICY: "Resource policy",
    ACL: "ACL grant",
    SHARING: "Snapshot / AMI attribute",
    TRUST: "Role trust",
}
# The vectors the network analysis finds (the others come from :mod:`inventory.exposure.vectors`).
NETWORK_VECTORS = frozenset({NETWORK, FUNCTION_URL})


@dataclasses.dataclass(frozen=True, slots=True)
class Hop:
    """One step on the way in: ``kind`` is internet-gateway, route-table, subnet, network-acl,
    security-group, listener, function-url, public-endpoint or resource."""

    kind: str
    id: str
    detail: str = ""
    arn: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "detail": self.detail, "arn": self.arn}


@dataclasses.dataclass(frozen=True, slots=True)
class Source:
    """Internet ranges and the ports each may reach (the exact answer behind ``Exposure.ports``)."""

    cidrs: tuple[str, ...]
    ports: tuple[PortRange, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"cidrs": list(self.cidrs), "ports": [p.as_dict() for p in self.ports]}


@dataclasses.dataclass(frozen=True, slots=True)
class Exposure:
    """One way into one resource: the resource, its ``vector`` (a key of :data:`VECTORS`) and the
    ``evidence`` that opens it.

    Network exposures (``network`` and ``function-url``) carry the network answer: ``ports`` is the
    union over all sources; ``cidrs`` the internet ranges that reach it; ``sources`` pairs them
    exactly. ``world`` is True when the ranges cover the whole internet (not just some addresses).
    ``path`` walks from the internet gateway to the resource. ``security_groups`` are the group ids
    whose rules admit the traffic.

    The other vectors leave the network fields empty; their ``evidence`` holds one mapping per
    statement / grant / attribute that lets anyone (or an outside account) in, each with a one-line
    ``summary`` for people and the raw AWS text for automation. A resource open in two ways (a
    public ACL and a public policy) is two exposures.
    """

    arn: str
    resource_id: str
    type: str
    region: str
    vpc_id: str = ""
    subnet_id: str = ""
    ports: tuple[PortRange, ...] = ()
    cidrs: tuple[str, ...] = ()
    path: tuple[Hop, ...] = ()
    reasons: tuple[str, ...] = ()
    name: str = ""
    world: bool = False
    public_addresses: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    vector: str = NETWORK
    evidence: tuple[Mapping[str, Any], ...] = ()

    @property
    def vector_label(self) -> str:
        return VECTORS.get(self.vector, self.vector)

    @property
    def evidence_text(self) -> str:
        """The evidence on one line (each entry's ``summary``), for exports and tooltips."""
        return "; ".join(str(e.get("summary", "")) for e in self.evidence if e.get("summary"))

    @property
    def port_label(self) -> str:
        """``tcp/22, tcp/443`` (at most six ranges, then a count)."""
        parts = [str(p) for p in self.ports]
        return ", ".join(parts[:6]) + (f" (+{len(parts) - 6} more)" if len(parts) > 6 else "")

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for the exposure command and pages)."""
        return {
            "arn": self.arn,
            "resource_id": self.resource_id,
            "type": self.type,
            "name": self.name,
            "region": self.region,
            "vpc_id": self.vpc_id,
            "subnet_id": self.subnet_id,
            "ports": [p.as_dict() for p in self.ports],
            "port_label": self.port_label,
            "cidrs": list(self.cidrs),
            "world": self.world,
            "public_addresses": list(self.public_addresses),
            "security_groups": list(self.security_groups),
            "sources": [s.as_dict() for s in self.sources],
            "path": [h.as_dict() for h in self.path],
            "reasons": list(self.reasons),
            "vector": self.vector,
            "vector_label": self.vector_label,
            "evidence": [dict(e) for e in self.evidence],
            "evidence_text": self.evidence_text,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class LoadBalancerTarget:
    """A target reachable from the internet only through an exposed load balancer."""

    lb_arn: str
    lb_id: str
    target: str  # the target's ARN when it is a known resource, else its id/IP as registered
    target_id: str
    target_group_arn: str
    ports: tuple[PortRange, ...]  # the target group's port/protocol ([] for Lambda targets)
    listener_ports: tuple[PortRange, ...]  # the load balancer's exposed ports
    allowed: bool | None  # the target's security groups admit the load balancer (None: unknown)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lb_arn": self.lb_arn,
            "lb_id": self.lb_id,
            "target": self.target,
            "target_id": self.target_id,
            "target_group_arn": self.target_group_arn,
            "ports": [p.as_dict() for p in self.ports],
            "listener_ports": [p.as_dict() for p in self.listener_ports],
            "allowed": self.allowed,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Edge:
    """``src`` can open connections to ``dst`` on ``ports``; ``via`` is security-group or peering."""

    src: str
    dst: str
    ports: tuple[PortRange, ...]
    via: str
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "src": self.src,
            "dst": self.dst,
            "ports": [p.as_dict() for p in self.ports],
            "via": self.via,
            "detail": self.detail,
        }
