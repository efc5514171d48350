"""API-call accounting: logical calls vs HTTP attempts, by operation, region and error."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from inventory.aws.session import Hub
from inventory.aws.stats import CallStats
from inventory.simulation.proxy import FaultProxy
from tests.inventory.aws.support import target

pytestmark = pytest.mark.moto


def _rows(stats: CallStats, operation: str) -> list[dict[str, object]]:
    return [row for row in stats.snapshot()["operations"] if row["operation"] == operation]


def test_throttling_that_stops_succeeds_with_its_retries_counted(
    make_hub: Callable[..., Hub], proxy: FaultProxy, account: str
) -> None:
    session = make_hub(max_attempts=3).assume(target(account))
    proxy.add_rule(service="ec2", operation="DescribeVpcs", status=400, code="Throttling", times=2)

    assert session.client("ec2").describe_vpcs()["Vpcs"]

    assert proxy.injected == 2
    [row] = _rows(session.stats, "DescribeVpcs")
    assert row == {
        "service": "ec2",
        "operation": "DescribeVpcs",
        "region": "us-east-1",
        "error": "",
        "calls": 1,
        "attempts": 3,
        "retries": 2,
    }
    assert session.stats.totals == {"calls": 1, "attempts": 3, "retries": 2, "errors": 0}


def test_calls_are_counted_per_operation_region_and_error_and_assume_role_on_the_hub(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    session = hub.assume(target(account))
    proxy.add_rule(
        service="ec2",
        operation="DescribeSubnets",
        region="eu-west-1",
        status=403,
        code="UnauthorizedOperation",
    )
    for region in ("eu-west-1", "eu-west-1", "us-west-2"):
        session.client("ec2", region).describe_vpcs()
    for region in ("eu-west-1", "us-west-2"):
        try:
            session.client("ec2", region).describe_subnets()
        except Exception:  # noqa: BLE001 (the denied one is expected)
            pass

    snapshot = session.stats.snapshot()
    counts = {(r["operation"], r["region"], r["error"]): r["calls"] for r in snapshot["operations"]}
    assert counts == {
        ("DescribeVpcs", "eu-west-1", ""): 2,
        ("DescribeVpcs", "us-west-2", ""): 1,
        ("DescribeSubnets", "eu-west-1", "UnauthorizedOperation"): 1,
        ("DescribeSubnets", "us-west-2", ""): 1,
    }
    assert snapshot["totals"] == {"calls": 5, "attempts": 5, "retries": 0, "errors": 1}
    # the role's own calls and the AssumeRole that got them are kept apart
    assert [(r["operation"], r["calls"]) for r in hub.stats.snapshot()["operations"]] == [("AssumeRole", 1)]


def test_counting_is_thread_safe(hub: Hub, account: str) -> None:
    session = hub.assume(target(account))
    ec2 = session.client("ec2", "eu-west-2")

    def work() -> None:
        for _ in range(5):
            ec2.describe_vpcs()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert session.stats.totals["calls"] == 30


def test_a_call_rejected_before_sending_is_not_counted(hub: Hub, account: str) -> None:
    session = hub.assume(target(account))
    with pytest.raises(Exception, match="Parameter validation failed"):
        session.client("ec2").describe_vpcs(VpcIds="not-a-list")
    assert session.stats.totals["calls"] == 0


def test_attaching_a_client_twice_counts_each_call_once(hub: Hub, account: str) -> None:
    client = hub.client("sts")  # the hub's own clients are attached to hub.stats when made
    hub.stats.attach(client)
    before = hub.stats.totals["calls"]
    client.get_caller_identity()
    assert hub.stats.totals["calls"] == before + 1


def test_each_session_counts_its_own_calls_through_the_clients_they_share(
    hub: Hub, account: str, other_account: str
) -> None:
    a, b = hub.assume(target(account)), hub.assume(target(other_account))
    a.client("ec2", "eu-west-1").describe_vpcs()
    for _ in range(2):
        b.client("ec2", "eu-west-1").describe_vpcs()
    assert a.client("ec2", "eu-west-1")._client is b.client("ec2", "eu-west-1")._client
    assert (a.stats.totals["calls"], b.stats.totals["calls"]) == (1, 2)
