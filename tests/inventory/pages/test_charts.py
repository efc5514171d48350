"""Chart builders: plain aggregates in, a plotly fragment out; no database, everything escaped."""

from __future__ import annotations

import json
import re
from typing import Any

from inventory import charts

PAYLOAD = '<img src=x onerror=alert(1)></script><script>alert("x")</script>'


def figure(fragment: str) -> list[dict[str, Any]]:
    """The data traces charts.js passes to Plotly.newPlot: the JSON element the holder names."""
    holder = re.search(r'class="plotly-graph-div" data-plotly-figure="([^"]+)"></div>', fragment)
    assert holder, "no chart holder"
    match = re.search(
        rf'<script id="{holder.group(1)}" type="application/json">(.*?)</script>', fragment, re.S
    )
    assert match, "no figure JSON"
    return json.loads(match.group(1))["data"]


def test_heatmap_puts_regions_on_rows_services_on_columns_and_links_in_cells() -> None:
    counts = {
        ("eu-west-1", "ec2"): 5,
        ("eu-west-1", "s3"): 2,
        ("us-east-1", "ec2"): 9,
        ("us-east-1", "iam"): 0,
    }
    links = {pair: f"/inventory/resources/?region={pair[0]}&service={pair[1]}" for pair in counts}
    html = charts.heatmap(counts, links)
    assert html.startswith('<div class="chart chart-links chart-heatmap">')
    (trace,) = figure(html)
    assert trace["type"] == "heatmap"
    assert trace["y"] == ["us-east-1", "eu-west-1"]  # busiest region first
    assert trace["x"] == ["ec2", "s3"]  # a zero count is no column
    assert trace["z"] == [[9, None], [5, 2]]
    assert trace["customdata"] == [
        ["/inventory/resources/?region=us-east-1&service=ec2", None],
        [
            "/inventory/resources/?region=eu-west-1&service=ec2",
            "/inventory/resources/?region=eu-west-1&service=s3",
        ],
    ]
    assert trace["text"][1][1] == "eu-west-1 · s3: 2 resources"


def test_heatmap_escapes_labels_and_hover_text() -> None:
    html = charts.heatmap({(PAYLOAD, PAYLOAD): 1})
    assert "<img" not in html and "<script>alert" not in html and "</script><script>" not in html
    (trace,) = figure(html)
    assert trace["y"][0].startswith("&lt;img src=x onerror=alert(1)&gt;")
    assert "&lt;" in trace["text"][0][0] and "<" not in trace["text"][0][0]


def test_bar_chart_in_given_order_with_links_and_escaped_labels() -> None:
    html = charts.bar([("ec2", 10), (PAYLOAD, 3)], links=["/a", "/b"], horizontal=True)
    assert "<img" not in html and "</script><script>" not in html and html.count("</script>") == 1
    (trace,) = figure(html)
    assert trace["type"] == "bar" and trace["orientation"] == "h"
    assert trace["x"] == [10, 3] and trace["y"][0] == "ec2" and trace["y"][1].startswith("&lt;img")
    assert trace["customdata"] == ["/a", "/b"]
    assert trace["text"][0] == "ec2: 10 resources"
    vertical = figure(charts.bar([("a", 1)]))[0]
    assert vertical["x"] == ["a"] and vertical["y"] == [1] and vertical["customdata"] == [None]
    assert vertical["text"] == ["a: 1 resource"]


def test_long_labels_are_shortened() -> None:
    (trace,) = figure(charts.bar([("x" * 200, 1)]))
    assert len(trace["x"][0]) == charts.LABEL_MAX and trace["x"][0].endswith("…")


def test_nothing_to_draw_gives_a_note_not_an_empty_chart() -> None:
    assert "No resources recorded yet." in charts.heatmap({})
    assert "No resources recorded yet." in charts.heatmap({("eu-west-1", "ec2"): 0})
    assert "data-plotly-figure" not in charts.bar([]) and "data-plotly-figure" not in charts.bar([("a", 0)])


def test_charts_never_embed_plotly_js_or_a_cdn() -> None:
    html = charts.heatmap({("eu-west-1", "ec2"): 1}) + charts.bar([("a", 1)])
    assert "cdn.plot.ly" not in html and "<script src" not in html
    assert "Plotly.newPlot" not in html and "<script>" not in html  # only JSON elements, nothing to run
    assert len(html) < 20_000  # the figure only, not plotly.js (4 MB) nor its default template
