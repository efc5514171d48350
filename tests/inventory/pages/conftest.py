"""A small estate for the inventory pages: two accounts, resources in a few regions, revisions, runs."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AwsAccount
from inventory.models import Resource
from tests.factories import AwsAccountFactory

_serial = itertools.count(1)
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def make_resource(
    account: AwsAccount,
    type: str = "ec2:instance",
    region: str = "eu-west-1",
    name: str | None = None,
    tags: Any = None,
    data: Any = None,
    deleted: bool = False,
    resource_id: str | None = None,
    arn: str | None = None,
    **extra: Any,
) -> Resource:
    """One stored resource, as ingest would have left it."""
    n = next(_serial)
    service = type.split(":", 1)[0]
    rid = resource_id or f"{service}-{n:06d}"
    data = {"Id": rid} if data is None else data
    now = timezone.now()
    return Resource.objects.create(
        account=account,
        region=region,
        service=service,
        type=type,
        arn=arn or f"arn:aws:{service}:{region}:{account.account_id}:{type.split(':')[1]}/{rid}",
        resource_id=rid,
        name=f"res-{n}" if name is None else name,
        tags={} if tags is None else tags,
        data=data,
        data_hash=hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest(),
        first_seen=now - dt.timedelta(days=3),
        last_seen=now,
        deleted_at=now - dt.timedelta(hours=1) if deleted else None,
        **extra,
    )


@pytest.fixture
def prod(owner_team: Any) -> AwsAccount:
    """Owned by ``owner_team``; only eu-west-1 is allowed."""
    return AwsAccountFactory(
        name="payments-prod",
        account_id="555555555555",
        environment="prod",
        owner=owner_team,
        allowed_regions=["eu-west-1"],
    )


@pytest.fixture
def dev(db: None) -> AwsAccount:
    """No allowed-region list: every region is allowed."""
    return AwsAccountFactory(name="sandbox-dev", account_id="666666666666", environment="dev")


@pytest.fixture
def estate(prod: AwsAccount, dev: AwsAccount) -> dict[str, Any]:
    """A handful of resources across both accounts, a deleted one, tags to filter on."""
    web = make_resource(
        prod,
        name="web-1",
        tags={"team": "payments", "env": "prod"},
        resource_id="i-0aaa1111",
        region="eu-west-1",
    )
    worker = make_resource(prod, name="worker-1", tags={"team": "batch"}, resource_id="i-0bbb2222")
    stray = make_resource(prod, name="stray-vm", region="ap-south-1", resource_id="i-0ccc3333")
    bucket = make_resource(
        prod, type="s3:bucket", name="payments-logs", region="eu-west-1", tags={"env": "prod"}
    )
    role = make_resource(prod, type="iam:role", name="deployer", region="global")
    gone = make_resource(prod, name="old-web", deleted=True, tags={"team": "payments"})
    sandbox = make_resource(dev, name="experiment", region="us-east-1", tags={"team": "payments"})
    vpc = make_resource(dev, type="ec2:vpc", name="", resource_id="vpc-0123", region="us-east-1")
    return {
        "web": web,
        "worker": worker,
        "stray": stray,
        "bucket": bucket,
        "role": role,
        "gone": gone,
        "sandbox": sandbox,
        "vpc": vpc,
    }


@pytest.fixture
def as_user(client: Client) -> Any:
    """``as_user(user)`` logs the client in (None: stays anonymous) and returns it."""

    def login(user: Any) -> Client:
        if user is not None:
            client.force_login(user)
        return client

    return login


ROLES = ["security_user", "owner_user", "viewer_user"]
