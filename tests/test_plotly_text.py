"""Text for plotly: markup cannot form, and what plotly cannot decode is never produced."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from inventory.plotly_text import plotly_text

# The named entities plotly.js decodes when it draws text (svg_text_utils' entityToUnicode).
PLOTLY_DECODES = {
    "mu": "μ",
    "amp": "&",
    "lt": "<",
    "gt": ">",
    "nbsp": "\xa0",
    "times": "×",
    "plusmn": "±",
    "deg": "°",
}


def plotly_shows(text: str) -> str:
    """What plotly draws for ``text`` with no tags in it: named entities it knows, and numeric ones."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return PLOTLY_DECODES.get(name, match.group(0))

    return re.sub(r"&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);", one, text)


def test_markup_is_escaped_and_quotes_stay_quotes() -> None:
    assert plotly_text('<img src=x onerror="alert(1)">') == '&lt;img src=x onerror="alert(1)"&gt;'
    assert plotly_text("Tom's & Jerry's") == "Tom's &amp; Jerry's"
    assert plotly_text(None) == "" and plotly_text(123) == "123"


def test_long_text_is_shortened_before_escaping() -> None:
    assert plotly_text("a" * 10, 5) == "aaaa…"
    assert plotly_text("<" * 10, 5) == "&lt;" * 4 + "…"  # never half an entity


@given(st.text(max_size=60))
def test_plotly_draws_exactly_what_was_typed(value: str) -> None:
    shown = plotly_text(value, 1000)
    assert "<" not in shown and ">" not in shown
    assert plotly_shows(shown) == value
