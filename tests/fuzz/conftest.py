"""The fuzz tests' fixtures: a clean graph and cache around each test, and the seeded estate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from iam_audit import graph_store
from tests.fuzz.seed import Estate, seed


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Test databases reuse primary keys: no graph or cached page data may outlive a test."""
    graph_store.invalidate()
    cache.clear()
    yield
    graph_store.invalidate()
    cache.clear()


@pytest.fixture
def estate(owner_team: Any) -> Estate:
    return seed(owner_team)
