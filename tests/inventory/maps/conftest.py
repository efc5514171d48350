"""Stored networks for the map and exposure pages: builders' items ingested as collection passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import AwsAccount
from inventory.records import Coverage, Record
from inventory.services.exposure import NETWORK_TYPES
from inventory.services.ingest import ingest
from tests.factories import AwsAccountFactory
from tests.inventory.exposure import builders as b

ACCOUNT_ID = b.ACCOUNT
REGION = b.REGION
WEB_ARN = b.arn("instance", "i-web")
HIDDEN_ARN = b.arn("instance", "i-hidden")
HTML_NAME = '<img src=x onerror="alert(1)">web'


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Test databases reuse primary keys: a cache entry must not outlive its test."""
    cache.clear()
    yield
    cache.clear()


def as_record(item: Any) -> Record:
    return Record(
        type=item.type,
        arn=item.arn,
        resource_id=item.resource_id,
        name=item.name,
        region=item.region,
        tags=dict(item.tags),
        data=dict(item.data),
    )


def store(
    account: AwsAccount,
    items: Iterable[Any],
    region: str = REGION,
    coverage: dict[str, Coverage] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """One collection pass of every network type in ``region`` (all complete unless ``coverage`` says)."""
    cover = {t: Coverage.OK for t in NETWORK_TYPES}
    cover.update(coverage or {})
    ingest(
        account,
        region,
        list(NETWORK_TYPES),
        [as_record(i) for i in items],
        cover,
        seen_at=at or timezone.now(),
    )


def network(web_tags: dict[str, str] | None = None, extra: Sequence[Any] = ()) -> list[Any]:
    """A public web instance (SSH and HTTPS open to the world) and a private instance whose group
    also opens SSH to the world (reachable by nothing: private subnet, no public address)."""
    return [
        *b.base_network(),
        b.sg(
            "sg-web",
            "vpc-1",
            [b.perm("tcp", 22, cidrs=["0.0.0.0/0"]), b.perm("tcp", 443, cidrs=["0.0.0.0/0"])],
            name="web",
        ),
        b.sg("sg-hidden", "vpc-1", [b.perm("tcp", 22, cidrs=["0.0.0.0/0"])], name="hidden"),
        b.instance("i-web", "subnet-pub", "vpc-1", ["sg-web"], public_ip="54.0.0.10", tags=web_tags),
        b.instance("i-hidden", "subnet-priv", "vpc-1", ["sg-hidden"], private_ip="10.0.2.10"),
        *extra,
    ]


@pytest.fixture
def account(db: None) -> AwsAccount:
    """A production account whose eu-west-1 network holds one exposed instance (``i-web``)."""
    acct = AwsAccountFactory(account_id=ACCOUNT_ID, name="shop-prod", environment="prod")
    store(acct, network(web_tags={"Name": HTML_NAME, "team": "<b>ops</b>"}))
    return acct
