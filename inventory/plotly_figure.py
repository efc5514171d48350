"""A plotly figure as page markup that the Content-Security-Policy lets draw: no inline script.

``figure_html`` gives an empty ``<div data-plotly-figure=ID>`` and, beside it, the figure (data,
layout and plotly config) as JSON in ``<script type="application/json" id=ID>``, which browsers
never run. ``static/js/charts.js`` reads it and calls ``Plotly.newPlot``; pages load plotly.js and
charts.js from our static files.

The JSON is plotly's own encoding of the figure (it knows plotly's types), escaped by Django's
``json_script`` so that no ``<``, ``>`` or ``&`` from a label can end the element. No ``style``
attribute either (style-src 'self' refuses them): the height comes from the layout.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString


def figure_payload(fig: go.Figure, config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"data": [...], "layout": {...}, "config": {...}}`` as plain JSON values."""
    payload: dict[str, Any] = json.loads(pio.to_json(fig, validate=False))
    return {"data": payload.get("data", []), "layout": payload.get("layout", {}), "config": dict(config)}


def figure_html(fig: go.Figure, config: Mapping[str, Any], div_id: str | None = None) -> SafeString:
    """The holder ``<div>`` (class ``plotly-graph-div``) and the figure's JSON element."""
    div_id = div_id or f"chart-{uuid.uuid4().hex[:12]}"
    data_id = f"{div_id}-figure"
    return format_html(
        '<div id="{}" class="plotly-graph-div" data-plotly-figure="{}"></div>{}',
        div_id,
        data_id,
        json_script(figure_payload(fig, config), data_id),
    )
