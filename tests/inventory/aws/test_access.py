"""check_access: the answer behind the "check access" button and management command."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.aws.access_check import check_access
from inventory.aws.errors import ErrorKind
from inventory.aws.session import Hub, Target
from inventory.simulation.proxy import FaultProxy
from tests.inventory.aws.support import target

pytestmark = pytest.mark.moto


def test_access_ok_names_the_identity_and_the_regions(hub: Hub, account: str) -> None:
    before = dt.datetime.now(dt.UTC)

    result = check_access(hub, target(account, external_id="sl-1"), ["eu-west-1", "us-east-1"])

    assert result.ok and result.error is None
    assert result.identity_arn == f"arn:aws:sts::{account}:assumed-role/skyledger-read/skyledger"
    assert result.regions == ["eu-west-1", "us-east-1"]
    assert before <= result.checked_at <= dt.datetime.now(dt.UTC)


def test_access_refused_by_the_role_is_reported_not_raised(hub: Hub, proxy: FaultProxy, account: str) -> None:
    proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")

    result = check_access(hub, target(account), [])

    assert not result.ok
    assert (result.identity_arn, result.regions) == ("", [])
    assert result.error is not None and result.error.kind is ErrorKind.ROLE_MISSING


def test_region_listing_denied_fails_the_check_but_keeps_the_identity(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    proxy.add_rule(service="ec2", operation="DescribeRegions", status=403, code="UnauthorizedOperation")

    result = check_access(hub, target(account), [])

    assert not result.ok
    assert result.identity_arn.startswith(f"arn:aws:sts::{account}:")
    assert result.error is not None and result.error.kind is ErrorKind.ACCESS_DENIED
    assert "DescribeRegions" in result.error.message


def test_a_role_in_another_account_than_registered_fails(hub: Hub, account: str, other_account: str) -> None:
    wrong = Target(account, f"arn:aws:iam::{other_account}:role/skyledger-read")

    result = check_access(hub, wrong, [])

    assert not result.ok
    assert result.error is not None and result.error.code == "AccountMismatch"
    assert f"answers from account {other_account}, not {account}" in result.error.message
