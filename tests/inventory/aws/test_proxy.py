"""The fault-injecting loopback proxy: forwarding, AWS error bodies per protocol, latency, stop."""

from __future__ import annotations

import io
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from inventory.aws.session import Hub
from inventory.simulation.proxy import FaultProxy
from inventory.simulation.server import MotoServer
from tests.inventory.aws.support import target

pytestmark = pytest.mark.moto

TRICKY = 'Not for you: <b>&</b> "quoted" — é'


@pytest.mark.parametrize(
    ("service", "rule", "invoke", "code"),
    [
        (
            "sts",
            {"operation": "GetCallerIdentity"},
            lambda c: c.get_caller_identity(),
            "AccessDenied",
        ),  # query XML
        (
            "ec2",
            {"operation": "DescribeVpcs"},
            lambda c: c.describe_vpcs(),
            "UnauthorizedOperation",
        ),  # EC2 XML
        ("kms", {"operation": "ListKeys"}, lambda c: c.list_keys(), "AccessDeniedException"),  # JSON
        (
            "s3",
            {"method": "GET", "path": r"^/(\?|$)"},
            lambda c: c.list_buckets(),
            "AccessDenied",
        ),  # REST-XML
        (
            "lambda",
            {"path": "/functions"},
            lambda c: c.list_functions(),
            "AccessDeniedException",
        ),  # REST-JSON
    ],
    ids=["query", "ec2", "json", "rest-xml", "rest-json"],
)
def test_injected_errors_are_parsed_by_botocore_in_every_protocol(
    hub: Hub,
    proxy: FaultProxy,
    account: str,
    service: str,
    rule: dict[str, Any],
    invoke: Callable[[Any], Any],
    code: str,
) -> None:
    client = hub.assume(target(account)).client(service)
    proxy.add_rule(service=service, status=403, code=code, message=TRICKY, **rule)

    with pytest.raises(ClientError) as raised:
        invoke(client)

    error = raised.value.response["Error"]
    assert (error["Code"], error["Message"]) == (code, TRICKY)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert proxy.injected == 1


def test_a_rule_can_target_one_account_learned_from_assume_role(
    hub: Hub, proxy: FaultProxy, account: str, other_account: str
) -> None:
    a, b = hub.assume(target(account)), hub.assume(target(other_account))
    proxy.add_rule(
        service="ec2", operation="DescribeVpcs", account=account, status=403, code="UnauthorizedOperation"
    )

    with pytest.raises(ClientError):
        a.client("ec2").describe_vpcs()
    b.client("ec2").describe_vpcs()

    assert [(r.account, r.injected) for r in proxy.seen("ec2", "DescribeVpcs")] == [
        (account, True),
        (other_account, False),
    ]


def test_times_limits_a_rule_and_counters_add_up(hub: Hub, proxy: FaultProxy) -> None:
    sts = hub.client("sts")
    rule = proxy.add_rule(
        service="sts", operation="GetCallerIdentity", status=400, code="Throttling", times=1
    )

    sts.get_caller_identity()  # the first attempt is throttled, botocore's retry passes

    assert rule.hits == 1
    assert (proxy.injected, proxy.forwarded) == (1, 1)
    assert proxy.snapshot()["rules"][0]["hits"] == 1


def test_delay_is_added_to_every_request(moto_server: MotoServer, boto_session: Any) -> None:
    from inventory.aws.session import AwsSettings

    with FaultProxy(moto_server.url, delay=0.2) as slow:
        sts = Hub(AwsSettings(endpoint_url=slow.url), session=boto_session).client("sts")
        sts.get_caller_identity()  # connection set up outside the measurement
        started = time.monotonic()
        for _ in range(3):
            sts.get_caller_identity()
        assert time.monotonic() - started >= 0.6


def test_large_bodies_and_expect_continue_pass_through(hub: Hub, proxy: FaultProxy, account: str) -> None:
    s3 = hub.assume(target(account)).client("s3")
    bucket = f"big-{account}"
    s3.create_bucket(Bucket=bucket)
    payload = bytes(range(256)) * 8192  # 2 MiB

    s3.put_object(Bucket=bucket, Key="blob", Body=io.BytesIO(payload))  # a file: Expect: 100-continue

    assert s3.get_object(Bucket=bucket, Key="blob")["Body"].read() == payload
    assert s3.head_object(Bucket=bucket, Key="blob")["ContentLength"] == len(payload)


def test_stop_closes_the_port_and_ends_every_thread(moto_server: MotoServer, boto_session: Any) -> None:
    from inventory.aws.session import AwsSettings

    before = set(threading.enumerate())
    proxy = FaultProxy(moto_server.url).start()
    port = int(proxy.url.rsplit(":", 1)[1])
    sts = Hub(AwsSettings(endpoint_url=proxy.url), session=boto_session).client("sts")
    sts.get_caller_identity()  # leaves a kept-alive connection (and its handler thread) open
    proxy.add_rule(service="sts", delay=30)  # and one request held in the proxy
    held = threading.Thread(target=lambda: _ignore(sts.get_caller_identity), daemon=True)
    held.start()
    time.sleep(0.2)

    started = time.monotonic()
    proxy.stop()
    proxy.stop()  # idempotent

    assert time.monotonic() - started < 3
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    held.join(timeout=5)
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive() and t is not held]
    assert leftover == []


def _ignore(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 (the proxy went away on purpose)
        pass


def test_an_unreachable_upstream_answers_502() -> None:
    with FaultProxy("http://127.0.0.1:9") as proxy:
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(proxy.url + "/", timeout=5)  # noqa: S310 (loopback)
    assert raised.value.code == 502


def test_the_proxy_forwards_to_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        FaultProxy("http://example.com")
