"""The account-page panel registry.

``accounts`` knows nothing of the apps above it; they register panels in ``AppConfig.ready()`` and
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
