"""Internet exposure and reachability between resources, for one account. Pure Python, no Django.

A resource is *exposed* when traffic from some internet address can reach it on some port:

1. it has a public address (instance / network-interface public IP or Elastic IP, an internet-facing
   load balancer, a publicly accessible RDS instance) — or a public endpoint AWS runs for it (a
   Lambda function URL with ``AuthType NONE``, an EKS public API endpoint);
2. for VPC resources, the subnet it sits in routes ``0.0.0.0/0`` (IPv4) or ``::/0`` (IPv6, only for
   resources with an IPv6 address) to an internet gateway (``igw-*``) — through the subnet's explicit
   route-table association, else the VPC's main route table;
3. the subnet's network ACL lets the traffic in (ingress rules, lowest rule number first; see
   :mod:`inventory.exposure.reach` for the stateless caveat);
4. one of its security groups allows it (IPv4/IPv6 ranges and customer prefix lists; a rule naming
   another security group never admits the internet);
5. for load balancers and databases, something listens there: listener ports, the DB port.

Instances behind an internet-facing load balancer are not directly exposed; the report lists them
in :attr:`ExposureReport.via_load_balancer` so a page can say "reachable through alb-x on 443".

:func:`internal_edges` answers "what can reach what" inside the account: security-group references
(A in group X reaches B whose group allows X) and VPC peering (active peering, routes to the
``pcx-`` in both subnets' route tables, and a security group allowing the peer's range).

Entry points: :func:`analyse_account`, :func:`internal_edges` and :func:`build_model` (which both
use, and which :mod:`inventory.exposure.mapgraph` reuses so the work is done once).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from inventory.exposure.endpoints import ASG_TAG, RECEIVER_TYPES, Attachment, Endpoint, EndpointBuilder
from inventory.exposure.ports import PortRange, PortSet, union_all
from inventory.exposure.reach import acl_allowed_ports, acl_filter, egress_allowed
from inventory.exposure.results import (
    FUNCTION_URL,
    NETWORK,
    Edge,
    Exposure,
    Hop,
    LoadBalancerTarget,
    Source,
)
from inventory.exposure.topology import (
    WORLD_V4,
    WORLD_V6,
    AclEntry,
    ItemLike,
    Network,
    Topology,
    as_int,
    covers_world,
    is_internet_source,
    overlaps,
)

__all__ = [
    "ASG_TAG",
    "RECEIVER_TYPES",
    "Attachment",
    "ClassKey",
    "Edge",
    "Endpoint",
    "Exposure",
    "ExposureReport",
    "Hop",
    "LoadBalancerTarget",
    "NetworkModel",
    "PortRange",
    "Source",
    "analyse_account",
    "build_model",
    "internal_edges",
]

_MAX_WARNINGS = 200


# ---------------------------------------------------------------------- the model
@dataclasses.dataclass(frozen=True, slots=True)
class _AttachmentResult:
    """What reaches one attachment from the internet, per security group (cached per class)."""

    per_group: Mapping[str, tuple[tuple[Network, PortSet], ...]]
    hops_in: tuple[Hop, ...]  # igw route, route table, subnet
    acl_hop: Hop | None
    acl_texts: tuple[str, ...]
    group_texts: Mapping[str, tuple[str, ...]]
    notes: tuple[str, ...]

    @property
    def ports(self) -> PortSet:
        return union_all(p for regions in self.per_group.values() for _n, p in regions)


@dataclasses.dataclass(frozen=True, slots=True)
class ClassKey:
    """Endpoints that are the same to the network: region, subnet, security groups, listening ports."""

    region: str
    vpc_id: str
    subnet_id: str
    group_ids: tuple[str, ...]
    listen: PortSet | None


class NetworkModel:
    """The account's topology, its receiving resources and everything derived from them.

    Build with :func:`build_model`; ``.report`` and :meth:`class_edges` are computed on first use.
    """

    def __init__(self, items: Sequence[Any], region: str | None = None, vpc_id: str | None = None) -> None:
        self.items = [i for i in items if i is not None]
        self.region = region
        self.vpc_id = vpc_id
        self.topology = Topology(self.items)
        all_endpoints = EndpointBuilder(self.topology, self.items).build()
        self.all_endpoints = all_endpoints
        self.endpoints = [e for e in all_endpoints if self._in_scope(e)]
        self.by_arn: dict[str, Endpoint] = {e.arn: e for e in all_endpoints if e.arn}
        self._cache: dict[tuple[Any, ...], _AttachmentResult | None] = {}
        self._report: ExposureReport | None = None
        self._classes: dict[ClassKey, list[Endpoint]] | None = None
        # (region, group id) -> ports its own rules expose on reachable resources
        self._group_ports: dict[tuple[str, str], PortSet] = {}
        self._exposed_ports: dict[str, PortSet] = {}
        self._class_edges: dict[tuple[ClassKey | str, ClassKey, str, str], PortSet] | None = None
        self._path_cache: dict[tuple[Any, ...], PortSet] = {}
        self._admits_cache: dict[tuple[Any, ...], bool | None] = {}

    def _in_scope(self, e: Endpoint) -> bool:
        if self.region is not None and e.region != self.region:
            return False
        return not (self.vpc_id is not None and e.vpc_id != self.vpc_id)

    # ------------------------------------------------------------------ internet exposure
    def _evaluate(self, region: str, att: Attachment, listen: PortSet | None) -> _AttachmentResult | None:
        key = (
            region,
            att.subnet_id,
            att.vpc_id,
            att.group_ids,
            att.public_v4,
            att.v6,
            att.sg_applies,
            listen,
        )
        if key in self._cache:
            return self._cache[key]
        result = self._evaluate_uncached(region, att, listen)
        self._cache[key] = result
        return result

    def _evaluate_uncached(
        self, region: str, att: Attachment, listen: PortSet | None
    ) -> _AttachmentResult | None:
        topo = self.topology
        vpc_id = att.vpc_id or topo.vpc_of_subnet(region, att.subnet_id)
        routes = []
        if att.public_v4:
            r4 = topo.internet_route(region, att.subnet_id, 4, vpc_id)
            if r4:
                routes.append((4, r4))
        if att.v6:
            r6 = topo.internet_route(region, att.subnet_id, 6, vpc_id)
            if r6:
                routes.append((6, r6))
        if not routes:
            return None
        versions = {v for v, _r in routes}
        first = routes[0][1]
        hops_in = [
            Hop(
                "internet-gateway",
                first.gateway_id,
                "route " + " and ".join(f"{r.destination} → {r.gateway_id}" for _v, r in routes),
                topo.arn_of(region, first.gateway_id),
            )
        ]
        hops_in.append(
            Hop("route-table", first.table_id, first.table_how, topo.arn_of(region, first.table_id))
        )
        subnet = topo.subnet(region, att.subnet_id)
        hops_in.append(
            Hop(
                "subnet",
                att.subnet_id,
                "public: default route to an internet gateway",
                subnet.arn if subnet else "",
            )
        )
        notes: list[str] = []
        limit = listen if listen is not None else PortSet.all()
        per_group_sources: dict[str, list[tuple[Network, PortSet]]] = {}
        group_rules: dict[str, list[tuple[Any, PortSet]]] = {}
        if not att.sg_applies:
            worlds = [w for w in (WORLD_V4, WORLD_V6) if w.version in versions]
            per_group_sources["(no security group)"] = [(w, limit) for w in worlds]
        else:
            known = topo.groups(region, att.group_ids)
            missing = set(att.group_ids) - {g.group_id for g in known}
            if missing:
                notes.append("security group(s) not collected: " + ", ".join(sorted(missing)))
            for group in known:
                sources: list[tuple[Network, PortSet]] = []
                for rule in group.ingress:
                    ports = rule.ports & limit
                    if not ports:
                        continue
                    for net in rule.cidrs:
                        if net.version in versions and is_internet_source(net):
                            sources.append((net, ports))
                            group_rules.setdefault(group.group_id, []).append((rule, ports))
                if sources:
                    per_group_sources[group.group_id] = sources
        acl = topo.acl_for(region, att.subnet_id, vpc_id)
        acl_hop = None
        acl_texts: set[str] = set()
        per_group: dict[str, tuple[tuple[Network, PortSet], ...]] = {}
        for gid, sources in per_group_sources.items():
            allowed: list[tuple[Network, PortSet, AclEntry | None]]
            if acl is None:
                allowed = [(n, p, None) for n, p in sources]
            else:
                allowed, capped = acl_filter(acl.direction(False), sources)
                if capped:
                    notes.append(f"{acl.acl_id}: too complex to evaluate exactly; the rest assumed allowed")
            kept = tuple((n, p) for n, p, _e in allowed if is_internet_source(n))
            for n, _p, entry in allowed:
                if entry is not None and is_internet_source(n):
                    acl_texts.add(entry.text)
            if kept:
                per_group[gid] = kept
        if not per_group:
            return None
        if acl is None:
            notes.append(f"no network ACL known for {att.subnet_id}; assumed the default (allow all)")
        else:
            ordered = sorted(acl_texts, key=lambda t: as_int(t.split()[1], 0) or 0)
            acl_hop = Hop(
                "network-acl", acl.acl_id, "; ".join(ordered) or "allows", topo.arn_of(region, acl.acl_id)
            )
        exposed_ports = union_all(p for regions in per_group.values() for _n, p in regions)
        group_texts = {
            gid: tuple(
                dict.fromkeys(rule.text for rule, ports in group_rules.get(gid, []) if ports & exposed_ports)
            )
            for gid in per_group
        }
        return _AttachmentResult(
            per_group, tuple(hops_in), acl_hop, tuple(sorted(acl_texts)), group_texts, tuple(notes)
        )

    def exposure_of(self, e: Endpoint) -> Exposure | None:
        """The internet exposure of one endpoint, or None."""
        regions: list[tuple[Network, PortSet]] = []
        reasons: list[str] = []
        path: tuple[Hop, ...] = ()
        subnet_id = ""
        groups: list[str] = []
        addresses: list[str] = []
        if e.direct is not None:
            ports, direct_cidrs, direct_hops, why = e.direct
            regions += [(c, ports) for c in direct_cidrs]
            reasons += why
            path = (*direct_hops, Hop("resource", e.resource_id, e.public_reason, e.arn))
        if e.running:
            for att in e.attachments:
                if not (att.public_v4 or att.v6):
                    continue
                result = self._evaluate(e.region, att, e.listen)
                if result is None:
                    continue
                for gid, got in result.per_group.items():
                    regions += got
                    if gid.startswith("("):
                        continue  # a network load balancer without security groups
                    if gid not in groups:
                        groups.append(gid)
                    key = (e.region, gid)
                    own = union_all(p for _n, p in got)
                    self._group_ports[key] = self._group_ports[key] | own if key in self._group_ports else own
                addresses += [a for a in att.addresses if a not in addresses]
                reasons += [n for n in result.notes if n not in reasons]
                if not subnet_id:
                    subnet_id = att.subnet_id
                    hops = list(result.hops_in)
                    if result.acl_hop:
                        hops.append(result.acl_hop)
                    for gid, texts in result.group_texts.items():
                        group = self.topology.security_groups.get((e.region, gid))
                        hops.append(
                            Hop(
                                "security-group",
                                gid,
                                "; ".join(texts) or "no security group: all listener ports",
                                group.arn if group else "",
                            )
                        )
                    if e.listen is not None and e.type.endswith("load-balancer"):
                        hops.append(Hop("listener", e.listen.label(), "listener ports"))
                    hops.append(Hop("resource", e.resource_id, e.public_reason, e.arn))
                    path = path or tuple(hops)
        if not regions:
            return None
        if e.public_reason and e.attachments and not e.direct:
            reasons.insert(0, e.public_reason + " in a subnet routed to an internet gateway")
        by_ports: dict[PortSet, list[Network]] = defaultdict(list)
        for net, ports in regions:
            by_ports[ports].append(net)
        sources = []
        all_nets: list[Network] = []
        for ports, nets in sorted(by_ports.items(), key=lambda kv: kv[0].label()):
            collapsed = _collapse(nets)
            all_nets += collapsed
            sources.append(Source(tuple(str(n) for n in collapsed), tuple(ports.ranges())))
        total = union_all(by_ports)
        self._exposed_ports[e.arn] = total
        cidrs = _collapse(all_nets)
        world = covers_world(cidrs, 4) or covers_world(cidrs, 6)
        # a function URL is its own way in (no network path: AWS serves the URL); the evidence is
        # the URL configuration, as the function-url hop records it
        url_hop = path[0] if path and path[0].kind == "function-url" else None
        return Exposure(
            vector=FUNCTION_URL if url_hop else NETWORK,
            evidence=(
                (
                    {
                        "summary": f"function URL {url_hop.id} with AuthType NONE",
                        "FunctionUrl": url_hop.id,
                        "AuthType": "NONE",
                    },
                )
                if url_hop
                else ()
            ),
            arn=e.arn,
            resource_id=e.resource_id,
            type=e.type,
            region=e.region,
            vpc_id=e.vpc_id,
            subnet_id=subnet_id,
            ports=tuple(total.ranges()),
            cidrs=tuple(str(n) for n in cidrs),
            path=path,
            reasons=tuple(reasons),
            name=e.name,
            world=world,
            public_addresses=tuple(addresses),
            security_groups=tuple(groups),
            sources=tuple(sources),
        )

    def exposed_ports(self, arn: str) -> PortSet:
        """The exact set of ports on which resource ``arn`` is exposed (empty when it is not)."""
        _ = self.report
        return self._exposed_ports.get(arn, PortSet.empty())

    @property
    def report(self) -> ExposureReport:
        """The internet-exposure report for the endpoints in scope."""
        if self._report is None:
            self._report = self._build_report()
        return self._report

    def _build_report(self) -> ExposureReport:
        exposed: list[Exposure] = []
        for e in self.endpoints:
            found = self.exposure_of(e)
            if found is not None:
                exposed.append(found)
        exposed.sort(key=lambda x: (x.region, x.vpc_id, x.type, x.resource_id, x.arn))
        by_arn = {x.arn: x for x in exposed}
        via = self._via_load_balancers(by_arn)
        sg_ports: dict[str, PortSet] = {}
        for (region, gid), ports in self._group_ports.items():
            group = self.topology.security_groups.get((region, gid))
            key = group.arn if group and group.arn else gid
            sg_ports[key] = sg_ports[key] | ports if key in sg_ports else ports
        known_groups = {g.arn for g in self.topology.security_groups.values() if g.arn}
        known_groups |= {g.group_id for g in self.topology.security_groups.values()}
        warnings = list(dict.fromkeys(self.topology.warnings))
        if len(warnings) > _MAX_WARNINGS:
            warnings = warnings[:_MAX_WARNINGS] + [f"... and {len(warnings) - _MAX_WARNINGS} more"]
        return ExposureReport(
            exposed=exposed,
            by_arn=by_arn,
            via_load_balancer=via,
            warnings=warnings,
            _sg_ports=sg_ports,
            _sg_known=known_groups,
            _sg_id_to_arn={g.group_id: g.arn for g in self.topology.security_groups.values()},
        )

    def _via_load_balancers(self, by_arn: Mapping[str, Exposure]) -> list[LoadBalancerTarget]:
        out = []
        index: dict[tuple[str, str], Endpoint] = {}
        for e in self.all_endpoints:
            index[(e.region, e.resource_id)] = e
            for ip in e.private_ips:
                index.setdefault((e.region, ip), e)
        for e in self.endpoints:
            exposure = by_arn.get(e.arn)
            if exposure is None or not e.targets:
                continue
            lb_nets = [c for s in e.subnet_ids for c in self._subnet_nets(e.region, s)]
            for tg_arn, target_id, ports in e.targets:
                target = (
                    self.by_arn.get(target_id)
                    if target_id.startswith("arn:")
                    else index.get((e.region, target_id))
                )
                allowed: bool | None = None
                if target is not None and target.attachments and ports:
                    admit_key = (target.region, target.group_ids, e.group_ids, tuple(lb_nets), ports)
                    if admit_key not in self._admits_cache:
                        self._admits_cache[admit_key] = self._admits(target, e, lb_nets, ports)
                    allowed = self._admits_cache[admit_key]
                out.append(
                    LoadBalancerTarget(
                        lb_arn=e.arn,
                        lb_id=e.resource_id,
                        target=target.arn if target else target_id,
                        target_id=target.resource_id if target else target_id,
                        target_group_arn=tg_arn,
                        ports=tuple(ports.ranges()),
                        listener_ports=exposure.ports,
                        allowed=allowed,
                    )
                )
        return out

    def _admits(
        self, target: Endpoint, lb: Endpoint, lb_nets: Sequence[Network], ports: PortSet
    ) -> bool | None:
        groups = self.topology.groups(target.region, target.group_ids)
        if not groups:
            return None
        lb_groups = set(lb.group_ids)
        for group in groups:
            for rule in group.ingress:
                if not rule.ports & ports:
                    continue
                if lb_groups.intersection(rule.group_refs):
                    return True
                if any(overlaps(c, n) for c in rule.cidrs for n in lb_nets):
                    return True
                # A network load balancer without security groups passes client addresses through.
                if not lb_groups and any(is_internet_source(c) for c in rule.cidrs):
                    return True
        return False

    # ------------------------------------------------------------------ internal reachability
    @property
    def classes(self) -> dict[ClassKey, list[Endpoint]]:
        """Endpoints grouped by what the network sees of them (every attachment counts)."""
        if self._classes is None:
            classes: dict[ClassKey, list[Endpoint]] = defaultdict(list)
            for e in self.all_endpoints:
                if not e.running:
                    continue
                for att in e.attachments:
                    key = ClassKey(e.region, att.vpc_id or e.vpc_id, att.subnet_id, att.group_ids, e.listen)
                    if not classes[key] or classes[key][-1] is not e:
                        classes[key].append(e)
            self._classes = dict(classes)
        return self._classes

    def _subnet_nets(self, region: str, subnet_id: str) -> tuple[Network, ...]:
        subnet = self.topology.subnet(region, subnet_id)
        return subnet.cidrs if subnet else ()

    def _path_ports(
        self, src: ClassKey | None, src_nets: Sequence[Network], dst: ClassKey, ports: PortSet
    ) -> PortSet:
        """Trim ``ports`` by the source's egress rules and both subnets' network ACLs."""
        # Many class pairs share subnets, groups and ports: the answer depends on nothing else.
        key = (
            (src.region, src.subnet_id, src.vpc_id, src.group_ids) if src is not None else tuple(src_nets),
            (dst.region, dst.subnet_id, dst.vpc_id, dst.group_ids),
            ports,
        )
        cached = self._path_cache.get(key)
        if cached is None:
            cached = self._path_cache[key] = self._path_ports_uncached(src, src_nets, dst, ports)
        return cached

    def _path_ports_uncached(
        self, src: ClassKey | None, src_nets: Sequence[Network], dst: ClassKey, ports: PortSet
    ) -> PortSet:
        topo = self.topology
        dst_nets = self._subnet_nets(dst.region, dst.subnet_id)
        if src is not None:
            ports = ports & egress_allowed(topo.groups(src.region, src.group_ids), dst.group_ids, dst_nets)
        if not ports or (src is not None and src.subnet_id == dst.subnet_id):
            return ports
        dst_acl = topo.acl_for(dst.region, dst.subnet_id, dst.vpc_id)
        if dst_acl is not None and src_nets:
            ports = acl_allowed_ports(dst_acl.direction(False), [(n, ports) for n in src_nets])
        if ports and src is not None and dst_nets:
            src_acl = topo.acl_for(src.region, src.subnet_id, src.vpc_id)
            if src_acl is not None:
                ports = acl_allowed_ports(src_acl.direction(True), [(n, ports) for n in dst_nets])
        return ports

    def class_edges(self) -> dict[tuple[ClassKey | str, ClassKey, str, str], PortSet]:
        """Reachability between classes: ``(src, dst, via, detail) -> ports``.

        ``src`` is a :class:`ClassKey`, or for a peered VPC outside these items a pseudo-ARN
        ``arn:aws:ec2:<region>:<owner>:vpc/<vpc-id>``. Computed once per model.
        """
        if self._class_edges is None:
            self._class_edges = self._compute_class_edges()
        return self._class_edges

    def _compute_class_edges(self) -> dict[tuple[ClassKey | str, ClassKey, str, str], PortSet]:
        edges: dict[tuple[ClassKey | str, ClassKey, str, str], PortSet] = {}
        classes = self.classes
        by_group: dict[tuple[str, str], list[ClassKey]] = defaultdict(list)
        by_vpc: dict[tuple[str, str], list[ClassKey]] = defaultdict(list)
        for key in classes:
            by_vpc[(key.region, key.vpc_id)].append(key)
            for gid in key.group_ids:
                by_group[(key.region, gid)].append(key)

        def add(src: ClassKey | str, dst: ClassKey, via: str, detail: str, ports: PortSet) -> None:
            if not ports:
                return
            k = (src, dst, via, detail)
            edges[k] = edges[k] | ports if k in edges else ports

        for dst in classes:
            for group in self.topology.groups(dst.region, dst.group_ids):
                for rule in group.ingress:
                    ports = rule.ports & dst.listen if dst.listen is not None else rule.ports
                    if not ports:
                        continue
                    for ref in rule.group_refs:
                        for src in by_group.get((dst.region, ref), ()):
                            got = self._path_ports(
                                src, self._subnet_nets(src.region, src.subnet_id), dst, ports
                            )
                            add(src, dst, "security-group", f"{group.group_id} allows {ref}", got)
        self._peering_edges(by_vpc, add)
        return edges

    def _peering_edges(self, by_vpc: Mapping[tuple[str, str], list[ClassKey]], add: Any) -> None:
        seen: set[str] = set()
        for pcx in self.topology.peerings:
            if not pcx.active or pcx.pcx_id in seen:
                continue
            seen.add(pcx.pcx_id)
            for a, b in ((pcx.requester, pcx.accepter), (pcx.accepter, pcx.requester)):
                a_owner, a_region, a_vpc, a_cidrs = a
                _b_owner, b_region, b_vpc, _b_cidrs = b
                dst_classes = by_vpc.get((b_region, b_vpc), [])
                src_classes = by_vpc.get((a_region, a_vpc), [])
                for dst in dst_classes:
                    back = self.topology.peering_routes(dst.region, dst.subnet_id, pcx.pcx_id)
                    if not back:
                        continue
                    groups = self.topology.groups(dst.region, dst.group_ids)
                    dst_nets = self._subnet_nets(dst.region, dst.subnet_id)
                    sources: list[tuple[ClassKey | str, tuple[Network, ...]]] = []
                    if src_classes:
                        sources += [(s, self._subnet_nets(s.region, s.subnet_id)) for s in src_classes]
                    elif a_cidrs:
                        sources.append((f"arn:aws:ec2:{a_region}:{a_owner}:vpc/{a_vpc}", a_cidrs))
                    for src, src_nets in sources:
                        if not src_nets or not any(overlaps(r, n) for r in back for n in src_nets):
                            continue
                        if isinstance(src, ClassKey):
                            forward = self.topology.peering_routes(src.region, src.subnet_id, pcx.pcx_id)
                            if not any(overlaps(r, n) for r in forward for n in dst_nets):
                                continue
                        ports = PortSet.empty()
                        for group in groups:
                            for rule in group.ingress:
                                if any(overlaps(c, n) for c in rule.cidrs for n in src_nets):
                                    ports = ports | rule.ports
                        if dst.listen is not None:
                            ports = ports & dst.listen
                        if not ports:
                            continue
                        got = self._path_ports(
                            src if isinstance(src, ClassKey) else None, src_nets, dst, ports
                        )
                        add(src, dst, "peering", pcx.pcx_id, got)

    def internal_edges(self, limit: int | None = None) -> list[Edge]:
        """Resource-to-resource edges (both ends in scope unless one is a peer VPC outside the items)."""
        merged: dict[tuple[str, str, str], tuple[PortSet, list[str]]] = {}
        full = False
        for (src, dst, via, detail), ports in sorted(self.class_edges().items(), key=_edge_order):
            if full:
                break
            dst_members = [e for e in self.classes[dst] if self._in_scope(e)]
            if isinstance(src, ClassKey):
                src_arns = [e.arn for e in self.classes[src]]
            else:
                src_arns = [src]
            for s in src_arns:
                for d in dst_members:
                    if s == d.arn:
                        continue
                    k = (s, d.arn, via)
                    if k in merged:
                        old_ports, details = merged[k]
                        if detail not in details:
                            details.append(detail)
                        merged[k] = (old_ports | ports, details)
                    else:
                        merged[k] = (ports, [detail])
                        full = limit is not None and len(merged) >= limit
                    if full:
                        break
                if full:
                    break
        out = [
            Edge(s, d, tuple(p.ranges()), via, "; ".join(details))
            for (s, d, via), (p, details) in merged.items()
        ]
        out.sort(key=lambda x: (x.src, x.dst, x.via))
        return out[:limit] if limit is not None else out


def _edge_order(kv: tuple[tuple[ClassKey | str, ClassKey, str, str], PortSet]) -> tuple[str, ...]:
    (src, dst, via, detail), _ports = kv
    src_text = src if isinstance(src, str) else f"{src.region}/{src.subnet_id}/{','.join(src.group_ids)}"
    return (src_text, f"{dst.region}/{dst.subnet_id}/{','.join(dst.group_ids)}", via, detail)


def _collapse(nets: Iterable[Network]) -> list[Network]:
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]
    return list(ipaddress.collapse_addresses(v4)) + list(ipaddress.collapse_addresses(v6))


# ---------------------------------------------------------------------- report
@dataclasses.dataclass
class ExposureReport:
    """The result of :func:`analyse_account`."""

    exposed: list[Exposure]
    by_arn: dict[str, Exposure]
    via_load_balancer: list[LoadBalancerTarget]
    warnings: list[str]
    _sg_ports: dict[str, PortSet] = dataclasses.field(default_factory=dict, repr=False)
    _sg_known: set[str] = dataclasses.field(default_factory=set, repr=False)
    _sg_id_to_arn: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)

    def _sg_key(self, sg: str) -> str:
        if sg.startswith("arn:"):
            return sg
        return self._sg_id_to_arn.get(sg) or sg

    def sg_exposure(self, sg: str) -> bool:
        """Does security group ``sg`` (ARN or id) admit internet traffic to something reachable?

        True only when one of its own rules is part of an exposure; a wide-open group on resources
        in private subnets (or with no public address) is False.
        """
        return bool(self._sg_ports.get(self._sg_key(sg)))

    def sg_exposed_ports(self, sg: str) -> list[PortRange]:
        """The exposed ports on resources where ``sg``'s rules admit the internet (all such resources)."""
        ports = self._sg_ports.get(self._sg_key(sg))
        return ports.ranges() if ports else []

    def sg_reachable(self, sg: str) -> bool | None:
        """Like :meth:`sg_exposure`, but None when the group was not in the analysed items."""
        key = self._sg_key(sg)
        if key not in self._sg_known and sg not in self._sg_known:
            return None
        return self.sg_exposure(sg)

    def is_exposed(self, arn: str) -> bool:
        return arn in self.by_arn

    def targets_of(self, lb_arn: str) -> list[LoadBalancerTarget]:
        return [t for t in self.via_load_balancer if t.lb_arn == lb_arn]

    def reachable_via(self, arn: str) -> list[LoadBalancerTarget]:
        """The exposed load balancers through which resource ``arn`` is reachable."""
        return [t for t in self.via_load_balancer if t.target == arn]

    def as_dict(self) -> dict[str, Any]:
        return {
            "exposed": [x.as_dict() for x in self.exposed],
            "via_load_balancer": [t.as_dict() for t in self.via_load_balancer],
            "warnings": list(self.warnings),
        }


# ---------------------------------------------------------------------- entry points
def build_model(
    items: Iterable[ItemLike], region: str | None = None, vpc_id: str | None = None
) -> NetworkModel:
    """Index one account's items and prepare the analysis (lazy); ``region``/``vpc_id`` narrow the
    resources analysed, while the whole topology (peer VPCs, prefix lists) stays available."""
    return NetworkModel(list(items), region=region, vpc_id=vpc_id)


def analyse_account(
    items: Iterable[ItemLike], region: str | None = None, vpc_id: str | None = None
) -> ExposureReport:
    """Which resources of one account are reachable from the internet, how and on which ports."""
    return build_model(items, region=region, vpc_id=vpc_id).report


def internal_edges(
    items: Iterable[ItemLike], region: str | None = None, vpc_id: str | None = None, limit: int | None = None
) -> list[Edge]:
    """Resource-to-resource reachability by security-group reference and by VPC peering.

    The number of edges is the product of the groups' sizes (500 web servers × 500 app servers is
    250,000 edges): pass ``limit`` to cap it, or use :mod:`inventory.exposure.mapgraph`, which keeps
    them grouped.
    """
    return build_model(items, region=region, vpc_id=vpc_id).internal_edges(limit=limit)
