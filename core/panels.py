"""The account-page panel registry.

``accounts`` knows nothing of the apps above it; they register panels (and notices, shown above the
account list and on the home page) in ``AppConfig.ready()`` and
the account page renders whatever is registered, in ``order``. A panel is a template plus a function
that returns its context for one account (it must run a constant number of queries).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import AwsAccount


@dataclasses.dataclass(frozen=True)
class Panel:
    key: str
    title: str
    template: str
    context: Callable[[HttpRequest, AwsAccount], dict[str, Any]]
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    _PANELS[panel.key] = panel


def panels() -> list[Panel]:
    return sorted(_PANELS.values(), key=lambda p: (p.order, p.key))


@dataclasses.dataclass(frozen=True)
class Notice:
    """Something the estate lacks that the account list and the home page ask for (e.g. "no identity
    account is designated"). ``context`` returns the template's context, or None when all is well."""

    key: str
    template: str
    context: Callable[[HttpRequest], dict[str, Any] | None]
    order: int = 100


_NOTICES: dict[str, Notice] = {}


def register_notice(notice: Notice) -> None:
    _NOTICES[notice.key] = notice


def notices(request: HttpRequest) -> list[dict[str, Any]]:
    """The notices that apply now, as ``{"template", "context"}`` dicts in ``order``."""
    out = []
    for notice in sorted(_NOTICES.values(), key=lambda n: (n.order, n.key)):
        context = notice.context(request)
        if context is not None:
            out.append({"template": notice.template, "context": context})
    return out
