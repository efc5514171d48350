"""Fixtures: the session's simulated estate (shared with the simulation tests)."""

from __future__ import annotations

from tests.inventory.simulation.fixtures import account_client, boto_session, estate, estate_server, hub

__all__ = ["account_client", "boto_session", "estate", "estate_server", "hub"]
