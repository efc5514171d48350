"""Inventory forms: the resource filter form's own rules and a text input with suggestions."""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from inventory.records import GLOBAL_REGION


@functools.cache
def known_regions() -> tuple[str, ...]:
    """Region names botocore knows (its bundled endpoint data, no network) plus ``global``."""
    try:
        import boto3

        names = set(boto3.session.Session().get_available_regions("ec2"))
    except Exception:  # noqa: BLE001  (suggestions only: an odd botocore must not break the page)
        names = set()
    return (GLOBAL_REGION, *sorted(names))


class SuggestInput(forms.TextInput):
    """A text input with a ``<datalist>`` of suggestions: any value may be typed, known ones offered."""

    def __init__(self, options: Any = (), attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.options = options

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        list_id = f"{(attrs or {}).get('id') or name}-options"
        attrs = {**(attrs or {}), "list": list_id, "autocomplete": "off"}
        options = self.options() if callable(self.options) else self.options
        return format_html(
            '{}<datalist id="{}">{}</datalist>',
            super().render(name, value, attrs, renderer),
            list_id,
            format_html_join("", '<option value="{}">', ((option,) for option in options)),
        )


class ResourceFilterForm(forms.Form):
    """The resource filters' cross-field rules (the fields come from the filterset)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("tag_value") and not cleaned.get("tag_key"):
            self.add_error("tag_value", "Give the tag key too (a value alone matches nothing in particular).")
        return cleaned
