"""The bridge keeps a graph per process and page data in Django's cache: each test starts clean."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from iam_audit import graph_store


@pytest.fixture(autouse=True)
def _fresh_graph() -> Iterator[None]:
    graph_store.invalidate()
    cache.clear()
    yield
    graph_store.invalidate()
    cache.clear()
