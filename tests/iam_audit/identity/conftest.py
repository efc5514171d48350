"""Fixtures: the session's simulated estate (shared with the simulation tests)."""

from __future__ import annotations

from tests.inventory.simulation.fixtures import estate, estate_server, hub

__all__ = ["estate", "estate_server", "hub"]
