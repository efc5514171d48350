"""Every URL name the code and templates link to exists in the URL conf.

Cross-app links are made by name (``reverse("app:name")``, ``redirect("app:name")``,
``url_or_none(...)``, ``{% url "app:name" %}``, ``{% optional_url "app:name" %}``); a renamed or
removed view would otherwise surface only as a 500 (or, for the optional ones, a button that
silently disappears) on the page that links to it.
"""

from __future__ import annotations

import pathlib
import re

import pytest
from django.urls import URLResolver, get_resolver

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
CODE_DIRS = ("accounts", "core", "config", "inventory", "iam_audit")
TEMPLATE_DIRS = ("templates", "accounts", "core", "inventory", "iam_audit")

NAME = r"""["']([A-Za-z_][\w-]*(?::[A-Za-z_][\w-]*)*)["']"""
PY_USE = re.compile(r"\b(?:reverse|reverse_lazy|redirect|url_or_none|resolve_url)\(\s*" + NAME)
TEMPLATE_USE = re.compile(r"{%\s*(?:url|optional_url)\s+" + NAME)


def used_names() -> dict[str, set[str]]:
    """URL name -> the files that use it."""
    found: dict[str, set[str]] = {}
    for top in CODE_DIRS:
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for name in PY_USE.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    for top in TEMPLATE_DIRS:
        for path in (ROOT / top).rglob("*.html"):
            for name in TEMPLATE_USE.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def defined_names() -> set[str]:
    """Every ``namespace:name`` (and bare name) the root URL conf can reverse."""
    names: set[str] = set()

    def walk(resolver: URLResolver, prefix: str) -> None:
        names.update(prefix + key for key in resolver.reverse_dict if isinstance(key, str))
        for namespace, (_, sub) in resolver.namespace_dict.items():
            walk(sub, f"{prefix}{namespace}:")

    walk(get_resolver(), "")
    return names


def test_the_scan_finds_the_cross_app_links() -> None:
    used = used_names()
    # one of each kind the scan must see, so a broken regex cannot make the test pass by finding nothing
    assert "accounts:account_detail" in used
    assert "inventory:resource_detail" in used
    assert any(path.endswith(".html") for paths in used.values() for path in paths)
    assert len(used) > 20


@pytest.mark.django_db
def test_every_url_name_used_exists() -> None:
    defined = defined_names()
    missing = {name: sorted(paths) for name, paths in used_names().items() if name not in defined}
    assert not missing, f"URL names used but not defined: {missing}"


def test_an_unknown_name_is_reported() -> None:
    assert "inventory:no_such_page" not in defined_names()
    assert "accounts:account_list" in defined_names()
