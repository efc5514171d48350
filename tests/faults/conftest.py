"""Fault scenarios (issue 23): small moto-seeded accounts collected through the fault proxy."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from accounts.models import AwsAccount
from inventory.aws.session import AwsSettings, Hub, Target
from inventory.collectors import base
from inventory.models import CollectionRun
from inventory.services.collect import AwsAccess, collect_account
from inventory.services.runs import create_run
from inventory.simulation.proxy import FaultProxy

ACCOUNT = "310987654321"
REGIONS = ["eu-west-1", "us-east-1"]
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SkyledgerReadOnly"


class Estate:
    """One account on the test's moto server, seen directly (to seed it) and through a proxy."""

    def __init__(self, endpoint: str, proxy: FaultProxy) -> None:
        self.endpoint = endpoint
        self.proxy = proxy
        self.session = Hub(AwsSettings(endpoint_url=endpoint)).assume(Target(ACCOUNT, ROLE))
        self.account = AwsAccount.objects.create(account_id=ACCOUNT, name="faults", allowed_regions=REGIONS)

    def client(self, service: str, region: str = "us-east-1") -> object:
        return self.session.client(service, region)

    def collect(self, services: Iterable[str]) -> CollectionRun:
        """Collect ``services`` through the proxy (with whatever rules it holds now)."""
        wanted = set(services)
        hub = Hub(AwsSettings(endpoint_url=self.proxy.url, max_attempts=2))
        return collect_account(
            self.account,
            create_run(self.account),
            access=AwsAccess(hub),
            collectors=base.collectors(lambda c: c.service in wanted),
        )

    def deny(self, **match: object) -> None:
        self.proxy.add_rule(status=403, code=match.pop("code", "AccessDenied"), **match)


@pytest.fixture
def estate(moto_endpoint: str, db: None) -> Iterator[Estate]:
    with FaultProxy(moto_endpoint) as proxy:
        yield Estate(moto_endpoint, proxy)
