"""static/css/plotly.css and plotly-maplibre.css are what the bundled plotly.js would inject."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import plotly_styles

pytestmark = pytest.mark.browser


def test_plotly_style_sheets_match_the_bundled_plotly_js(browser: Any) -> None:
    styles = plotly_styles.injected(browser)
    include = (plotly_styles.ROOT / "templates" / "includes" / "plotly_styles.html").read_text()
    for style in styles:
        assert f'id="{style["id"]}"' in include, style["id"]
    for path, text in plotly_styles.expected_files(styles).items():
        assert path.read_text() == text, f"{path.name} is out of date: python -m tests.e2e.plotly_styles"
