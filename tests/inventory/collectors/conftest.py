"""Test helpers for collectors: boto3 clients per account against the moto server, and a context.

Deliberately independent of the production session factory: these tests prove the collectors, not
role assumption.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config

from inventory.collectors.base import CollectContext, Collector
from inventory.records import GLOBAL_REGION, Record

DEFAULT_ACCOUNT = "123456789012"  # where moto puts requests signed with unknown keys ("testing")
OTHER_ACCOUNT = "210987654321"

# One retry only: moto answers unimplemented operations with HTTP 500, which botocore retries.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=60)


class AccountClients:
    """Cached boto3 clients for one account on the moto endpoint (assume-role for any other account)."""

    def __init__(self, endpoint: str, account_id: str = DEFAULT_ACCOUNT) -> None:
        self.endpoint = endpoint
        self.account_id = account_id
        if account_id == DEFAULT_ACCOUNT:
            self.session = boto3.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
            )
        else:
            sts = boto3.client(
                "sts",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            credentials = sts.assume_role(
                RoleArn=f"arn:aws:iam::{account_id}:role/skyledger-test", RoleSessionName="collector-tests"
            )["Credentials"]
            self.session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name="us-east-1",
            )
        self._cache: dict[tuple[str, str], Any] = {}
        self.created: list[tuple[str, str]] = []

    def __call__(self, service: str, region: str | None = None) -> Any:
        key = (service, region or "us-east-1")
        if key not in self._cache:
            self.created.append(key)
            self._cache[key] = self.session.client(
                service, region_name=key[1], endpoint_url=self.endpoint, config=CLIENT_CONFIG
            )
        return self._cache[key]


def make_ctx(
    clients: Callable[..., Any],
    account_id: str,
    region: str = GLOBAL_REGION,
    unsupported: set[tuple[str, str]] | None = None,
) -> CollectContext:
    """A context like the orchestrator builds for one (account, region) pass."""
    return CollectContext(
        account_id=account_id,
        region=region,
        client=clients,
        home_region="us-east-1",
        unsupported=unsupported if unsupported is not None else set(),
    )


def run(collector: Collector, ctx: CollectContext) -> list[Record]:
    return list(collector.collect(ctx))


def by_type(records: list[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = {}
    for rec in records:
        grouped.setdefault(rec.type, []).append(rec)
    return grouped


@pytest.fixture(scope="module")
def endpoint(moto_server: Any) -> str:
    """The moto server, reset once per test module.

    Resetting costs seconds and so does every new account (moto loads ~1,500 managed policies into
    it), so a module builds its estate once, its tests only read it, and a test that needs a clean
    slate works in a region of its own rather than a new account.
    """
    moto_server.reset()
    moto_server.seed(42)
    return str(moto_server.url)


@pytest.fixture
def clients_for(endpoint: str) -> Callable[..., AccountClients]:
    """Factory: new (uncached between tests) clients for any 12-digit account on the module's server."""

    def factory(account_id: str = DEFAULT_ACCOUNT) -> AccountClients:
        return AccountClients(endpoint, account_id)

    return factory


def inject_error(
    client: Any, operation: str, code: str, status: int = 403, message: str = "injected"
) -> None:
    """Make ``operation`` on ``client`` fail exactly as AWS would, without reaching the endpoint.

    A ``before-call`` handler that returns a response short-circuits botocore, which then raises its
    own ``ClientError`` (or modelled subclass) from the error body — the same path as a real 403.
    """

    def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
        http = SimpleNamespace(status_code=status, headers={}, content=b"")
        return http, {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service_id}.{operation}", answer)


def count_requests(client: Any, operation: str = "*") -> list[str]:
    """Record every HTTP request ``client`` sends (retries included) for ``operation`` ("*": all)."""
    sent: list[str] = []

    def note(**kwargs: Any) -> None:
        sent.append(kwargs.get("event_name", ""))

    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-send.{service_id}.{operation}", note)
    return sent


def inject_answer(client: Any, operation: str, parsed: dict[str, Any]) -> None:
    """Make ``operation`` on ``client`` return ``parsed`` (a successful answer) without the endpoint."""

    def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
        http = SimpleNamespace(status_code=200, headers={}, content=b"")
        return http, {**parsed, "ResponseMetadata": {"HTTPStatusCode": 200}}

    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service_id}.{operation}", answer)


def capture_params(client: Any, operation: str) -> list[dict[str, Any]]:
    """Record the parameters of every ``operation`` call made through ``client``."""
    calls: list[dict[str, Any]] = []

    def note(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"provide-client-params.{service_id}.{operation}", note)
    return calls
