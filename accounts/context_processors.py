from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from accounts.permissions import is_security

# The sections of DESIGN.md in navigation order. A section appears once its URL exists, so the
# navigation never shows a dead link while later parts are still being built.
NAV_SECTIONS: list[tuple[str, str]] = [
    ("Home", "home"),
    ("Accounts", "accounts:account_list"),
    ("Resources", "inventory:resource_list"),
    ("Report", "inventory:report"),
    ("Map", "inventory:map"),
    ("Exposed", "inventory:exposed"),
    ("Findings", "iam_audit:finding_list"),
    ("Baseline", "iam_audit:baseline"),
    ("IAM", "iam_audit:principal_list"),
    ("Runs", "inventory:run_list"),
]


@cache
def _nav() -> tuple[tuple[str, str], ...]:
    found = []
    for label, name in NAV_SECTIONS:
        try:
            found.append((label, reverse(name)))
        except NoReverseMatch:
            continue
    return tuple(found)


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    path = request.path
    nav = [(label, url, path == url or (url != "/" and path.startswith(url))) for label, url in _nav()]
    return {"is_security": bool(user and is_security(user)), "nav_sections": nav}
