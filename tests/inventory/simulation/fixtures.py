"""Fixtures of the simulated estate (imported by the simulation and discovery conftests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from inventory.aws.session import AccountSession, Hub, Target
from inventory.simulation.estate import Estate
from inventory.simulation.server import MotoServer
from tests.inventory.simulation.support import make_hub, shared_estate, stop_shared


@pytest.fixture(scope="session")
def estate_server() -> Iterator[MotoServer]:
    server, _ = shared_estate()
    yield server
    stop_shared()


@pytest.fixture(scope="session")
def estate(estate_server: MotoServer) -> Estate:
    return shared_estate()[1]


@pytest.fixture(scope="session")
def hub(estate: Estate) -> Hub:
    return make_hub(estate)


@pytest.fixture(scope="session")
def account_client(estate: Estate, hub: Hub) -> Callable[..., Any]:
    """``account_client("prod", "ec2", "eu-west-1")``: a client in that account via its read role."""
    sessions: dict[str, AccountSession] = {}

    def client(key: str, service: str, region: str | None = None) -> Any:
        info = estate.account(key)
        if key not in sessions:
            target = Target(info.id, estate.read_role_arn(info.id), estate.spec.external_id or None, "tests")
            sessions[key] = hub.assume(target)
        return sessions[key].client(service, region or estate.spec.home_region)

    return client


@pytest.fixture(scope="session")
def boto_session() -> boto3.Session:
    return boto3.Session(region_name="us-east-1")
