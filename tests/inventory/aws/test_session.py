"""The session factory: role assumption, account isolation, refresh, client cache, configuration."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from botocore.exceptions import NoCredentialsError

from inventory.aws.calls import paginate
from inventory.aws.errors import AccessError, ErrorKind, classify
from inventory.aws.session import (
    AwsSettings,
    Hub,
    _ActingRetryQuota,
    _retry_quota_checker,
    botocore_config,
    fix_s3control_for_local_endpoint,
    local_s3control_url,
    role_session_name,
)
from inventory.simulation.proxy import FaultProxy
from tests.inventory.aws.support import Clock, fresh_account, target

pytestmark = pytest.mark.moto


def test_assumed_credentials_see_only_their_own_accounts_resources(
    hub: Hub, account: str, other_account: str
) -> None:
    a, b = hub.assume(target(account)), hub.assume(target(other_account))
    assert a.caller_identity()["Account"] == account
    assert b.caller_identity()["Account"] == other_account

    vpc_id = a.client("ec2", "eu-west-1").create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    a.client("s3").create_bucket(Bucket=f"only-in-{account}")

    assert vpc_id in {v["VpcId"] for v in a.client("ec2", "eu-west-1").describe_vpcs()["Vpcs"]}
    assert vpc_id not in {v["VpcId"] for v in b.client("ec2", "eu-west-1").describe_vpcs()["Vpcs"]}
    assert [x["Name"] for x in a.client("s3").list_buckets()["Buckets"]] == [f"only-in-{account}"]
    assert b.client("s3").list_buckets()["Buckets"] == []


def test_external_id_session_name_and_duration_reach_assume_role_on_the_wire(
    hub: Hub, proxy: FaultProxy, account: str, other_account: str
) -> None:
    hub.assume(target(account, external_id="sl-7f3a", session_name="skyledger-run-42", duration_seconds=1800))
    hub.assume(target(other_account))

    with_id, without_id = (r.params for r in proxy.seen("sts", "AssumeRole"))
    assert with_id["ExternalId"] == "sl-7f3a"
    assert with_id["RoleSessionName"] == "skyledger-run-42"
    assert with_id["DurationSeconds"] == "1800"
    assert with_id["RoleArn"] == f"arn:aws:iam::{account}:role/skyledger-read"
    assert "ExternalId" not in without_id


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("skyledger-run-42", "skyledger-run-42"),
        ("skyledger run #42 (nightly)", "skyledger-run--42--nightly-"),
        ("skyledger-é-<script>", "skyledger----script-"),
        ("x" * 100, "x" * 64),
        ("", "skyledger"),
        ("é", "skyledger"),
        ("user@example.com,team=sec+ops", "user@example.com,team=sec+ops"),
    ],
)
def test_role_session_name_keeps_only_what_aws_accepts(given: str, expected: str) -> None:
    assert role_session_name(given) == expected


def test_credentials_refresh_by_assuming_the_role_again_near_expiry(
    hub: Hub, proxy: FaultProxy, clock: Clock, account: str
) -> None:
    session = hub.assume(target(account, duration_seconds=900))
    ec2 = session.client("ec2", "eu-west-1")
    ec2.describe_vpcs()
    first_key = session.credentials.get_frozen_credentials().access_key
    assert session.assumptions == 1

    clock.offset = dt.timedelta(seconds=800)  # 100 s left of a 15-minute session
    assert ec2.describe_vpcs()["Vpcs"]  # the same client keeps working, with new credentials

    assert session.assumptions == 2
    assert len(proxy.seen("sts", "AssumeRole")) == 2
    assert session.credentials.get_frozen_credentials().access_key != first_key
    assert proxy.seen("ec2", "DescribeVpcs")[-1].account == account
    assert session.clients_created == 1


def test_credentials_are_not_refreshed_while_far_from_expiry(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    session = hub.assume(target(account, duration_seconds=900))
    for _ in range(3):
        session.client("ec2").describe_vpcs()
    assert session.assumptions == 1
    assert len(proxy.seen("sts", "AssumeRole")) == 1


def test_failed_refresh_surfaces_as_a_classified_access_error(
    hub: Hub, proxy: FaultProxy, clock: Clock, account: str
) -> None:
    session = hub.assume(target(account, external_id="sl-7f3a"))
    proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")
    clock.offset = dt.timedelta(hours=2)  # expired: the refresh is mandatory

    with pytest.raises(AccessError) as raised:
        session.client("ec2").describe_vpcs()
    assert classify(raised.value).kind is ErrorKind.EXTERNAL_ID_MISMATCH


def test_client_cache_returns_one_client_per_service_and_region_across_threads(
    hub: Hub, account: str
) -> None:
    session = hub.assume(target(account))
    seen: list[object] = []

    def grab() -> None:
        seen.append(session.client("ec2", "eu-west-1"))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(c) for c in seen}) == 1
    assert session.client("ec2", "eu-west-1") is seen[0]
    assert session.client("ec2", "us-east-1") is not seen[0]
    assert session.client("ec2") is session.client("ec2", "us-east-1")  # home region by default
    assert session.clients_created == 2


def test_a_session_builds_each_service_client_class_once_and_keeps_regions_apart(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    """The class cache (half of a client's creation cost) must not blur regions, accounts or the
    methods a boto3 session adds."""
    session = hub.assume(target(account))
    eu, us = session.client("ec2", "eu-west-1"), session.client("ec2", "us-east-1")
    assert type(eu._client) is type(us._client)
    assert eu.meta.service_model is us.meta.service_model  # its shapes resolved once, too
    assert (eu.meta.region_name, us.meta.region_name) == ("eu-west-1", "us-east-1")
    eu.describe_vpcs()
    us.describe_vpcs()
    assert [call.region for call in proxy.seen("ec2", "DescribeVpcs")] == ["eu-west-1", "us-east-1"]

    # another session of the same hub sees the same shared client through a view of its own
    other = hub.assume(target(account))
    assert other.client("ec2", "eu-west-1") is not eu
    assert other.client("ec2", "eu-west-1")._client is eu._client
    assert (session.clients_created, other.clients_created) == (2, 0)
    # the hub is a boto3 session, whose S3 clients carry boto3's transfer methods; ours do not
    assert hasattr(hub.client("s3"), "upload_file")
    assert not hasattr(session.client("s3"), "upload_file")
    # shared clients cannot have classes of a session's own
    with pytest.raises(ValueError, match="shared"):
        other.on_every_client("creating-client-class.ec2", lambda class_attributes, **_: None)


def test_account_session_clients_use_the_assumed_role_not_the_hub(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    session = hub.assume(target(account))
    session.client("ec2").describe_vpcs()
    hub.client("ec2").describe_vpcs()
    call_b, call_hub = proxy.seen("ec2", "DescribeVpcs")
    assert call_b.account == account
    assert call_hub.access_key == "testing" and call_hub.account is None


def test_endpoint_comes_from_settings_then_the_environment(
    proxy: FaultProxy, boto_session: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    from_env = Hub(session=boto_session)  # type: ignore[arg-type]
    assert from_env.endpoint_url == proxy.url
    from_env.client("sts").get_caller_identity()
    assert proxy.seen("sts", "GetCallerIdentity")

    explicit = Hub(AwsSettings(endpoint_url="http://127.0.0.1:9"), session=boto_session)  # type: ignore[arg-type]
    assert explicit.client("sts").meta.endpoint_url == "http://127.0.0.1:9"

    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert AwsSettings().resolved_endpoint() is None  # real AWS


def test_one_botocore_config_carries_retries_timeouts_pool_and_user_agent(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    config = botocore_config(
        AwsSettings(max_attempts=4, connect_timeout=2, read_timeout=9, max_pool_connections=50)
    )
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert (config.connect_timeout, config.read_timeout, config.max_pool_connections) == (2, 9, 50)
    assert botocore_config(AwsSettings(), retries={"total_max_attempts": 1}).retries == {
        "total_max_attempts": 1
    }

    session = hub.assume(target(account))
    client = session.client("ec2")
    assert client.meta.config.retries["total_max_attempts"] == 3
    client.describe_vpcs()
    assert "skyledger" in proxy.seen("ec2", "DescribeVpcs")[0].user_agent


def test_hub_clients_are_cached_and_counted(make_hub: Callable[..., Hub]) -> None:
    hub = make_hub()
    assert hub.client("sts") is hub.client("sts", "us-east-1")
    assert hub.clients_created == 1


def test_hubs_of_a_process_parse_service_models_once() -> None:
    """A worker makes hubs (and sessions) again and again; the parsed models are the process's."""
    first, second = (
        Hub(AwsSettings(endpoint_url="http://127.0.0.1:9")),
        Hub(AwsSettings(endpoint_url="http://127.0.0.1:9")),
    )
    assert first.loader is second.loader
    model = first.session.client("ec2", region_name="eu-west-1").meta.service_model
    again = second.session.client("ec2", region_name="eu-west-1").meta.service_model
    assert model._service_description is again._service_description  # parsed once, the same dict


def test_a_shared_client_used_with_no_session_acting_is_refused_credentials(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    """Fail closed: the shared client never signs with a session's credentials but through it."""
    session = hub.assume(target(account))
    shared = session.client("sts")._client
    with pytest.raises(NoCredentialsError):
        shared.get_caller_identity()
    assert proxy.seen("sts", "GetCallerIdentity") == []
    assert session.caller_identity()["Account"] == account  # and through the session it works
    # S3 Express would cache session credentials per bucket in the shared client: it is off
    assert session.client("s3").meta.config.s3 == {"disable_s3_express_session_auth": True}


def test_sessions_sharing_clients_across_threads_each_call_as_their_own_account(
    hub: Hub, account: str, other_account: str
) -> None:
    """Many threads, three sessions (two accounts), one shared client per region: every answer
    comes from the account of the session that asked."""
    third = fresh_account()
    sessions = [hub.assume(target(a)) for a in (account, other_account, third, account)]
    for s in sessions:
        s.client("ec2", "eu-west-1").create_security_group(GroupName=f"sg-{id(s)}", Description="mine")
    wrong: list[tuple[str, str]] = []

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(15):
            s = rnd.choice(sessions)
            region = rnd.choice(["eu-west-1", "us-east-1"])
            if rnd.random() < 0.5:
                got = s.caller_identity()["Account"]
                if got != s.account_id:
                    wrong.append((s.account_id, got))
            else:  # through a paginator: each page signed as the session
                groups = list(paginate(s.client("ec2", region), "DescribeSecurityGroups", "SecurityGroups"))
                owners = {g["OwnerId"] for g in groups}
                if owners - {s.account_id}:
                    wrong.append((s.account_id, ",".join(sorted(owners))))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert hub.account_clients_created == 3  # sts in the home region, ec2 in two regions
    assert sum(s.stats.totals["calls"] for s in sessions) == 120 + 4  # + the creations above


def test_every_page_of_a_paginator_is_signed_as_the_session(
    hub: Hub, proxy: FaultProxy, account: str, other_account: str
) -> None:
    mine, theirs = hub.assume(target(account)), hub.assume(target(other_account))
    sqs = mine.client("sqs", "eu-west-1")
    for i in range(5):
        sqs.create_queue(QueueName=f"mine-{i}")
    pages = (
        mine.client("sqs", "eu-west-1")
        .get_paginator("list_queues")
        .paginate(PaginationConfig={"PageSize": 2})
    )
    assert len([url for page in pages for url in page.get("QueueUrls", [])]) == 5
    assert list(paginate(theirs.client("sqs", "eu-west-1"), "ListQueues", "QueueUrls")) == []
    listed = proxy.seen("sqs", "ListQueues")
    assert [c.account for c in listed] == [account] * 3 + [other_account]


def test_on_every_client_sees_only_its_own_sessions_calls(hub: Hub, account: str, other_account: str) -> None:
    a, b = hub.assume(target(account)), hub.assume(target(other_account))
    a.client("ec2", "eu-west-1")  # a client made before the handler is registered
    seen: list[str] = []
    a.on_every_client("provide-client-params", lambda model, **_: seen.append(model.name))
    a.client("ec2", "eu-west-1").describe_vpcs()
    b.client("ec2", "eu-west-1").describe_vpcs()
    a.client("sqs", "eu-west-1").list_queues()  # a client made after
    b.client("sqs", "eu-west-1").list_queues()
    assert seen == ["DescribeVpcs", "ListQueues"]


def test_each_account_keeps_its_own_retry_quota_on_a_shared_client(
    make_hub: Callable[..., Hub], proxy: FaultProxy, account: str, other_account: str
) -> None:
    """botocore stops retrying a client's calls once its retry quota is spent (a throttling storm).
    One account's storm must not stop the retries of another account sharing the client."""
    hub = make_hub(max_attempts=2)
    stormy, calm = hub.assume(target(account)), hub.assume(target(other_account))
    assert stormy.client("ec2", "eu-west-1")._client is calm.client("ec2", "eu-west-1")._client
    spent = stormy.retry_quota("ec2", "eu-west-1")
    assert spent.acquire(spent.available_capacity)  # the storm so far: nothing left to retry with
    for victim in (account, other_account):
        proxy.add_rule(
            service="ec2", operation="DescribeVpcs", account=victim, status=400, code="Throttling", times=1
        )

    calm.client("ec2", "eu-west-1").describe_vpcs()  # throttled once, retried, answered
    result = classify(_raised(stormy.client("ec2", "eu-west-1").describe_vpcs))  # throttled, not retried

    assert result.kind is ErrorKind.THROTTLED
    calls = proxy.seen("ec2", "DescribeVpcs")
    assert [c.account for c in calls] == [other_account, other_account, account]
    assert (calm.stats.totals["retries"], stormy.stats.totals["retries"]) == (1, 0)
    assert calm.retry_quota("ec2", "eu-west-1").available_capacity == 500  # the success paid it back
    assert stormy.retry_quota("ec2", "eu-west-1").available_capacity == 0
    assert calm.retry_quota("ec2", "us-east-1") is not calm.retry_quota("ec2", "eu-west-1")


@pytest.mark.parametrize(
    "service",
    "ec2 s3 s3control iam sts organizations account rds elb elbv2 lambda cloudtrail guardduty config kms "
    "sns sqs ecr eks dynamodb secretsmanager cloudwatch logs securityhub accessanalyzer".split(),
)
def test_every_service_skyledger_calls_keeps_retry_quotas_per_account(hub: Hub, service: str) -> None:
    """The quota is reached through botocore internals (session._retry_quota_checker): a botocore
    release that moves it for any service shows here."""
    client = hub.account_client(service, "us-east-1")
    assert isinstance(_retry_quota_checker(client)._quota, _ActingRetryQuota)


def _raised(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError("the call did not fail")


def _s3control_hook() -> Callable[..., None]:
    registered: dict[str, Callable[..., None]] = {}

    class Events:
        def register(self, event: str, handler: Callable[..., None], unique_id: str) -> None:
            registered[event] = handler

    fix_s3control_for_local_endpoint(SimpleNamespace(meta=SimpleNamespace(events=Events())))
    return registered["before-send.s3-control"]


def test_s3control_hook_strips_account_prefix_only_for_local_hosts() -> None:
    hook = _s3control_hook()
    cases = {
        "http://123456789012.127.0.0.1:5000/v20180820/configuration/publicAccessBlock": "http://127.0.0.1:5000/v20180820/configuration/publicAccessBlock",
        "http://123456789012.localhost:5000/x": "http://localhost:5000/x",
        "http://123456789012.10.1.2.3:5000/x": "http://10.1.2.3:5000/x",
        "https://123456789012.s3-control.us-east-1.amazonaws.com/v20180820/x": "https://123456789012.s3-control.us-east-1.amazonaws.com/v20180820/x",
        "http://127.0.0.1:5000/x": "http://127.0.0.1:5000/x",
    }
    for before, after in cases.items():
        request = SimpleNamespace(url=before, headers={"host": before.split("/")[2]})
        hook(request=request)
        assert request.url == after
        assert request.headers["host"] == after.split("/")[2]
        assert local_s3control_url(before) == after
