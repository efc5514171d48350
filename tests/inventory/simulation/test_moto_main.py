"""The moto launcher's adjustments (inventory/simulation/moto_main.py), over HTTP on the shared server."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest

from inventory.simulation.moto_main import CLOCK_PATH
from inventory.simulation.server import MotoServer
from tests.inventory.simulation.support import fresh_account

pytestmark = pytest.mark.moto


def _post(url: str) -> dict[str, float]:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def _client(url: str, service: str, account: str | None = None, region: str = "us-east-1") -> object:
    credentials = {"aws_access_key_id": "AKIALAUNCHERTEST0000", "aws_secret_access_key": "x"}
    if account:
        sts = boto3.client("sts", endpoint_url=url, region_name=region, **credentials)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/t", RoleSessionName="tests")[
            "Credentials"
        ]
        credentials = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
    return boto3.client(service, endpoint_url=url, region_name=region, **credentials)


def test_the_clock_offset_dates_what_is_created_and_resets(moto_server: MotoServer) -> None:
    url = moto_server.url
    iam = _client(url, "iam", fresh_account())
    try:
        assert _post(f"{url}{CLOCK_PATH}?offset_seconds={-100 * 86400}") == {"offset_seconds": -8640000.0}
        created = iam.create_user(UserName="old-timer")["User"]["CreateDate"]  # type: ignore[attr-defined]
    finally:
        assert _post(f"{url}{CLOCK_PATH}?offset_seconds=0") == {"offset_seconds": 0.0}
    age = dt.datetime.now(dt.UTC) - created
    assert dt.timedelta(days=99) < age < dt.timedelta(days=101)
    assert dt.datetime.now(dt.UTC) - iam.create_user(UserName="new")["User"]["CreateDate"] < dt.timedelta(
        hours=1
    )  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ["abc", "nan", "1e12", ""])
def test_the_clock_refuses_nonsense(moto_server: MotoServer, bad: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as failure:
        _post(f"{moto_server.url}{CLOCK_PATH}?offset_seconds={bad}")
    assert failure.value.code == 400


def test_reset_sets_the_clock_back(moto_server: MotoServer) -> None:
    _post(f"{moto_server.url}{CLOCK_PATH}?offset_seconds=-3600")
    moto_server.reset()
    with urllib.request.urlopen(f"{moto_server.url}{CLOCK_PATH}", timeout=30) as response:  # noqa: S310
        assert json.loads(response.read()) == {"offset_seconds": 0.0}


def test_keys_of_many_accounts_resolve_to_their_own_account(moto_server: MotoServer) -> None:
    accounts = [fresh_account() for _ in range(4)]
    for account in accounts:
        identity = _client(moto_server.url, "sts", account).get_caller_identity()  # type: ignore[attr-defined]
        assert identity["Account"] == account


def test_a_deleted_vpc_takes_its_network_acls_with_it(moto_server: MotoServer) -> None:
    ec2 = _client(moto_server.url, "ec2", fresh_account(), "eu-west-1")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]  # type: ignore[attr-defined]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]  # type: ignore[attr-defined]
    by_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
    assert ec2.describe_network_acls(Filters=by_vpc)["NetworkAcls"]  # type: ignore[attr-defined]
    ec2.delete_subnet(SubnetId=subnet)  # type: ignore[attr-defined]
    ec2.delete_vpc(VpcId=vpc)  # type: ignore[attr-defined]
    assert ec2.describe_network_acls(Filters=by_vpc)["NetworkAcls"] == []  # type: ignore[attr-defined]


def test_the_ebs_default_key_is_aws_managed(moto_server: MotoServer) -> None:
    account = fresh_account()
    ec2 = _client(moto_server.url, "ec2", account)
    ec2.enable_ebs_encryption_by_default()  # type: ignore[attr-defined]
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, Encrypted=True)  # type: ignore[attr-defined]
    kms = _client(moto_server.url, "kms", account)
    [key] = kms.list_keys()["Keys"]  # type: ignore[attr-defined]
    metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]  # type: ignore[attr-defined]
    assert metadata["KeyManager"] == "AWS"
    assert [a["AliasName"] for a in kms.list_aliases(KeyId=key["KeyId"])["Aliases"]] == ["alias/aws/ebs"]  # type: ignore[attr-defined]


def test_the_account_summary_shows_root_mfa_once_the_root_device_exists(moto_server: MotoServer) -> None:
    iam = _client(moto_server.url, "iam", fresh_account())
    assert iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 0  # type: ignore[attr-defined]
    iam.create_virtual_mfa_device(VirtualMFADeviceName="someone-else")  # type: ignore[attr-defined]
    assert iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 0  # type: ignore[attr-defined]
    iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")  # type: ignore[attr-defined]
    assert iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1  # type: ignore[attr-defined]


def test_a_server_stops_at_once_even_with_open_connections() -> None:
    import time

    from inventory.simulation import server

    running = server.start()
    client = _client(running.url, "iam")
    client.list_users()  # type: ignore[attr-defined]  # leaves a keep-alive connection open
    started = time.monotonic()
    running.stop()
    assert time.monotonic() - started < 3
    assert running.process is not None and running.process.returncode == 0


def _exchange(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any = None, **headers: str
) -> int:
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def test_connections_stay_open_across_requests_with_any_kind_of_body(moto_server: MotoServer) -> None:
    """Keep-alive as AWS does it, whatever the application read of each request's body."""
    host, port = moto_server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    sts = "Action=GetCallerIdentity&Version=2011-06-15"
    assert _exchange(conn, "POST", "/", sts, **form) == 200
    sock = conn.sock
    # a body the application never reads (the clock's GET ignores it): drained, not parsed as
    # the next request
    assert _exchange(conn, "GET", CLOCK_PATH, b"x" * 70_000) == 200
    # a chunked body
    assert _exchange(conn, "POST", "/", iter([sts[:10].encode(), sts[10:].encode()]), **form) == 200
    # With Nagle's algorithm on, the last piece of every answer waits for the client's delayed
    # acknowledgement (40 ms on Linux): then even the fastest of ten answers takes 40 ms.
    took = []
    for _ in range(10):
        started = time.monotonic()
        assert _exchange(conn, "POST", "/", sts, **form) == 200
        took.append(time.monotonic() - started)
    assert min(took) < 0.035
    assert conn.sock is sock  # one connection throughout
    conn.close()


def test_a_request_without_a_usable_length_ends_its_connection(moto_server: MotoServer) -> None:
    host, port = moto_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {CLOCK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: nonsense\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")  # answered, and then the server closed the connection
