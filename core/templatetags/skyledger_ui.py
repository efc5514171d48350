"""Template helpers of the shared kit: account panels, optional URLs, query strings."""

from __future__ import annotations

import logging
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.panels import Panel
from core.ui import url_or_none

register = template.Library()
logger = logging.getLogger(__name__)


@register.simple_tag(takes_context=True)
def render_panel(context: template.Context, panel: Panel, account: Any) -> SafeString:
    """Render one registered account panel with its own context (plus ``account`` and ``panel``).

    A panel that fails is logged and replaced by a short notice, so one broken panel from another
    app cannot take the whole account page down.
    """
    request = context.get("request")
    try:
        extra = panel.context(request, account)  # type: ignore[arg-type]
        return render_to_string(
            panel.template, {"account": account, "panel": panel, **extra}, request=request
        )
    except Exception:
        logger.exception("account panel %s failed for account %s", panel.key, getattr(account, "pk", None))
        return format_html(
            '<p class="error">The “{}” panel could not be shown; the error was logged.</p>', panel.title
        )


@register.simple_tag
def optional_url(name: str, *args: Any) -> str:
    """The URL named ``name``, or "" when it does not exist yet (so the button is not drawn)."""
    return url_or_none(name, *args) or ""
