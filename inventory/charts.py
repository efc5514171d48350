"""Plotly chart builders for the inventory pages: plain aggregates in, an HTML fragment out.

No database here, so each builder is unit-tested on its own. The fragment is an empty holder and
the figure as JSON (:mod:`inventory.plotly_figure`: no inline script, for the Content-Security-
Policy); the page loads plotly.js and ``js/charts.js`` from our static files (never a CDN), which
draws it, then ``js/inventory-charts.js`` makes clicks follow the URL carried in each point's
``customdata``.

Labels are account names, tag-derived names, regions: attacker-controlled text. Plotly draws
labels and hover text as a small HTML dialect (``<b>``, ``<a href>``...), so every string is
escaped by :func:`inventory.plotly_text.plotly_text` before it reaches plotly, and
``json_script`` escapes ``<``, ``>`` and ``&`` inside the JSON element.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory.plotly_figure import figure_html
from inventory.plotly_text import plotly_text

PLOT_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}
FONT = {"family": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', "size": 12, "color": "#1d2330"}
BAR_COLOUR = "#1f5fbf"
GRID_COLOUR = "#e5e7eb"
HEAT_SCALE = [[0.0, "#e8f0fe"], [0.5, "#6f9fe0"], [1.0, "#123d7a"]]
ROW_HEIGHT = 26
LABEL_MAX = 48


def _label(text: Any) -> str:
    """Text safe to hand to plotly: shortened, then HTML-escaped (see :mod:`inventory.plotly_text`)."""
    return plotly_text(text, LABEL_MAX)


def _plural(n: int) -> str:
    return f"{n:,} resource" if n == 1 else f"{n:,} resources"


def _fragment(fig: go.Figure, css: str = "") -> SafeString:
    return format_html('<div class="chart chart-links {}">{}</div>', css, figure_html(fig, PLOT_CONFIG))


def empty(message: str = "No resources recorded yet.") -> SafeString:
    """What a chart shows when there is nothing to draw."""
    return format_html('<p class="muted chart-empty">{}</p>', message)


def _integer_ticks(largest: int) -> dict[str, Any]:
    """A tick per unit for small counts (plotly would otherwise place ticks at halves)."""
    return {"dtick": 1} if largest <= 10 else {}


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    return {
        "template": "none",  # plotly's default template would add ~10 KB of styling to every chart
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "font": FONT,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        **extra,
    }


def heatmap(
    counts: Mapping[tuple[str, str], int],
    links: Mapping[tuple[str, str], str] | None = None,
) -> SafeString:
    """Regions (rows) by services (columns), coloured by how many resources each pair holds.

    ``counts`` maps ``(region, service)`` to a count; ``links`` maps the same pairs to the URL a
    click on the cell opens (the filtered resource list). Empty pairs stay blank.
    """
    cells = {pair: int(n) for pair, n in counts.items() if n}
    if not cells:
        return empty()
    links = links or {}
    totals: Counter[str] = Counter()
    for (region, _), n in cells.items():
        totals[region] += n
    regions = sorted(totals, key=lambda r: (-totals[r], r))  # the busiest regions on top
    services = sorted({service for _, service in cells})
    z: list[list[int | None]] = []
    text: list[list[str]] = []
    urls: list[list[str | None]] = []
    for region in regions:
        z.append([cells.get((region, service)) for service in services])
        text.append(
            [
                f"{_label(region)} · {_label(service)}: {_plural(cells.get((region, service), 0))}"
                for service in services
            ]
        )
        urls.append([links.get((region, service)) for service in services])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[_label(s) for s in services],
            y=[_label(r) for r in regions],
            text=text,
            customdata=urls,
            hovertemplate="%{text}<extra></extra>",
            colorscale=HEAT_SCALE,
            xgap=2,
            ygap=2,
            showscale=True,
            colorbar={
                "thickness": 10,
                "outlinewidth": 0,
                "tickformat": ",d",
                **_integer_ticks(max(cells.values())),
            },
            hoverongaps=False,
        )
    )
    fig.update_layout(
        _layout(
            max(220, 110 + ROW_HEIGHT * len(regions)),
            xaxis={"type": "category", "side": "top", "tickangle": -40, "automargin": True},
            yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        )
    )
    return _fragment(fig, "chart-heatmap")


def bar(
    items: Sequence[tuple[str, int]],
    links: Sequence[str | None] | None = None,
    horizontal: bool = False,
    colour: str = BAR_COLOUR,
) -> SafeString:
    """One bar per ``(label, count)``, in the order given; ``links[i]`` is what clicking bar i opens."""
    items = [(label, int(n)) for label, n in items]
    if not items or not any(n for _, n in items):
        return empty()
    labels = [_label(label) for label, _ in items]
    counts = [n for _, n in items]
    hover = [f"{label}: {_plural(n)}" for label, n in zip(labels, counts, strict=True)]
    customdata = list(links) if links is not None else [None] * len(items)
    trace: dict[str, Any] = {
        "text": hover,
        "customdata": customdata,
        "hovertemplate": "%{text}<extra></extra>",
        "marker": {"color": colour},
        "textposition": "none",
    }
    # whole numbers only: a count axis reading 0.5, 1, 1.5 looks like a bug
    value_axis: dict[str, Any] = {
        "automargin": True,
        "gridcolor": GRID_COLOUR,
        "zeroline": False,
        "rangemode": "tozero",
        "tickformat": ",d",
        **_integer_ticks(max(counts)),
    }
    if horizontal:
        fig = go.Figure(go.Bar(x=counts, y=labels, orientation="h", **trace))
        layout = _layout(
            max(160, 40 + ROW_HEIGHT * len(items)),
            yaxis={"type": "category", "autorange": "reversed", "automargin": True},
            xaxis=value_axis,
        )
    else:
        fig = go.Figure(go.Bar(x=labels, y=counts, **trace))
        layout = _layout(
            300,
            xaxis={"type": "category", "tickangle": -40, "automargin": True},
            yaxis=value_axis,
        )
    fig.update_layout(layout)
    return _fragment(fig, "chart-bar")
