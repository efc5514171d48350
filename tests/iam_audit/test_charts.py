"""Chart builders: plain aggregates in, an HTML fragment out (no database, no plotly.js inside)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from iam_audit import charts

XSS = "<img src=x onerror=alert(1)></script>"


def figure(fragment: str) -> dict:
    """The figure charts.js draws: the JSON element the holder names (no inline script to run)."""
    holder = re.search(
        r'<div id="([^"]+)" class="plotly-graph-div" data-plotly-figure="([^"]+)"></div>', fragment
    )
    assert holder, fragment[:300]
    match = re.search(
        rf'<script id="{holder.group(2)}" type="application/json">(.*?)</script>', fragment, re.S
    )
    assert match, fragment[:300]
    return json.loads(match.group(1))


def figure_data(fragment: str) -> list[dict]:
    """The traces Plotly.newPlot receives."""
    return figure(fragment)["data"]


def test_severity_by_environment_stacks_one_trace_per_severity_in_severity_order() -> None:
    html = charts.severity_by_environment(
        {("high", "prod"): 4, ("critical", "prod"): 1, ("low", "dev"): 2, ("medium", "dev"): 0},
        {"prod": "Production", "dev": "Development"},
    )
    data = figure_data(html)
    assert [t["name"] for t in data] == ["Critical", "High", "Low"]
    assert data[0]["x"] == ["Production", "Development"]  # busiest environment first
    assert data[1]["y"] == [4, 0] and data[2]["y"] == [0, 2]
    assert figure(html)["layout"]["barmode"] == "stack"
    assert figure(html)["config"]["displaylogo"] is False
    assert 'id="chart-findings-severity"' in html
    assert "plotly.min.js" not in html and "cdn" not in html.lower()
    assert "Plotly.newPlot" not in html and "<script>" not in html  # nothing inline to run


def test_charts_without_data_say_so_instead_of_drawing_nothing() -> None:
    assert "No open findings" in charts.severity_by_environment({})
    day = dt.date(2026, 11, 1)
    assert "No finding opened or resolved" in charts.opened_vs_resolved([day], [0], [0])
    assert "No account has been evaluated" in charts.compliance_by_account([])


def test_trend_has_new_and_resolved_per_day() -> None:
    days = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(3)]
    data = figure_data(charts.opened_vs_resolved(days, [3, 0, 1], [0, 2, 0]))
    assert [t["name"] for t in data] == ["New", "Resolved"]
    assert data[0]["x"] == ["2026-11-01", "2026-11-02", "2026-11-03"] and data[1]["y"] == [0, 2, 0]
    with pytest.raises(ValueError):
        charts.opened_vs_resolved(days, [1], [1, 2, 3])


def test_compliance_puts_the_worst_account_first_and_clamps_percentages() -> None:
    data = figure_data(charts.compliance_by_account([("good", 100.0), ("bad", 40.0), ("odd", 130.0)]))
    assert data[0]["y"] == ["bad", "good", "odd"] and data[0]["x"] == [40.0, 100.0, 100.0]


def test_labels_from_aws_are_escaped_and_cannot_close_the_script() -> None:
    html = charts.compliance_by_account([(XSS, 50.0)])
    assert XSS not in html and "<img" not in html and html.count("</script>") == 1
    assert figure_data(html)[0]["y"] == ["&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;"]
    long = charts.severity_by_environment({("high", "x" * 500): 1})
    assert "x" * 100 not in long
