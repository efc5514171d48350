"""The trust graph figure: accounts and outside parties as nodes, assume-role access as arrows.

Pure Python (no Django, no database): :func:`figure` takes the nodes and edges of
:func:`iam_audit.graph_store.trust_payload` and returns a plotly figure as plain dicts, laid out here on
the server so the picture is the same for everyone and the browser only draws it.

Layout: a :class:`networkx.DiGraph` of the accounts and parties, drawn in columns from left to
right — parties that are not accounts of ours (outside accounts, ``*``, identity providers) first,
then the accounts that give access elsewhere (identity, management, security...), then the
accounts they reach by environment (prod, staging, dev...), then the accounts nobody reaches from
elsewhere (long columns are split). Within a column nodes
are ordered by the barycentre of the nodes that reach them (fewer crossing arrows), then by name.
networkx's own layouts need numpy, which this project does not install: the column layout is
short, deterministic and reads better for an access graph anyway.

Arrows are coloured by the best privilege class they lead to; parties outside the organisation
are red diamonds, and arrows from them are dashed. Every label comes from AWS or people (account
names, role names): it is escaped (:mod:`inventory.plotly_text`), as plotly renders a subset of HTML in text.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx

from inventory.plotly_text import plotly_text

PRIVILEGE_COLOURS = {
    "administrator": "#7a1010",
    "power-user": "#c0392b",
    "write": "#d98c00",
    "read-only": "#1f5fbf",
    "sensitive-read": "#8e44ad",
    "granular": "#6b7280",
    "unknown": "#9ca3af",
    "none": "#d1d5db",
}
PRIVILEGE_LABELS = {
    "administrator": "administrator",
    "power-user": "power user",
    "write": "write",
    "read-only": "read-only, all services",
    "sensitive-read": "read of sensitive data",
    "granular": "granular",
    "unknown": "unknown",
    "none": "none",
}
ENVIRONMENT_ORDER = (
    "org-root",
    "identity",
    "security",
    "operations",
    "prod",
    "staging",
    "dev",
    "sandbox",
    "other",
)
ENVIRONMENT_COLOURS = {
    "org-root": "#4a2a8a",
    "identity": "#4a2a8a",
    "security": "#4a2a8a",
    "operations": "#4a2a8a",
    "prod": "#b3261e",
    "staging": "#b26a00",
    "dev": "#1f5fbf",
    "sandbox": "#1f5fbf",
    "other": "#6b7280",
}
OUTSIDE_COLOUR = "#b3261e"
PARTY_COLOUR = "#374151"
MAX_ROWS = 14  # a column longer than this is split
ROW_PX = 40
EDGE_OPACITY = 0.5  # many arrows cross: keep the nodes and their labels readable through them
LABEL_MAX = 32
FONT = {"family": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', "size": 12, "color": "#1d2330"}


def label(text: Any, limit: int = LABEL_MAX) -> str:
    """Text safe to hand to plotly: shortened, then HTML-escaped (see :mod:`inventory.plotly_text`)."""
    return plotly_text(text, limit)


def _env_rank(env: str) -> int:
    return ENVIRONMENT_ORDER.index(env) if env in ENVIRONMENT_ORDER else len(ENVIRONMENT_ORDER)


def build_digraph(nodes: Sequence[Mapping[str, Any]], edges: Sequence[Mapping[str, Any]]) -> nx.DiGraph:
    """The nodes and edges as a networkx graph (node and edge attributes are the given dicts)."""
    g: nx.DiGraph[str] = nx.DiGraph()
    for node in nodes:
        g.add_node(node["id"], **node)
    for edge in edges:
        if edge["source"] in g and edge["target"] in g:
            g.add_edge(edge["source"], edge["target"], **edge)
    return g


def columns(g: nx.DiGraph) -> list[list[str]]:
    """Node ids by column, left to right (see the module docstring), not yet ordered within."""
    parties, givers, alone = [], [], []
    by_env: dict[str, list[str]] = defaultdict(list)
    for node_id, attrs in g.nodes(data=True):
        if attrs.get("kind") != "account":
            parties.append(node_id)
        elif g.out_degree(node_id) > 0:
            givers.append(node_id)
        elif g.in_degree(node_id) > 0:
            by_env[attrs.get("environment") or "other"].append(node_id)
        else:
            alone.append(node_id)  # nobody reaches it from elsewhere: drawn last, out of the way

    def name(n: str) -> str:
        return str(g.nodes[n].get("label", n)).lower()

    def split(members: list[str]) -> list[list[str]]:
        return [members[start : start + MAX_ROWS] for start in range(0, len(members), MAX_ROWS)]

    out = split(parties) + split(givers)
    for env in sorted(by_env, key=lambda e: (_env_rank(e), e)):
        out += split(sorted(by_env[env], key=name))
    alone.sort(key=lambda n: (_env_rank(str(g.nodes[n].get("environment") or "other")), name(n)))
    return out + split(alone)


def layout(g: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Positions: x is the column, y the row (0 at the top, centred per column)."""
    cols = columns(g)
    pos: dict[str, tuple[float, float]] = {}
    for x, col in enumerate(cols):

        def key(n: str) -> tuple[Any, ...]:
            attrs = g.nodes[n]
            placed = [pos[p][1] for p in g.predecessors(n) if p in pos]
            centre = sum(placed) / len(placed) if placed else 0.0
            outside = not attrs.get("inside", True)
            return (
                not outside,  # outside parties at the top of their column
                centre,
                -g.out_degree(n),
                _env_rank(str(attrs.get("environment") or "other")),
                str(attrs.get("label", n)).lower(),
                n,
            )

        ordered = sorted(col, key=key)
        # every other column sits half a row lower, so a long arrow does not run through the nodes
        # of the columns it crosses
        offset = (len(ordered) - 1) / 2 - (0.5 if x % 2 else 0.0)
        for y, node_id in enumerate(ordered):
            pos[node_id] = (float(x), float(y) - offset)
    return pos


def _node_colour(attrs: Mapping[str, Any]) -> str:
    if not attrs.get("inside", True):
        return OUTSIDE_COLOUR
    if attrs.get("kind") != "account":
        return PARTY_COLOUR
    return ENVIRONMENT_COLOURS.get(str(attrs.get("environment") or "other"), PARTY_COLOUR)


def _node_hover(attrs: Mapping[str, Any], node_id: str, g: nx.DiGraph) -> str:
    lines = [f"<b>{label(attrs.get('label', node_id), 80)}</b>"]
    if attrs.get("kind") == "account":
        lines.append(f"{label(node_id)} · {label(attrs.get('environment') or 'other')}")
        lines.append(f"{int(attrs.get('inbound_paths') or 0):,} access paths in")
    else:
        lines.append(label(node_id, 80))
        lines.append(
            "outside the organisation" if not attrs.get("inside", True) else label(attrs.get("kind", ""))
        )
    lines.append(f"reaches {g.out_degree(node_id)} account(s), reached from {g.in_degree(node_id)}")
    return "<br>".join(lines)


def _edge_hover(edge: Mapping[str, Any], g: nx.DiGraph) -> str:
    src = g.nodes[edge["source"]].get("label", edge["source"])
    dst = g.nodes[edge["target"]].get("label", edge["target"])
    roles = list(edge.get("roles") or [])
    shown = ", ".join(label(r, 40) for r in roles[:5]) + (f" (+{len(roles) - 5})" if len(roles) > 5 else "")
    lines = [
        f"<b>{label(src)} → {label(dst)}</b>",
        f"best: {label(edge.get('privilege_label') or edge.get('privilege', ''), 60)}",
        f"roles: {shown or '—'}",
        "MFA required on every path" if edge.get("mfa_always") else "some path without MFA",
    ]
    if edge.get("outside_org"):
        lines.append("from outside the organisation")
    return "<br>".join(lines)


def figure(
    nodes: Sequence[Mapping[str, Any]],
    edges: Sequence[Mapping[str, Any]],
    urls: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The plotly figure (``{"data": [...], "layout": {...}}``) of the trust graph.

    ``urls`` maps a node id to the page a click on it opens (an account's access page).
    """
    g = build_digraph(nodes, edges)
    if g.number_of_nodes() == 0:
        return {"data": [], "layout": {"height": 200}}
    pos = layout(g)
    urls = urls or {}
    n_cols = max(int(x) for x, _ in pos.values()) + 1
    rows = max(sum(1 for x, _ in pos.values() if int(x) == c) for c in range(n_cols))
    traces: list[dict[str, Any]] = []

    # arrows: one line trace per (privilege, outside) so colours and dashes show in the legend
    by_style: dict[tuple[str, bool], list[Mapping[str, Any]]] = defaultdict(list)
    for _source, _target, data in g.edges(data=True):
        by_style[(str(data.get("privilege", "none")), bool(data.get("outside_org")))].append(data)
    shrink = 0.08  # stop short of the node so the arrow head shows
    order = list(PRIVILEGE_COLOURS)
    for privilege, outside in sorted(
        by_style, key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1])
    ):
        xs: list[float | None] = []
        ys: list[float | None] = []
        sizes: list[int] = []
        hover: list[str] = []
        for attrs in by_style[(privilege, outside)]:
            (x0, y0), (x1, y1) = pos[attrs["source"]], pos[attrs["target"]]
            dx, dy = x1 - x0, y1 - y0
            length = math.hypot(dx, dy) or 1.0
            text = _edge_hover(attrs, g)
            xs += [x0, x1 - dx / length * shrink, None]
            ys += [y0, y1 - dy / length * shrink, None]
            # only the end carries an arrow head (pointing away from the start, in screen space)
            sizes += [0, 10, 0]
            hover += ["", text, ""]
        colour = PRIVILEGE_COLOURS.get(privilege, "#6b7280")
        name = PRIVILEGE_LABELS.get(privilege, privilege) + (" (from outside)" if outside else "")
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": xs,
                "y": ys,
                "line": {"color": colour, "width": 1.4, "dash": "dash" if outside else "solid"},
                "marker": {"symbol": "arrow", "angleref": "previous", "size": sizes, "color": colour},
                "opacity": EDGE_OPACITY,
                "hovertext": hover,
                "hoverinfo": "text",
                "name": name,
                "showlegend": True,
            }
        )

    # nodes: accounts as circles, parties as diamonds (outside ones red); labels away from the arrows:
    # on the left for nodes that give access (their arrows leave to the right), else on the right
    for is_account in (False, True):
        ids = [n for n, a in g.nodes(data=True) if (a.get("kind") == "account") == is_account]
        if not ids:
            continue
        positions = ["middle left" if g.out_degree(n) > 0 else "middle right" for n in ids]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [pos[n][0] for n in ids],
                "y": [pos[n][1] for n in ids],
                "text": [label(g.nodes[n].get("label", n)) for n in ids],
                "textposition": positions,
                "textfont": {"size": 11},
                "hovertext": [_node_hover(g.nodes[n], n, g) for n in ids],
                "hoverinfo": "text",
                "customdata": [urls.get(n, "") for n in ids],
                "marker": {
                    "symbol": "circle" if is_account else "diamond",
                    "size": [
                        min(26, 10 + math.sqrt(int(g.nodes[n].get("inbound_paths") or 0)) / 2) for n in ids
                    ]
                    if is_account
                    else 14,
                    "color": [_node_colour(g.nodes[n]) for n in ids],
                    "line": {"color": "#fff", "width": 1},
                },
                "name": "accounts" if is_account else "parties",
                "showlegend": False,
            }
        )

    height = max(320, min(2400, 120 + rows * ROW_PX))
    axis = {"visible": False, "showgrid": False, "zeroline": False, "fixedrange": False}
    return {
        "data": traces,
        "layout": {
            "height": height,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "font": FONT,
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "hovermode": "closest",
            "dragmode": "pan",
            "showlegend": True,
            "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
            "xaxis": {**axis, "range": [-0.6, n_cols - 0.2]},
            "yaxis": {**axis, "autorange": "reversed"},
        },
    }
