"""The trust graph figure: columns, colours, escaping, links — no database."""

from __future__ import annotations

from typing import Any

from iam_audit import trust_chart


def _node(
    node_id: str, env: str = "", kind: str = "account", inside: bool = True, **extra: Any
) -> dict[str, Any]:
    return {
        "id": node_id,
        "label": extra.pop("label", node_id),
        "kind": kind,
        "environment": env,
        "inside": inside,
        "account_pk": 1,
        "inbound_paths": 4,
        **extra,
    }


def _edge(source: str, target: str, privilege: str = "read-only", outside: bool = False) -> dict[str, Any]:
    return {
        "source": source,
        "target": target,
        "privilege": privilege,
        "privilege_rank": 4,
        "privilege_label": privilege,
        "outside_org": outside,
        "mfa_always": False,
        "roles": ["CompanyReadOnly"],
    }


def test_columns_put_outside_parties_then_givers_then_environments() -> None:
    nodes = [
        _node("identity", "identity"),
        _node("prod-a", "prod"),
        _node("dev-a", "dev"),
        _node("999988887777", kind="external", inside=False),
    ]
    edges = [
        _edge("identity", "prod-a"),
        _edge("identity", "dev-a"),
        _edge("999988887777", "prod-a", outside=True),
    ]
    g = trust_chart.build_digraph(nodes, edges)
    assert trust_chart.columns(g) == [["999988887777"], ["identity"], ["prod-a"], ["dev-a"]]
    pos = trust_chart.layout(g)
    assert pos["999988887777"][0] < pos["identity"][0] < pos["prod-a"][0] < pos["dev-a"][0]


def test_long_columns_are_split() -> None:
    nodes = [_node("hub", "identity")] + [_node(f"p{i:02d}", "prod") for i in range(30)]
    edges = [_edge("hub", f"p{i:02d}") for i in range(30)]
    cols = trust_chart.columns(trust_chart.build_digraph(nodes, edges))
    assert [len(c) for c in cols] == [1, 14, 14, 2]


def test_arrows_are_coloured_by_privilege_and_outside_ones_dashed() -> None:
    nodes = [_node("a", "identity"), _node("b", "prod"), _node("x", kind="external", inside=False)]
    edges = [_edge("a", "b", "administrator"), _edge("x", "b", "read-only", outside=True)]
    fig = trust_chart.figure(nodes, edges, {"b": "/audit/iam/accounts/2/"})
    lines = {t["name"]: t for t in fig["data"] if t["mode"] == "lines+markers"}
    assert lines["administrator"]["line"]["color"] == trust_chart.PRIVILEGE_COLOURS["administrator"]
    assert lines["administrator"]["line"]["dash"] == "solid"
    assert lines["read-only, all services (from outside)"]["line"]["dash"] == "dash"
    parties = [t for t in fig["data"] if t.get("name") == "parties"][0]
    assert (
        parties["marker"]["color"] == [trust_chart.OUTSIDE_COLOUR]
        and parties["marker"]["symbol"] == "diamond"
    )
    accounts = [t for t in fig["data"] if t.get("name") == "accounts"][0]
    assert "/audit/iam/accounts/2/" in accounts["customdata"]


def test_labels_and_hover_text_are_escaped() -> None:
    evil = '<img src=x onerror="alert(1)">'
    nodes = [_node("a", "identity", label=evil), _node("b", "prod")]
    edges = [{**_edge("a", "b"), "roles": [evil]}]
    fig = trust_chart.figure(nodes, edges)
    texts = [str(v) for t in fig["data"] for key in ("text", "hovertext") for v in t.get(key) or []]
    assert texts and not any("<img" in v for v in texts)
    assert any("&lt;img" in v for v in texts)


def test_an_empty_graph_draws_nothing() -> None:
    assert trust_chart.figure([], [])["data"] == []


def test_fifty_accounts_stay_readable() -> None:
    envs = ["prod", "staging", "dev", "sandbox"]
    nodes = [_node("identity", "identity"), _node("mgmt", "org-root")] + [
        _node(f"{i:012d}", envs[i % 4], label=f"workload-{i:02d}") for i in range(48)
    ]
    edges = [_edge("identity", f"{i:012d}") for i in range(48)] + [
        _edge("mgmt", f"{i:012d}", "administrator") for i in range(48)
    ]
    fig = trust_chart.figure(nodes, edges)
    g = trust_chart.build_digraph(nodes, edges)
    assert max(len(c) for c in trust_chart.columns(g)) <= trust_chart.MAX_ROWS
    assert fig["layout"]["height"] <= 2400
    pos = trust_chart.layout(g)
    assert len(set(pos.values())) == len(pos)  # no two nodes on top of each other
