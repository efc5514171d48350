"""The network map of one account and region: a compact graph, laid out, as a plotly figure dict.

Pure Python, no Django. VPCs and subnets are drawn as boxes (public subnets — a default route to an
internet gateway — told apart from private ones), the resources that receive traffic sit inside
them, the Internet is a node at the top, and edges show internet exposure (labelled with the ports)
and reachability between resources (security-group references, VPC peering, load balancer to its
targets).

Scale: an estate's map must stay readable and light whatever the number of instances. Resources of
the same type, in the same place (subnet, or VPC for multi-subnet resources), with the same security
groups, the same auto-scaling group tag and the same exposure are ONE node with a count; edges are
aggregated per pair of nodes with merged port labels. The payload grows with the number of distinct
*kinds* of resources, not with their number.

Names and tags come from AWS and are attacker-controlled: every piece of text that plotly renders
(hover text, labels, container titles) is passed through :func:`inventory.plotly_text.plotly_text`. The ``customdata`` of
each node is an ARN, a group key (see :func:`parse_group_key`) or ``internet``: data, not markup —
the page's script must still URL-encode it when it builds a link.

Ways in that are not network paths (``openings``: a public resource policy or ACL, a snapshot or AMI
shared with everyone, see :mod:`inventory.exposure.vectors`) mark their nodes with an orange ring
and a hover line naming the vector; the opened resources that receive no traffic (buckets, queues,
keys, snapshots...) are drawn in the "outside any VPC" column so that the map shows every way in.

The layout is computed here, deterministically (same input, same picture): VPCs are columns left to
right, each with a band for resources spanning several subnets and a grid of subnet boxes (public
first), nodes in a grid inside their box, the Internet node centred above, and resources outside
any VPC (Lambda functions without VPC config, peer VPCs of other accounts) in a last column.
"""

from __future__ import annotations

import dataclasses
import json
import math
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import plotly.graph_objects as go

from inventory.exposure.analysis import ClassKey, Endpoint, NetworkModel, build_model
from inventory.exposure.ports import PortSet, union_all
from inventory.exposure.results import Exposure
from inventory.exposure.topology import ItemLike, as_str, item_data, item_str, item_tags
from inventory.plotly_text import plotly_text

INTERNET = "internet"
OUTSIDE = "(outside VPCs)"

TYPE_STYLE: dict[str, tuple[str, str, str]] = {
    # type: (legend title, marker symbol, colour)
    "ec2:instance": ("EC2 instances", "square", "#1f77b4"),
    "ec2:network-interface": ("Network interfaces", "diamond", "#17becf"),
    "elbv2:load-balancer": ("Load balancers", "hexagon", "#9467bd"),
    "elb:load-balancer": ("Classic load balancers", "hexagon-open", "#9467bd"),
    "rds:db-instance": ("RDS instances", "cross", "#2ca02c"),
    "lambda:function": ("Lambda functions", "triangle-up", "#ff7f0e"),
    "eks:cluster": ("EKS clusters", "star-diamond", "#8c564b"),
    "ec2:nat-gateway": ("NAT gateways", "triangle-down", "#7f7f7f"),
    "peer-vpc": ("Peered VPCs (other accounts)", "octagon", "#bcbd22"),
    "s3:bucket": ("S3 buckets", "square-open", "#e377c2"),
    "sqs:queue": ("SQS queues", "pentagon", "#bcbd22"),
    "sns:topic": ("SNS topics", "pentagon-open", "#17becf"),
    "kms:key": ("KMS keys", "star-triangle-up", "#8c564b"),
    "ecr:repository": ("ECR repositories", "hourglass", "#1f77b4"),
    "secretsmanager:secret": ("Secrets", "bowtie", "#9467bd"),
    "ec2:snapshot": ("EBS snapshots", "circle-cross", "#7f7f7f"),
    "ec2:image": ("AMIs", "circle-x", "#7f7f7f"),
    "rds:db-snapshot": ("RDS snapshots", "square-cross", "#2ca02c"),
    "rds:db-cluster-snapshot": ("RDS cluster snapshots", "square-x", "#2ca02c"),
}
OPENING_COLOUR = "#ff7f0e"
EDGE_STYLE: dict[str, tuple[str, str, str]] = {
    # kind: (legend title, colour, dash)
    "internet": ("Internet exposure", "#d62728", "solid"),
    "load-balancer": ("Load balancer → targets", "#9467bd", "dot"),
    "security-group": ("Security-group reachability", "#7f7f7f", "solid"),
    "peering": ("VPC peering reachability", "#bcbd22", "dash"),
}

CELL = 1.0  # one node
PAD = 0.5  # inside a box, around its nodes
TITLE = 0.6  # room for a box's title
GAP = 0.6  # between boxes
VPC_GAP = 2.0  # between VPC columns
MAX_HOVER_MEMBERS = 8
LABEL_CHARS = 28


@dataclasses.dataclass(frozen=True)
class MapPayload:
    """The figure (a plotly figure as a JSON-ready dict) and numbers about it.

    ``stats``: resources (drawn, counting every member of a group), nodes (resource nodes, the
    Internet and peer VPCs), edges (drawn), grouped (resources folded into multi-member nodes), plus
    groups, exposed, vpcs, subnets. ``groups``: group key -> member ARNs (sorted).
    """

    figure: dict[str, Any]
    stats: dict[str, int]
    groups: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def json_bytes(self) -> int:
        """Size of the figure as compact JSON (what the page ships)."""
        return len(json.dumps(self.figure, separators=(",", ":")).encode())


def _r(value: float) -> float:
    """Coordinates to 3 decimals: the payload need not carry float noise."""
    return round(value, 3)


def esc(value: Any, limit: int = 200) -> str:
    """Text from AWS made safe for plotly's HTML-ish rendering (and bounded in length)."""
    return plotly_text(value, limit)


def group_key(
    region: str, type_: str, placement: str, group_ids: Sequence[str], asg: str, exposure: str
) -> str:
    """A URL-ish key for a group node: ``group?region=..&type=..&place=..&sg=a,b&asg=..&exposure=..``.

    The page can turn it into a resource filter with :func:`parse_group_key`.
    """
    query = {"region": region, "type": type_, "place": placement, "sg": ",".join(group_ids)}
    if asg:
        query["asg"] = asg
    if exposure:
        query["exposure"] = exposure
    return "group?" + urllib.parse.urlencode(query)


def parse_group_key(key: str) -> dict[str, Any]:
    """``group_key`` back to ``{region, type, place, sg: [ids], asg, exposure}`` ({} if not a key)."""
    if not isinstance(key, str) or not key.startswith("group?"):
        return {}
    raw = dict(urllib.parse.parse_qsl(key[len("group?") :], keep_blank_values=True))
    return {
        "region": raw.get("region", ""),
        "type": raw.get("type", ""),
        "place": raw.get("place", ""),
        "sg": [s for s in raw.get("sg", "").split(",") if s],
        "asg": raw.get("asg", ""),
        "exposure": raw.get("exposure", ""),
    }


# ---------------------------------------------------------------------- nodes and grouping
@dataclasses.dataclass
class _Node:
    key: str
    type: str
    vpc_id: str
    place: str  # subnet id, "vpc:<id>" for the VPC band, OUTSIDE
    members: list[Endpoint | _Nat]
    exposed_ports: PortSet | None
    label: str = ""
    vectors: tuple[str, ...] = ()  # labels of the non-network ways in (openings) of its members
    x: float = 0.0
    y: float = 0.0

    @property
    def count(self) -> int:
        return len(self.members)


@dataclasses.dataclass
class _Nat:
    """A NAT gateway: drawn for context (where private subnets get out), never a receiver."""

    type: str
    arn: str
    resource_id: str
    name: str
    region: str
    vpc_id: str
    subnet_id: str
    tags: dict[str, str]

    @property
    def group_ids(self) -> tuple[str, ...]:
        return ()

    @property
    def subnet_ids(self) -> tuple[str, ...]:
        return (self.subnet_id,) if self.subnet_id else ()

    @property
    def asg(self) -> str:
        return ""


def _placement(e: Endpoint | _Nat) -> str:
    subnets = e.subnet_ids
    if len(subnets) == 1:
        return subnets[0]
    if e.vpc_id:
        return f"vpc:{e.vpc_id}"
    return OUTSIDE


def _tag_match(tags: Mapping[str, str], key: str | None, value: str | None) -> bool:
    if not key:
        return True
    if key not in tags:
        return False
    return value is None or value == "" or tags.get(key) == value


def _short(e: Endpoint | _Nat) -> str:
    return e.name or e.resource_id


# ---------------------------------------------------------------------- the builder
@dataclasses.dataclass(frozen=True)
class _SubnetGrid:
    """How a VPC's subnets are laid out: in order (public first), ``cols`` to a row, each ``width`` wide
    with ``inner_cols`` nodes to a row."""

    subnets: list[str]
    public: Mapping[str, bool]
    cols: int
    inner_cols: int
    width: float

    def row_heights(self, by_place: Mapping[str, list[_Node]]) -> list[float]:
        """The height of each row of subnets: that of its tallest subnet."""
        rows = max(1, math.ceil(len(self.subnets) / self.cols)) if self.subnets else 0
        heights: list[float] = []
        for r in range(rows):
            row = self.subnets[r * self.cols : (r + 1) * self.cols]
            row_rows = max(max(1, math.ceil(len(by_place.get(s, [])) / self.inner_cols)) for s in row)
            heights.append(TITLE + row_rows * CELL + PAD)
        return heights


class _MapBuilder:
    def __init__(
        self,
        model: NetworkModel,
        region: str,
        vpc_id: str | None,
        tag_key: str | None,
        tag_value: str | None,
        exposed_only: bool,
        openings: Sequence[Exposure] = (),
    ) -> None:
        self.model = model
        self.openings: dict[str, list[Exposure]] = defaultdict(list)
        for x in openings:
            if x.region == region and x.arn:
                self.openings[x.arn].append(x)
        self.region = region
        self.vpc_id = vpc_id
        self.tag_key = tag_key
        self.tag_value = tag_value
        self.exposed_only = exposed_only
        self.report = model.report
        self.graph: nx.DiGraph[str] = nx.DiGraph()
        self.nodes: dict[str, _Node] = {}
        self.node_of: dict[str, str] = {}  # endpoint arn -> node key
        self.via_index: dict[str, list[Any]] = defaultdict(list)
        for t in self.report.via_load_balancer:
            self.via_index[t.target].append(t)

    # ------------------------------------------------------------------ selection
    def _selected(self) -> list[Endpoint | _Nat]:
        chosen: list[Endpoint | _Nat] = []
        for e in self.model.all_endpoints:
            if e.region != self.region or (self.vpc_id and e.vpc_id != self.vpc_id):
                continue
            if not _tag_match(e.tags, self.tag_key, self.tag_value):
                continue
            if self.exposed_only and e.arn not in self.report.by_arn and e.arn not in self.openings:
                continue
            chosen.append(e)
        chosen += self._opened_outside({e.arn for e in chosen} | {e.arn for e in self.model.all_endpoints})
        if not self.exposed_only:
            for item in self.model.items:
                if item_str(item, "type") != "ec2:nat-gateway" or item_str(item, "region") != self.region:
                    continue
                data = item_data(item)
                if as_str(data.get("State")) in ("deleted", "deleting", "failed"):
                    continue
                tags = item_tags(item)
                nat = _Nat(
                    "ec2:nat-gateway",
                    item_str(item, "arn"),
                    item_str(item, "resource_id"),
                    tags.get("Name", "") or item_str(item, "name"),
                    self.region,
                    as_str(data.get("VpcId")),
                    as_str(data.get("SubnetId")),
                    tags,
                )
                if self.vpc_id and nat.vpc_id != self.vpc_id:
                    continue
                if _tag_match(tags, self.tag_key, self.tag_value):
                    chosen.append(nat)
        return chosen

    def _opened_outside(self, drawn: set[str]) -> list[_Nat]:
        """Opened resources that are not network endpoints (buckets, queues, snapshots...)."""
        if self.vpc_id or not self.openings:
            return []  # they live outside every VPC
        by_arn = {item_str(i, "arn"): i for i in self.model.items}
        out = []
        for arn, found in sorted(self.openings.items()):
            if arn in drawn:
                continue
            item = by_arn.get(arn)
            tags = item_tags(item) if item is not None else {}
            if not _tag_match(tags, self.tag_key, self.tag_value):
                continue
            x = found[0]
            out.append(_Nat(x.type, arn, x.resource_id, x.name, self.region, "", "", tags))
        return out

    def _vectors(self, arn: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(x.vector_label for x in self.openings.get(arn, ())))

    def _group(self, chosen: Sequence[Endpoint | _Nat], group: bool = True) -> None:
        buckets: dict[tuple[str, ...], list[Endpoint | _Nat]] = defaultdict(list)
        for e in chosen:
            exposure = self.report.by_arn.get(e.arn)
            signature = exposure.port_label + ("/world" if exposure.world else "") if exposure else ""
            if e.arn in self.openings:
                signature += "+" + ",".join(self._vectors(e.arn))
            placement = _placement(e)
            # group=False: every resource its own node (the last key part keeps them apart)
            alone = "" if group else (e.arn or e.resource_id)
            buckets[(e.type, placement, ",".join(e.group_ids), e.asg, signature, alone)].append(e)
        for (type_, placement, groups, asg, signature, _alone), members in sorted(buckets.items()):
            members.sort(key=lambda m: (m.name, m.resource_id, m.arn))
            if len(members) == 1:
                key = members[0].arn or f"{type_}:{members[0].resource_id}"
            else:
                key = group_key(
                    self.region, type_, placement, groups.split(",") if groups else [], asg, signature
                )
            exposed = union_all(self.model.exposed_ports(m.arn) for m in members)
            vpc = members[0].vpc_id
            node = _Node(key, type_, vpc, placement, list(members), exposed if exposed else None)
            node.vectors = tuple(dict.fromkeys(v for m in members for v in self._vectors(m.arn)))
            first = members[0]
            node.label = _short(first) if len(members) == 1 else (asg or _short(first)) + f" ×{len(members)}"
            self.nodes[key] = node
            self.graph.add_node(key, kind="resource", type=type_, count=len(members))
            for m in members:
                if m.arn:
                    self.node_of[m.arn] = key

    # ------------------------------------------------------------------ edges
    def _edges(self) -> dict[tuple[str, str], dict[str, Any]]:
        edges: dict[tuple[str, str], dict[str, Any]] = {}

        def add(src: str, dst: str, kind: str, ports: PortSet, detail: str) -> None:
            if src == dst or not ports:
                return
            current = edges.get((src, dst))
            if current is None:
                edges[(src, dst)] = {
                    "kinds": {kind},
                    "ports": ports,
                    "details": {detail} if detail else set(),
                }
            else:
                current["kinds"].add(kind)
                current["ports"] = current["ports"] | ports
                if detail and len(current["details"]) < 6:
                    current["details"].add(detail)

        for key, node in self.nodes.items():
            if node.exposed_ports:
                add(INTERNET, key, "internet", node.exposed_ports, "")
        # Load balancers to their targets (when the LB is exposed).
        for t in self.report.via_load_balancer:
            src, dst = self.node_of.get(t.lb_arn), self.node_of.get(t.target)
            if src and dst:
                ports = union_all(
                    PortSet.of(p.protocol, p.from_port, p.to_port) for p in t.ports
                ) or PortSet.of("tcp")
                add(
                    src,
                    dst,
                    "load-balancer",
                    ports,
                    f"target group {t.target_group_arn.rsplit('/', 2)[-2]}"
                    if t.target_group_arn.count("/") >= 2
                    else "registered target",
                )
        # Reachability between classes, lifted to nodes.
        class_nodes: dict[ClassKey, set[str]] = {}
        for ck, members in self.model.classes.items():
            keys = {self.node_of[m.arn] for m in members if m.arn in self.node_of}
            if keys:
                class_nodes[ck] = keys
        for (src_class, dst_class, via, detail), ports in self.model.class_edges().items():
            dst_nodes = class_nodes.get(dst_class)
            if not dst_nodes:
                continue
            if isinstance(src_class, ClassKey):
                src_nodes = class_nodes.get(src_class, set())
            else:
                src_nodes = {self._peer_node(src_class)}
            for s in src_nodes:
                for d in dst_nodes:
                    add(s, d, via, ports, detail)
        for (src, dst), attrs in edges.items():
            self.graph.add_edge(src, dst, **attrs)
        return edges

    def _peer_node(self, pseudo_arn: str) -> str:
        if pseudo_arn not in self.nodes:
            vpc = pseudo_arn.rsplit("/", 1)[-1]
            owner = pseudo_arn.split(":")[4] if pseudo_arn.count(":") >= 5 else ""
            nat = _Nat("peer-vpc", pseudo_arn, vpc, f"{vpc} ({owner})", self.region, "", "", {})
            self.nodes[pseudo_arn] = _Node(
                pseudo_arn, "peer-vpc", "", OUTSIDE, [nat], None, label=f"{vpc} ({owner})"
            )
            self.graph.add_node(pseudo_arn, kind="peer-vpc", type="peer-vpc", count=1)
        return pseudo_arn

    # ------------------------------------------------------------------ layout
    def _layout(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], tuple[float, float, float, float]]:
        topo = self.model.topology
        by_place: dict[str, list[_Node]] = defaultdict(list)
        for node in self.nodes.values():
            by_place[node.place].append(node)
        for nodes in by_place.values():
            nodes.sort(key=lambda n: (n.type, n.label, n.key))
        # Which VPCs and subnets to draw: with no filter every VPC/subnet of the region (empty
        # subnets tell something too); with a filter only those holding a node.
        filtered = bool(self.tag_key or self.exposed_only)
        vpc_ids: set[str] = {n.vpc_id for n in self.nodes.values() if n.vpc_id}
        subnet_ids: set[str] = {p for p in by_place if p not in (OUTSIDE,) and not p.startswith("vpc:")}
        if not filtered:
            for (region, vpc_id), _vpc in topo.vpcs.items():
                if region == self.region and (not self.vpc_id or vpc_id == self.vpc_id):
                    vpc_ids.add(vpc_id)
            for (region, sid), sub in topo.subnets.items():
                if region == self.region and sub.vpc_id in vpc_ids:
                    subnet_ids.add(sid)
        subnets_of: dict[str, list[str]] = defaultdict(list)
        for sid in subnet_ids:
            subnets_of[topo.vpc_of_subnet(self.region, sid) or self._vpc_of_place(sid)].append(sid)
        for vpc_id in subnets_of:
            vpc_ids.add(vpc_id)
        shapes: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        self.vpc_count = len([v for v in vpc_ids if v])
        self.subnet_count = len(subnet_ids)
        x0 = 0.0
        bottom = 0.0
        for vpc_id in sorted(v for v in vpc_ids if v):
            width, height = self._layout_vpc(vpc_id, subnets_of.get(vpc_id, []), by_place, x0, shapes, notes)
            x0 += width + VPC_GAP
            bottom = min(bottom, -height)
        outside = by_place.get(OUTSIDE, []) + by_place.get("", [])
        if outside:
            width, height = self._layout_box(
                outside, x0, 0.0, "Outside any VPC", "#fafafa", "#999999", shapes, notes, cols=None
            )
            x0 += width + VPC_GAP
            bottom = min(bottom, -height)
        right = max(x0 - VPC_GAP, 4.0)
        self.internet_xy = (_r(right / 2.0), 2.5)
        return shapes, notes, (-1.0, _r(right + 1.0), _r(bottom - 1.0), 3.5)

    def _vpc_of_place(self, sid: str) -> str:
        for n in self.nodes.values():
            if n.place == sid:
                return n.vpc_id
        return ""

    def _layout_box(
        self,
        nodes: Sequence[_Node],
        x: float,
        y: float,
        title: str,
        fill: str,
        line: str,
        shapes: list[dict[str, Any]],
        notes: list[dict[str, Any]],
        cols: int | None,
        width: float | None = None,
        dash: str = "solid",
    ) -> tuple[float, float]:
        """Place ``nodes`` in a grid inside a box whose top-left corner is (x, y); returns its size."""
        n = len(nodes)
        cols = cols or max(1, math.ceil(math.sqrt(n)))
        rows = max(1, math.ceil(n / cols)) if n else 1
        w = width if width is not None else cols * CELL + 2 * PAD
        h = TITLE + rows * CELL + PAD
        for i, node in enumerate(nodes):
            node.x = _r(x + PAD + (i % cols) * CELL + CELL / 2)
            node.y = _r(y - TITLE - (i // cols) * CELL - CELL / 2)
        shapes.append(
            {
                "type": "rect",
                "x0": _r(x),
                "x1": _r(x + w),
                "y0": _r(y - h),
                "y1": _r(y),
                "layer": "below",
                "fillcolor": fill,
                "line": {"color": line, "width": 1, "dash": dash},
            }
        )
        notes.append(
            {
                "x": _r(x + 0.1),
                "y": _r(y - 0.05),
                "xref": "x",
                "yref": "y",
                "xanchor": "left",
                "yanchor": "top",
                "text": title,
                "showarrow": False,
                "font": {"size": 10, "color": "#333333"},
            }
        )
        return w, h

    def _layout_vpc(
        self,
        vpc_id: str,
        subnets: list[str],
        by_place: Mapping[str, list[_Node]],
        x0: float,
        shapes: list[dict[str, Any]],
        notes: list[dict[str, Any]],
    ) -> tuple[float, float]:
        """Draw one VPC at ``x0``: its nodes spanning subnets in a band on top, its subnets in a grid
        below (public first); returns its size."""
        topo = self.model.topology
        public = {s: topo.is_public(self.region, s, vpc_id) for s in subnets}

        def subnet_order(sid: str) -> tuple[int, str, str]:
            sub = topo.subnet(self.region, sid)
            return (0 if public[sid] else 1, sub.name if sub else "", sid)

        subnets = sorted(subnets, key=subnet_order)
        inner_cols = max([max(1, math.ceil(math.sqrt(len(by_place.get(s, []))))) for s in subnets] or [1])
        sub_w = inner_cols * CELL + 2 * PAD
        grid_cols = max(1, math.ceil(math.sqrt(len(subnets)))) if subnets else 1
        band = by_place.get(f"vpc:{vpc_id}", [])
        vpc_w = max(
            grid_cols * (sub_w + GAP) + GAP, len(band) and (min(len(band), 8) * CELL + 2 * PAD + 2 * GAP), 4.0
        )
        y = -TITLE - GAP / 2
        if band:
            band_cols = max(1, int((vpc_w - 2 * GAP - 2 * PAD) // CELL))
            _w, h = self._layout_box(
                band,
                x0 + GAP,
                y,
                "spans several subnets",
                "#ffffff",
                "#bbbbbb",
                shapes,
                notes,
                cols=band_cols,
                width=vpc_w - 2 * GAP,
                dash="dot",
            )
            y -= h + GAP
        grid = _SubnetGrid(subnets, public, grid_cols, inner_cols, sub_w)
        heights = grid.row_heights(by_place)
        self._layout_subnets(grid, heights, by_place, x0, y, shapes, notes)
        total_h = -y + sum(heights) + max(0, len(heights) - 1) * GAP + GAP
        self._vpc_frame(vpc_id, x0, vpc_w, total_h, shapes, notes)
        return vpc_w, total_h

    def _layout_subnets(
        self,
        grid: _SubnetGrid,
        heights: list[float],
        by_place: Mapping[str, list[_Node]],
        x0: float,
        y: float,
        shapes: list[dict[str, Any]],
        notes: list[dict[str, Any]],
    ) -> None:
        """Draw a VPC's subnets in its grid: the same width for all, the height of the tallest in the row."""
        topo = self.model.topology
        for i, sid in enumerate(grid.subnets):
            r, c = divmod(i, grid.cols)
            top = y - sum(heights[:r]) - r * GAP
            sub = topo.subnet(self.region, sid)
            cidr = str(sub.cidrs[0]) if sub and sub.cidrs else ""
            public = grid.public[sid]
            kind = "public" if public else "private"
            title = f"{esc(sub.name if sub and sub.name else sid, LABEL_CHARS)} · {esc(cidr)} · {kind}"
            self._layout_box(
                by_place.get(sid, []),
                x0 + GAP + c * (grid.width + GAP),
                top,
                title,
                "#e8f5e9" if public else "#eef1f5",
                "#43a047" if public else "#90a4ae",
                shapes,
                notes,
                cols=grid.inner_cols,
                width=grid.width,
            )
            # stretch to the row height so the grid lines up
            shapes[-1]["y0"] = _r(top - heights[r])

    def _vpc_frame(
        self,
        vpc_id: str,
        x0: float,
        width: float,
        height: float,
        shapes: list[dict[str, Any]],
        notes: list[dict[str, Any]],
    ) -> None:
        """The VPC's box (below everything drawn in it) and its title: name, id, CIDRs."""
        vpc = self.model.topology.vpcs.get((self.region, vpc_id))
        cidr = ", ".join(str(c) for c in vpc.cidrs[:2]) if vpc else ""
        name = vpc.name if vpc and vpc.name else vpc_id
        title = f"<b>{esc(name, LABEL_CHARS)}</b> · {esc(vpc_id)} · {esc(cidr)}"
        shapes.insert(
            0,
            {
                "type": "rect",
                "x0": _r(x0),
                "x1": _r(x0 + width),
                "y0": _r(-height),
                "y1": 0.0,
                "layer": "below",
                "fillcolor": "#f7f9fc",
                "line": {"color": "#3949ab", "width": 2},
            },
        )
        notes.append(
            {
                "x": _r(x0 + 0.1),
                "y": -0.05,
                "xref": "x",
                "yref": "y",
                "xanchor": "left",
                "yanchor": "top",
                "text": title,
                "showarrow": False,
                "font": {"size": 12, "color": "#1a237e"},
            }
        )

    # ------------------------------------------------------------------ figure
    def _hover(self, node: _Node) -> str:
        first = node.members[0]
        title = TYPE_STYLE.get(node.type, (node.type, "", ""))[0]
        lines = [f"<b>{esc(node.label, 80)}</b>", esc(title)]
        if node.count > 1:
            lines.append(f"{node.count} resources")
            shown = [esc(m.resource_id, 60) for m in node.members[:MAX_HOVER_MEMBERS]]
            more = node.count - len(shown)
            lines.append(", ".join(shown) + (f" … and {more} more" if more > 0 else ""))
        else:
            lines.append(esc(first.resource_id, 80))
        if node.place and node.place != OUTSIDE:
            lines.append("in " + esc(node.place))
        if first.group_ids:
            lines.append("security groups: " + esc(", ".join(first.group_ids), 160))
        if first.asg:
            lines.append("auto-scaling group: " + esc(first.asg, 80))
        if node.exposed_ports:
            lines.append("<b>exposed to the internet</b>: " + esc(node.exposed_ports.label()))
        if node.vectors:
            lines.append("<b>open to anyone</b> through: " + esc(", ".join(node.vectors), 160))
        via = [t for m in node.members[:50] for t in self.via_index.get(m.arn, ())]
        if via:
            lbs = sorted({t.lb_id for t in via})
            lines.append("reachable through " + esc(", ".join(lbs[:3]), 120))
        tags = {k: v for k, v in first.tags.items() if not k.startswith("aws:")}
        for k, v in list(tags.items())[:4]:
            lines.append(f"{esc(k, 40)} = {esc(v, 60)}")
        return "<br>".join(lines)

    def figure(self) -> dict[str, Any]:
        shapes, notes, bounds = self._layout()
        edges = self._edges()
        positions: dict[str, tuple[float, float]] = {k: (n.x, n.y) for k, n in self.nodes.items()}
        positions[INTERNET] = self.internet_xy
        traces = self._edge_traces(edges, positions)
        traces += self._node_traces()
        exposed = sorted((n for n in self.nodes.values() if n.exposed_ports), key=lambda n: n.key)
        opened = sorted((n for n in self.nodes.values() if n.vectors), key=lambda n: n.key)
        traces += _ring_traces(exposed, opened)
        traces.append(self._internet_trace(len(exposed)))
        # Plain dicts in plotly's figure schema: building graph_objects validates every array
        # element, which costs seconds on a large map; the tests validate the schema instead.
        fig = {"data": traces, "layout": _map_layout(shapes, notes, bounds)}
        self.edge_count = len(edges)
        return fig

    def _edge_traces(
        self, edges: Mapping[tuple[str, str], dict[str, Any]], positions: Mapping[str, tuple[float, float]]
    ) -> list[dict[str, Any]]:
        """Edges: one line trace per kind, then their port labels (see :func:`_label_traces`)."""
        by_kind: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
        for (src, dst), attrs in sorted(edges.items()):
            kinds = attrs["kinds"]
            kind = next(k for k in ("internet", "load-balancer", "peering", "security-group") if k in kinds)
            by_kind[kind].append((src, dst, attrs))
        # Port labels: written on internet edges (few, and what matters most); on the others a
        # small dot at the same place carries them in its hover, so dense maps stay readable.
        labels: dict[bool, dict[str, list[Any]]] = {
            True: {"x": [], "y": [], "text": [], "hover": []},
            False: {"x": [], "y": [], "text": [], "hover": []},
        }
        traces: list[dict[str, Any]] = []
        for kind in ("security-group", "peering", "load-balancer", "internet"):
            rows = by_kind.get(kind)
            if rows:
                traces.append(self._edge_trace(kind, rows, positions, labels[kind == "internet"]))
        return traces + _label_traces(labels)

    def _edge_trace(
        self,
        kind: str,
        rows: list[tuple[str, str, dict[str, Any]]],
        positions: Mapping[str, tuple[float, float]],
        bucket: dict[str, list[Any]],
    ) -> dict[str, Any]:
        """One kind's edges as one line trace; each edge's label goes into ``bucket``."""
        xs: list[float | None] = []
        ys: list[float | None] = []
        for src, dst, attrs in rows:
            (x1, y1), (x2, y2) = positions[src], positions[dst]
            xs += [x1, x2, None]
            ys += [y1, y2, None]
            # toward the destination, so the two directions of a pair do not overlap (and the
            # many internet edges, which all start at one point, spread out near their nodes)
            f = 0.85 if kind == "internet" else 0.6
            bucket["x"].append(_r(x1 + (x2 - x1) * f))
            bucket["y"].append(_r(y1 + (y2 - y1) * f))
            bucket["text"].append(esc(attrs["ports"].label(limit=3), 60))
            bucket["hover"].append(self._edge_hover(src, dst, attrs))
        title, colour, dash = EDGE_STYLE[kind]
        return _scatter(
            x=xs,
            y=ys,
            mode="lines",
            name=title,
            hoverinfo="skip",
            line={"color": colour, "width": 2 if kind == "internet" else 1.2, "dash": dash},
            opacity=0.8 if kind == "internet" else 0.55,
        )

    def _edge_hover(self, src: str, dst: str, attrs: Mapping[str, Any]) -> str:
        src_label = "Internet" if src == INTERNET else self.nodes[src].label
        detail = "; ".join(sorted(attrs["details"]))
        return (
            f"{esc(src_label, 60)} → {esc(self.nodes[dst].label, 60)}<br>"
            f"{esc(', '.join(sorted(attrs['kinds'])))}: {esc(attrs['ports'].label(limit=12), 300)}"
            + (f"<br>{esc(detail, 200)}" if detail else "")
        )

    def _node_traces(self) -> list[dict[str, Any]]:
        """Nodes: one marker trace per type (in TYPE_STYLE's order); exposed ones bigger and red."""
        node_types = sorted(
            {n.type for n in self.nodes.values()},
            key=lambda t: list(TYPE_STYLE).index(t) if t in TYPE_STYLE else 99,
        )
        traces: list[dict[str, Any]] = []
        for type_ in node_types:
            nodes = [n for n in self.nodes.values() if n.type == type_]
            nodes.sort(key=lambda n: n.key)
            title, symbol, colour = TYPE_STYLE.get(type_, (type_, "circle", "#444444"))
            traces.append(
                _scatter(
                    x=[n.x for n in nodes],
                    y=[n.y for n in nodes],
                    mode="markers+text",
                    name=esc(title),
                    text=[esc(n.label, LABEL_CHARS) for n in nodes],
                    textposition="bottom center",
                    textfont={"size": 8},
                    hovertext=[self._hover(n) for n in nodes],
                    hoverinfo="text",
                    customdata=[n.key for n in nodes],
                    marker={
                        "symbol": symbol,
                        "size": [_marker_size(n) + (4 if n.exposed_ports else 0) for n in nodes],
                        "color": ["#d62728" if n.exposed_ports else colour for n in nodes],
                        "line": {"color": "#ffffff", "width": 1},
                    },
                )
            )
        return traces

    def _internet_trace(self, exposed: int) -> dict[str, Any]:
        ix, iy = self.internet_xy
        return _scatter(
            x=[ix],
            y=[iy],
            mode="markers+text",
            name="Internet",
            text=["Internet"],
            textposition="top center",
            hovertext=[f"Internet<br>{exposed} exposed node(s)"],
            hoverinfo="text",
            customdata=[INTERNET],
            marker={"symbol": "star", "size": 22, "color": "#d62728"},
        )


def _marker_size(node: _Node) -> float:
    """A node's marker size: larger for a group of many resources, up to a cap."""
    return min(26, 11 + 3 * math.log2(node.count))


def _label_traces(labels: Mapping[bool, Mapping[str, list[Any]]]) -> list[dict[str, Any]]:
    """The edges' port labels: written on internet edges (``labels[True]``), in the hover of a small
    dot on the others (``labels[False]``)."""
    traces: list[dict[str, Any]] = []
    if labels[True]["x"]:
        traces.append(
            _scatter(
                x=labels[True]["x"],
                y=labels[True]["y"],
                mode="text",
                text=labels[True]["text"],
                hovertext=labels[True]["hover"],
                hoverinfo="text",
                textfont={"size": 9, "color": "#b71c1c"},
                showlegend=False,
                name="ports",
            )
        )
    if labels[False]["x"]:
        traces.append(
            _scatter(
                x=labels[False]["x"],
                y=labels[False]["y"],
                mode="markers",
                hovertext=labels[False]["hover"],
                hoverinfo="text",
                marker={"size": 5, "color": "#9e9e9e", "opacity": 0.6},
                showlegend=False,
                name="reachability",
            )
        )
    return traces


def _ring_traces(exposed: Sequence[_Node], opened: Sequence[_Node]) -> list[dict[str, Any]]:
    """Rings drawn over the nodes: red for exposed to the internet, a diamond for open by policy."""
    traces: list[dict[str, Any]] = []
    if exposed:
        traces.append(
            _scatter(
                x=[n.x for n in exposed],
                y=[n.y for n in exposed],
                mode="markers",
                name="Exposed to the internet",
                hoverinfo="skip",
                marker={
                    "symbol": "circle-open",
                    "size": [_marker_size(n) + 12 for n in exposed],
                    "color": "#d62728",
                    "line": {"width": 2},
                },
            )
        )
    if opened:
        traces.append(
            _scatter(
                x=[n.x for n in opened],
                y=[n.y for n in opened],
                mode="markers",
                name="Open by policy, ACL or sharing",
                hoverinfo="skip",
                customdata=[n.key for n in opened],
                marker={
                    "symbol": "diamond-open",
                    "size": [_marker_size(n) + 16 for n in opened],
                    "color": OPENING_COLOUR,
                    "line": {"width": 2},
                },
            )
        )
    return traces


def _map_layout(
    shapes: list[dict[str, Any]], notes: list[dict[str, Any]], bounds: tuple[float, float, float, float]
) -> dict[str, Any]:
    """The figure's layout: the boxes and titles, axes fitted to ``bounds``, a height that follows them."""
    xmin, xmax, ymin, ymax = bounds
    width_units = xmax - xmin
    height_units = ymax - ymin
    return dict(
        shapes=shapes,
        annotations=notes,
        showlegend=True,
        hovermode="closest",
        dragmode="pan",
        xaxis={"visible": False, "range": [xmin, xmax]},
        yaxis={"visible": False, "range": [ymin, ymax], "scaleanchor": "x", "scaleratio": 1},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        height=int(max(420, min(2400, 60 * height_units + 80))),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        meta={"width_units": round(width_units, 2), "height_units": round(height_units, 2)},
    )


def _scatter(**props: Any) -> dict[str, Any]:
    """A scatter trace as a figure-schema dict (the shape ``go.Scatter(...).to_plotly_json()`` has)."""
    return {"type": "scatter", **props}


def build_map(
    items: Iterable[ItemLike],
    region: str,
    *,
    vpc_id: str | None = None,
    tag_key: str | None = None,
    tag_value: str | None = None,
    exposed_only: bool = False,
    group: bool = True,
    model: NetworkModel | None = None,
    openings: Sequence[Exposure] = (),
) -> MapPayload:
    """The map of one account's ``region`` (optionally one VPC), as a plotly figure dict.

    Filters: ``tag_key`` (with ``tag_value``, or any value), ``exposed_only``. ``group=False`` draws
    every resource as its own node (for small maps; the payload then grows with the resources).
    Pass ``model`` (from :func:`~inventory.exposure.analysis.build_model`) to reuse an analysis, and
    ``openings`` (the account's non-network exposures) to mark the resources they open.
    """
    model = model or build_model(items)
    builder = _MapBuilder(model, region, vpc_id, tag_key, tag_value, exposed_only, openings)
    chosen = builder._selected()
    builder._group(chosen, group)
    figure = builder.figure()
    resource_nodes = [n for n in builder.nodes.values() if n.type != "peer-vpc"]
    groups = {n.key: tuple(sorted(m.arn for m in n.members)) for n in resource_nodes if n.count > 1}
    stats = {
        "resources": sum(n.count for n in resource_nodes),
        "nodes": len(builder.nodes) + 1,
        "edges": builder.edge_count,
        "grouped": sum(n.count for n in resource_nodes if n.count > 1),
        "groups": len(groups),
        "exposed": sum(n.count for n in resource_nodes if n.exposed_ports),
        "opened": sum(n.count for n in resource_nodes if n.vectors),
        "vpcs": builder.vpc_count,
        "subnets": builder.subnet_count,
    }
    return MapPayload(figure=figure, stats=stats, groups=groups)


# ---------------------------------------------------------------------- estate overview
def estate_treemap(
    rows: Iterable[tuple[str, str, str, str, int]], *, max_leaves: int = 4000, kind: str = "treemap"
) -> dict[str, Any]:
    """A treemap (or ``kind="sunburst"``) of resource counts: account → region → service → type.

    ``rows`` are ``(account_name, region, service, type, count)``; duplicates are added up, bad
    rows (non-numeric or non-positive counts) skipped. When there would be more than ``max_leaves``
    leaves the type level is dropped (then the service level), so the browser stays responsive.
    """
    totals: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for row in rows:
        try:
            account, region, service, type_, count = row
        except (TypeError, ValueError):
            continue
        n = count if isinstance(count, int) and not isinstance(count, bool) else None
        if n is None:
            try:
                n = int(count)
            except (TypeError, ValueError):
                continue
        if n <= 0:
            continue
        totals[(str(account or "?"), str(region or "?"), str(service or "?"), str(type_ or "?"))] += n
    depth = 4
    for depth in (4, 3, 2):
        if len({k[:depth] for k in totals}) <= max_leaves:
            break
    ids: list[str] = []
    labels: list[str] = []
    parents: list[str] = []
    values: list[int] = []
    sums: dict[tuple[str, ...], int] = defaultdict(int)
    for key, n in totals.items():
        for level in range(1, depth + 1):
            sums[key[:level]] += n
    for path in sorted(sums, key=lambda p: (len(p), p)):
        ids.append("\x1f".join(path))
        labels.append(esc(path[-1], 60))
        parents.append("\x1f".join(path[:-1]))
        values.append(sums[path])
    trace_cls = go.Sunburst if kind == "sunburst" else go.Treemap
    trace = trace_cls(
        ids=ids,
        labels=labels,
        parents=parents,
        values=values,
        branchvalues="total",
        hovertemplate="%{label}<br>%{value} resources<extra></extra>",
    )
    fig = go.Figure(data=[trace], layout=go.Layout(margin={"l": 0, "r": 0, "t": 0, "b": 0})).to_dict()
    fig.get("layout", {}).pop("template", None)
    return fig
