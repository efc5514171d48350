"""The network map: grouping, edges, layout, escaping and the estate treemap."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.exposure.analysis import analyse_account, build_model
from inventory.exposure.mapgraph import INTERNET, build_map, estate_treemap, parse_group_key
from tests.inventory.exposure.builders import (
    REGION,
    arn,
    base_network,
    instance,
    item,
    perm,
    sg,
    subnet,
)

XSS = '<img src=x onerror="alert(1)">'


def node_points(figure: dict[str, Any]) -> list[dict[str, Any]]:
    """Every marker point of the figure: {trace, x, y, key, hover, text, color, size}."""
    out = []
    for trace in figure["data"]:
        if "customdata" not in trace:
            continue
        marker = trace.get("marker", {})
        for i, key in enumerate(trace["customdata"]):
            color = marker.get("color")
            size = marker.get("size")
            out.append(
                {
                    "trace": trace.get("name"),
                    "x": trace["x"][i],
                    "y": trace["y"][i],
                    "key": key,
                    "hover": trace.get("hovertext", [""] * (i + 1))[i],
                    "text": (trace.get("text") or [""] * (i + 1))[i],
                    "color": color[i] if isinstance(color, list) else color,
                    "size": size[i] if isinstance(size, list) else size,
                }
            )
    return out


def fleet(
    count: int,
    *,
    asg: str = "web-asg",
    groups: tuple[str, ...] = ("sg-app",),
    subnet_id: str = "subnet-priv",
    prefix: str = "i-app",
) -> list[Any]:
    return [
        instance(
            f"{prefix}{n:04d}",
            subnet_id,
            "vpc-1",
            list(groups),
            private_ip=f"10.0.2.{n % 250 + 2}",
            tags={"aws:autoscaling:groupName": asg} if asg else {},
        )
        for n in range(count)
    ]


def test_five_hundred_identical_instances_are_one_node_with_a_count() -> None:
    items = base_network() + [sg("sg-app", "vpc-1", [])] + fleet(500)
    payload = build_map(items, REGION)
    points = [p for p in node_points(payload.figure) if p["key"] != INTERNET]
    assert len(points) == 1
    key = points[0]["key"]
    assert payload.stats["resources"] == 500
    assert payload.stats["grouped"] == 500
    assert payload.stats["nodes"] == 2  # the group and the Internet
    assert len(payload.groups[key]) == 500
    assert "500 resources" in points[0]["hover"]
    assert "×500" in points[0]["text"]
    assert parse_group_key(key) == {
        "region": REGION,
        "type": "ec2:instance",
        "place": "subnet-priv",
        "sg": ["sg-app"],
        "asg": "web-asg",
        "exposure": "",
    }


def test_different_groups_subnets_or_asgs_are_not_merged() -> None:
    items = base_network() + [sg("sg-app", "vpc-1", []), sg("sg-other", "vpc-1", [])]
    items += fleet(3) + fleet(3, asg="other-asg", prefix="i-b") + fleet(3, groups=("sg-other",), prefix="i-c")
    items += fleet(3, subnet_id="subnet-pub", prefix="i-d")
    payload = build_map(items, REGION)
    counts = sorted(len(m) for m in payload.groups.values())
    assert counts == [3, 3, 3, 3]


def test_exposed_and_unexposed_twins_are_separate_nodes_and_the_exposed_stands_out() -> None:
    items = base_network() + [sg("sg-web", "vpc-1", [perm("tcp", 443, cidrs=["0.0.0.0/0"])])]
    items += [
        instance("i-pub", "subnet-pub", "vpc-1", ["sg-web"], public_ip="54.0.0.1"),
        instance("i-nopub", "subnet-pub", "vpc-1", ["sg-web"]),
    ]
    payload = build_map(items, REGION)
    by_key = {p["key"]: p for p in node_points(payload.figure) if p["trace"] != "Exposed to the internet"}
    exposed, quiet = by_key[arn("instance", "i-pub")], by_key[arn("instance", "i-nopub")]
    assert exposed["color"] != quiet["color"] and exposed["size"] > quiet["size"]
    assert "exposed to the internet" in exposed["hover"]
    ring = next(t for t in payload.figure["data"] if t.get("name") == "Exposed to the internet")
    assert (ring["x"], ring["y"]) == ([exposed["x"]], [exposed["y"]])
    labels = next(t for t in payload.figure["data"] if t.get("name") == "ports")
    assert "tcp/443" in labels["text"]
    assert payload.stats["exposed"] == 1


def test_edges_between_groups_are_aggregated_with_merged_ports() -> None:
    items = base_network() + [
        sg("sg-web", "vpc-1", []),
        sg("sg-app", "vpc-1", [perm("tcp", 8080, groups=["sg-web"]), perm("tcp", 8443, groups=["sg-web"])]),
    ]
    items += fleet(100, asg="web", groups=("sg-web",), prefix="i-web") + fleet(100, asg="app", prefix="i-app")
    payload = build_map(items, REGION)
    assert payload.stats["edges"] == 1
    dots = next(t for t in payload.figure["data"] if t.get("name") == "reachability")
    assert dots["hovertext"] == [
        "web ×100 → app ×100<br>security-group: tcp/8080, tcp/8443<br>sg-app allows sg-web"
    ]


def test_html_in_names_and_tags_is_escaped_everywhere_in_the_figure() -> None:
    items = base_network() + [
        sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])]),
        subnet("subnet-evil", "vpc-1", "10.0.9.0/24", tags={"Name": XSS}),
        instance(
            "i-evil",
            "subnet-pub",
            "vpc-1",
            ["sg-1"],
            public_ip="54.0.0.9",
            tags={"Name": XSS, "team": "<b>ops</b>", "aws:autoscaling:groupName": "<script>x</script>"},
        ),
    ]
    items = [
        item("ec2:vpc", "vpc-1", dict(i.data), tags={"Name": "<script>alert(2)</script>"})
        if i.type == "ec2:vpc"
        else i
        for i in items
    ]
    payload = build_map(items, REGION)
    text = json.dumps(payload.figure)
    assert "<img" not in text and "<script" not in text and "<b>ops" not in text
    assert '&lt;img src=x onerror=\\"alert(1)\\"&gt;' in text  # plotly would draw &quot; as is
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text  # the VPC title
    assert "&lt;b&gt;ops&lt;/b&gt;" in text


def test_public_and_private_subnets_are_drawn_differently_and_nodes_sit_inside_their_box() -> None:
    items = (
        base_network()
        + [sg("sg-app", "vpc-1", [])]
        + fleet(2, prefix="i-p")
        + [
            instance("i-pub", "subnet-pub", "vpc-1", ["sg-app"]),
        ]
    )
    payload = build_map(items, REGION)
    titles = [a["text"] for a in payload.figure["layout"]["annotations"]]
    pub_i = next(i for i, t in enumerate(titles) if t.startswith("subnet-pub"))
    priv_i = next(i for i, t in enumerate(titles) if t.startswith("subnet-priv"))
    assert "public" in titles[pub_i] and "private" in titles[priv_i]
    rects = [s for s in payload.figure["layout"]["shapes"] if s["type"] == "rect"]
    fills = {s["fillcolor"] for s in rects}
    assert len(fills) >= 3  # VPC, public subnet, private subnet
    points = {p["key"]: p for p in node_points(payload.figure)}
    pub = points[arn("instance", "i-pub")]
    pub_box = [s for s in rects if s["fillcolor"] == "#e8f5e9"][0]
    assert pub_box["x0"] < pub["x"] < pub_box["x1"] and pub_box["y0"] < pub["y"] < pub_box["y1"]
    internet = points[INTERNET]
    assert all(internet["y"] > p["y"] for k, p in points.items() if k != INTERNET)


def test_filters_exposed_only_tag_and_vpc() -> None:
    items = base_network() + [
        sg("sg-web", "vpc-1", [perm("tcp", 443, cidrs=["0.0.0.0/0"])]),
        sg("sg-app", "vpc-1", []),
    ]
    items += [
        instance("i-pub", "subnet-pub", "vpc-1", ["sg-web"], public_ip="54.0.0.1", tags={"env": "prod"})
    ]
    items += fleet(5, asg="")
    only_exposed = build_map(items, REGION, exposed_only=True)
    assert only_exposed.stats["resources"] == 1
    tagged = build_map(items, REGION, tag_key="env", tag_value="prod")
    assert tagged.stats["resources"] == 1
    assert build_map(items, REGION, tag_key="env", tag_value="dev").stats["resources"] == 0
    assert build_map(items, REGION, vpc_id="vpc-other").stats["resources"] == 0
    assert build_map(items, "us-east-1").stats["resources"] == 0


def test_map_is_deterministic_and_reuses_a_given_model() -> None:
    items = (
        base_network()
        + [sg("sg-app", "vpc-1", [perm("tcp", 22, groups=["sg-app"])])]
        + fleet(20)
        + fleet(7, asg="b", prefix="i-b")
    )
    first = json.dumps(build_map(items, REGION).figure, sort_keys=True)
    second = json.dumps(build_map(list(reversed(items)), REGION).figure, sort_keys=True)
    assert first == second
    model = build_model(items)
    assert json.dumps(build_map(items, REGION, model=model).figure, sort_keys=True) == first


def test_load_balancer_edge_to_its_targets_and_peer_vpc_node() -> None:
    from tests.inventory.exposure.test_analysis import _alb, _peered

    items = base_network() + [
        sg("sg-alb", "vpc-1", [perm("tcp", 443, cidrs=["0.0.0.0/0"])]),
        sg("sg-app", "vpc-1", [perm("tcp", 8080, groups=["sg-alb"])]),
        _alb(),
        instance("i-app", "subnet-priv", "vpc-1", ["sg-app"], private_ip="10.0.2.20"),
    ]
    payload = build_map(items, REGION)
    names = {t.get("name") for t in payload.figure["data"]}
    assert "Load balancer → targets" in names and "Internet exposure" in names
    assert analyse_account(items).reachable_via(arn("instance", "i-app"))
    peered = build_map(_peered(), REGION)
    assert "VPC peering reachability" in {t.get("name") for t in peered.figure["data"]}


# ---------------------------------------------------------------------- robustness
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.text(max_size=12)
    | st.sampled_from(
        ["0.0.0.0/0", "::/0", "-1", "tcp", "igw-1", "subnet-pub", "sg-1", "internet-facing", "10.0.0.0/8"]
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "SubnetId",
                    "VpcId",
                    "Groups",
                    "GroupId",
                    "IpPermissions",
                    "IpProtocol",
                    "FromPort",
                    "ToPort",
                    "IpRanges",
                    "CidrIp",
                    "PublicIpAddress",
                    "NetworkInterfaces",
                    "Association",
                    "PublicIp",
                    "Routes",
                    "Associations",
                    "Entries",
                    "Scheme",
                    "Listeners",
                    "Port",
                    "Protocol",
                    "SecurityGroups",
                    "AvailabilityZones",
                    "TargetGroups",
                    "Targets",
                    "State",
                    "Name",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
_types = st.sampled_from(
    [
        "ec2:instance",
        "ec2:security-group",
        "ec2:route-table",
        "ec2:network-acl",
        "ec2:subnet",
        "ec2:network-interface",
        "elbv2:load-balancer",
        "elb:load-balancer",
        "rds:db-instance",
        "lambda:function",
        "eks:cluster",
        "ec2:vpc-peering-connection",
        "ec2:nat-gateway",
        "ec2:elastic-ip",
        "ec2:managed-prefix-list",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(_types, _json, st.dictionaries(st.text(max_size=5), st.text(max_size=8), max_size=2)),
        max_size=6,
    )
)
def test_random_malformed_items_never_crash_the_analysis_or_the_map(raw: list[tuple[str, Any, Any]]) -> None:
    items = base_network() + [
        item(t, f"r-{n}", data if isinstance(data, dict) else {"junk": data}, tags=tags)
        for n, (t, data, tags) in enumerate(raw)
    ]
    build_map(items, REGION)
    analyse_account(items).as_dict()


# ---------------------------------------------------------------------- estate treemap
def test_treemap_sums_levels_skips_bad_rows_and_escapes_names() -> None:
    rows: list[Any] = [
        ("prod <b>", "eu-west-1", "ec2", "ec2:instance", 10),
        ("prod <b>", "eu-west-1", "ec2", "ec2:instance", 5),  # duplicate: added up
        ("prod <b>", "eu-west-1", "ec2", "ec2:volume", 3),
        ("prod <b>", "us-east-1", "s3", "s3:bucket", 2),
        ("dev", "eu-west-1", "rds", "rds:db-instance", "4"),
        ("dev", "eu-west-1", "rds", "rds:db-snapshot", "lots"),  # skipped
        ("dev", "eu-west-1", "rds", "rds:db-cluster", -1),  # skipped
        ("short row",),  # skipped
        None,  # skipped
    ]
    fig = estate_treemap(rows)
    trace = fig["data"][0]
    values = dict(zip(trace["ids"], trace["values"], strict=True))
    assert values["prod <b>"] == 20
    assert values["prod <b>\x1feu-west-1\x1fec2\x1fec2:instance"] == 15
    assert values["dev"] == 4
    assert "prod &lt;b&gt;" in trace["labels"] and "prod <b>" not in trace["labels"]
    assert trace["branchvalues"] == "total"
    assert estate_treemap(rows, kind="sunburst")["data"][0]["type"] == "sunburst"


def test_treemap_drops_the_type_level_when_there_are_too_many_leaves() -> None:
    rows = [("acct", "eu-west-1", f"svc{n % 5}", f"svc{n % 5}:t{n}", 1) for n in range(50)]
    full = estate_treemap(rows)["data"][0]
    assert max(i.count("\x1f") for i in full["ids"]) == 3
    trimmed = estate_treemap(rows, max_leaves=10)["data"][0]
    assert max(i.count("\x1f") for i in trimmed["ids"]) == 2
    assert dict(zip(trimmed["ids"], trimmed["values"], strict=True))["acct"] == 50


def test_figure_is_a_valid_plotly_figure() -> None:
    import plotly.graph_objects as go

    from tests.inventory.exposure.test_analysis import _alb

    items = (
        base_network()
        + [
            sg("sg-alb", "vpc-1", [perm("tcp", 443, cidrs=["0.0.0.0/0"])]),
            sg("sg-app", "vpc-1", [perm("tcp", 8080, groups=["sg-alb"])]),
            _alb(),
        ]
        + fleet(40, groups=("sg-app",))
    )
    payload = build_map(items, REGION)
    go.Figure(payload.figure)  # raises ValueError on any property plotly does not know
    assert payload.figure["data"] and payload.figure["layout"]["shapes"]


def test_grouping_can_be_turned_off_for_small_maps() -> None:
    items = base_network() + [sg("sg-app", "vpc-1", [])] + fleet(5)
    payload = build_map(items, REGION, group=False)
    assert payload.stats["nodes"] == 6 and payload.stats["grouped"] == 0 and payload.groups == {}
