"""Text from AWS or people made safe for plotly's labels, hover text and titles.

Plotly draws text as a small HTML dialect (``<b>``, ``<br>``, ``<a href>``...), so a name such as
``<img src=x onerror=...>`` must reach it as entities. Plotly decodes only a handful of named
entities when it draws: ``&amp;``, ``&lt;`` and ``&gt;`` among them, but not ``&quot;`` or
``&#x27;``, which would show as those characters literally. So only ``&``, ``<`` and ``>`` are
escaped: with no ``<`` left, no tag can form, and a quote is plain text.

No Django here, so the pure chart and map builders can use it.
"""

from __future__ import annotations

import html
from typing import Any


def plotly_text(value: Any, limit: int = 200) -> str:
    """``value`` as text (``None`` is empty), shortened to ``limit`` characters, then escaped."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)
