"""Fixtures for the AWS access layer: the moto server behind a fault-injecting proxy."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest

from inventory.aws.session import AwsSettings, Hub
from inventory.simulation.proxy import FaultProxy
from inventory.simulation.server import MotoServer
from tests.inventory.aws.support import Clock, fresh_account


@pytest.fixture(scope="session")
def boto_session() -> boto3.Session:
    """One boto3 session for the suite: its parsed service models are reused by every Hub."""
    return boto3.Session(region_name="us-east-1")


@pytest.fixture
def proxy(moto_server: MotoServer) -> Iterator[FaultProxy]:
    """A fresh proxy in front of the shared moto server (no reset: tests use fresh accounts)."""
    with FaultProxy(moto_server.url) as running:
        yield running


@pytest.fixture
def account() -> str:
    return fresh_account()


@pytest.fixture
def other_account() -> str:
    return fresh_account()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_hub(proxy: FaultProxy, boto_session: boto3.Session, clock: Clock) -> Callable[..., Hub]:
    """A Hub talking to the proxy; keyword arguments override AwsSettings (3 attempts by default)."""

    def make(**settings: object) -> Hub:
        options: dict[str, object] = {"endpoint_url": proxy.url, "max_attempts": 3, **settings}
        return Hub(AwsSettings(**options), session=boto_session, clock=clock)  # type: ignore[arg-type]

    return make


@pytest.fixture
def hub(make_hub: Callable[..., Hub]) -> Hub:
    return make_hub()
