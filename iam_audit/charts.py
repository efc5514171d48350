"""Plotly charts of the findings part of the home page. Pure: plain aggregates in, an HTML fragment out.

Fragments carry no plotly.js and no inline script: the figure travels as JSON beside an empty holder
(:mod:`inventory.plotly_figure`), and the page loads ``static/js/plotly.min.js`` and
``static/js/charts.js``, which draws it. Labels that come from AWS or people (account names) are
HTML-escaped, because plotly renders a subset of HTML in labels; ``json_script`` escapes the JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory.plotly_figure import figure_html
from inventory.plotly_text import plotly_text

SEVERITY_COLOURS = {
    "critical": "#7a1010",
    "high": "#c0392b",
    "medium": "#d98c00",
    "low": "#2e7db5",
    "informational": "#6b7280",
}
SEVERITIES = tuple(SEVERITY_COLOURS)
CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
LABEL_MAX = 40


def _label(text: object) -> str:
    return plotly_text(text, LABEL_MAX)


def _empty(message: str) -> SafeString:
    return format_html('<p class="muted chart-empty">{}</p>', message)


def _layout(fig: go.Figure, height: int, **kwargs: object) -> None:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        font={"family": "system-ui, sans-serif", "size": 12},
        **kwargs,
    )


def _html(fig: go.Figure, div_id: str) -> SafeString:
    return figure_html(fig, CONFIG, div_id)


def severity_by_environment(
    counts: Mapping[tuple[str, str], int], environment_labels: Mapping[str, str] | None = None
) -> SafeString:
    """Open findings as stacked bars: one bar per environment, one colour per severity.

    ``counts`` maps (severity, environment) to a number of open findings.
    """
    total = sum(n for n in counts.values() if n > 0)
    if not total:
        return _empty("No open findings.")
    labels = dict(environment_labels or {})
    environments = sorted(
        {env for (_, env), n in counts.items() if n > 0},
        key=lambda env: -sum(counts.get((sev, env), 0) for sev in SEVERITIES),
    )
    fig = go.Figure()
    for severity in SEVERITIES:
        values = [max(0, counts.get((severity, env), 0)) for env in environments]
        if not any(values):
            continue
        fig.add_trace(
            go.Bar(
                name=severity.capitalize(),
                x=[_label(labels.get(env, env) or "—") for env in environments],
                y=values,
                marker_color=SEVERITY_COLOURS[severity],
            )
        )
    _layout(fig, 300, barmode="stack", yaxis_title="Open findings")
    return _html(fig, "chart-findings-severity")


def opened_vs_resolved(days: Sequence[dt.date], opened: Sequence[int], resolved: Sequence[int]) -> SafeString:
    """New (opened or reopened) and resolved findings per day."""
    if len(days) != len(opened) or len(days) != len(resolved):
        raise ValueError("days, opened and resolved must have the same length")
    if not any(opened) and not any(resolved):
        return _empty("No finding opened or resolved in this period.")
    x = [d.isoformat() for d in days]
    fig = go.Figure()
    fig.add_trace(go.Bar(name="New", x=x, y=list(opened), marker_color=SEVERITY_COLOURS["high"]))
    fig.add_trace(go.Bar(name="Resolved", x=x, y=list(resolved), marker_color="#1e7d3b"))
    _layout(fig, 280, barmode="group", yaxis_title="Findings", xaxis={"type": "date"})
    return _html(fig, "chart-findings-trend")


def compliance_by_account(rows: Sequence[tuple[str, float]]) -> SafeString:
    """Baseline compliance per account in percent, lowest first (worst at the top)."""
    if not rows:
        return _empty("No account has been evaluated against the baseline yet.")
    ordered = sorted(rows, key=lambda r: (r[1], str(r[0]).casefold()))
    names = [_label(name) for name, _ in ordered]
    values = [round(max(0.0, min(100.0, float(p))), 1) for _, p in ordered]
    colours = ["#1e7d3b" if v >= 100 else ("#d98c00" if v >= 70 else "#b3261e") for v in values]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker_color=colours,
            text=[f"{v:.0f}%" for v in values],
            textposition="auto",
            hovertemplate="%{y}: %{x:.0f}%<extra></extra>",
        )
    )
    _layout(
        fig,
        max(160, 28 * len(values) + 40),
        xaxis={"range": [0, 100], "title": "% of applicable items passing"},
    )
    fig.update_yaxes(autorange="reversed")
    return _html(fig, "chart-baseline-compliance")
