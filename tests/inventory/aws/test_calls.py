"""Pagination, "there is none" answers and the run's memo of unsupported operations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError, PaginationError
from botocore.stub import Stubber

from inventory.aws.calls import UnsupportedMemo, absent_ok, call, paginate
from inventory.aws.errors import ErrorKind, Unsupported, classify
from inventory.aws.session import Hub
from inventory.collectors.base import CollectContext
from inventory.records import Coverage
from inventory.simulation.proxy import FaultProxy
from tests.inventory.aws.support import target

pytestmark = pytest.mark.moto


def test_paginate_reads_every_page_with_botocores_paginator(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    sqs = hub.assume(target(account)).client("sqs", "eu-west-1")
    names = [f"queue-{i}" for i in range(5)]
    for name in names:
        sqs.create_queue(QueueName=name)

    urls = list(paginate(sqs, "ListQueues", "QueueUrls", PaginationConfig={"PageSize": 2}))

    assert sorted(url.rsplit("/", 1)[-1] for url in urls) == names
    assert len(proxy.seen("sqs", "ListQueues")) == 3


def test_paginate_follows_markers_itself_where_botocore_has_no_paginator(
    hub: Hub, proxy: FaultProxy, account: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = hub.assume(target(account)).client("iam")
    names = [f"role-{i}" for i in range(5)]
    for name in names:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    monkeypatch.setattr(iam, "can_paginate", lambda _: False)

    roles = list(paginate(iam, "list_roles", "Roles", MaxItems=2, PaginationConfig={"ignored": True}))

    assert sorted(r["RoleName"] for r in roles) == names
    markers = [r.params.get("Marker") for r in proxy.seen("iam", "ListRoles")]
    assert markers[0] is None and len(markers) == 3 and None not in markers[1:]


def test_paginate_takes_jmespath_result_keys(hub: Hub, account: str) -> None:
    ec2 = hub.assume(target(account)).client("ec2", "eu-west-3")
    created = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]

    assert created in list(paginate(ec2, "DescribeVpcs", "Vpcs[].VpcId"))


def test_paginate_refuses_a_token_that_repeats_instead_of_looping(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = hub.client("iam")
    monkeypatch.setattr(iam, "can_paginate", lambda _: False)
    page = {"Users": [], "IsTruncated": True, "Marker": "same"}
    with Stubber(iam) as stub:
        stub.add_response("list_users", page)
        stub.add_response("list_users", page, {"Marker": "same"})
        with pytest.raises(PaginationError, match="same page token twice"):
            list(paginate(iam, "ListUsers", "Users"))


def test_absent_ok_turns_there_is_none_into_none(hub: Hub, account: str) -> None:
    session = hub.assume(target(account))
    s3, iam = session.client("s3"), session.client("iam")
    bucket = f"absent-{account}"
    s3.create_bucket(Bucket=bucket)

    assert absent_ok(s3.get_bucket_encryption, Bucket=bucket) is None
    assert absent_ok(s3.get_bucket_policy, Bucket=bucket) is None
    assert absent_ok(session.client("s3control").get_public_access_block, AccountId=account) is None
    assert absent_ok(iam.get_account_password_policy) is None

    iam.update_account_password_policy(MinimumPasswordLength=14)
    assert absent_ok(iam.get_account_password_policy)["PasswordPolicy"]["MinimumPasswordLength"] == 14


def test_absent_ok_lets_other_errors_through(hub: Hub, proxy: FaultProxy, account: str) -> None:
    s3 = hub.assume(target(account)).client("s3")
    bucket = f"denied-{account}"
    s3.create_bucket(Bucket=bucket)
    proxy.add_rule(service="s3", method="GET", path=r"\?encryption", status=403, code="AccessDenied")

    with pytest.raises(ClientError) as raised:
        absent_ok(s3.get_bucket_encryption, Bucket=bucket)
    assert classify(raised.value).kind is ErrorKind.ACCESS_DENIED


def test_an_unimplemented_operation_is_asked_once_per_region_and_run(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    session = hub.assume(target(account))
    regions = ("us-east-1", "eu-west-1")
    contexts = [
        CollectContext(account, region, session.client, unsupported=session.unsupported)
        for region in (*regions, *regions)  # each region's collectors ask twice
    ]
    outcomes = []
    for ctx in contexts:
        try:
            call(ctx, session.client("accessanalyzer", ctx.region), "ListAnalyzers")
        except Exception as exc:  # noqa: BLE001
            outcomes.append((type(exc).__name__, classify(exc).kind, classify(exc).coverage))

    # the endpoint said so explicitly (HTTP 501) once per region; the second ask is answered from memory
    assert outcomes == [
        ("ClientError", ErrorKind.NOT_IMPLEMENTED, Coverage.UNSUPPORTED),
        ("ClientError", ErrorKind.NOT_IMPLEMENTED, Coverage.UNSUPPORTED),
        ("Unsupported", ErrorKind.NOT_IMPLEMENTED, Coverage.UNSUPPORTED),
        ("Unsupported", ErrorKind.NOT_IMPLEMENTED, Coverage.UNSUPPORTED),
    ]
    # remembered per region: an API may exist in one region and not yet in another
    assert session.unsupported == {("accessanalyzer", r, "ListAnalyzers") for r in regions}
    assert session.stats.totals["calls"] == 2


def test_a_transient_server_error_is_retried_and_never_remembered_as_unsupported(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    session = hub.assume(target(account))
    ctx = CollectContext(account, "eu-west-1", session.client, unsupported=session.unsupported)
    ec2 = session.client("ec2", "eu-west-1")
    # one HTML 500 (no AWS error document), as a load balancer in front of an endpoint gives
    proxy.add_rule(service="ec2", operation="DescribeSecurityGroups", status=500, html=True, times=1)

    groups = call(ctx, ec2, "DescribeSecurityGroups")["SecurityGroups"]

    assert groups and session.unsupported == set()
    attempts = [r for r in proxy.seen() if r.operation == "DescribeSecurityGroups"]
    assert len(attempts) == 2  # the 500, then the retry that succeeded


def test_a_persistent_server_error_is_a_failure_not_unsupported(
    make_hub: Callable[..., Hub], proxy: FaultProxy, account: str
) -> None:
    session = make_hub(max_attempts=2).assume(target(account))
    ctx = CollectContext(account, "eu-west-1", session.client, unsupported=session.unsupported)
    proxy.add_rule(service="ec2", operation="DescribeSecurityGroups", status=500, html=True)

    with pytest.raises(ClientError) as raised:
        call(ctx, session.client("ec2", "eu-west-1"), "DescribeSecurityGroups")

    result = classify(raised.value)
    assert (result.kind, result.coverage) == (ErrorKind.SERVER_ERROR, Coverage.FAILED)
    assert result.message == (
        "The AWS endpoint answered DescribeSecurityGroups with a server error (HTTP 500) after every retry; "
        "try again later."
    )
    assert "<" not in result.detail and session.unsupported == set()
    # another region, or the next call, asks again: nothing was remembered
    with pytest.raises(ClientError):
        call(ctx, session.client("ec2", "eu-west-1"), "DescribeSecurityGroups")
    assert len([r for r in proxy.seen() if r.operation == "DescribeSecurityGroups"]) == 4


def test_paginate_with_a_memo_remembers_unsupported_and_call_passes_results_through(
    hub: Hub, account: str
) -> None:
    session = hub.assume(target(account))
    memo = UnsupportedMemo()
    with pytest.raises(ClientError):
        list(paginate(session.client("accessanalyzer"), "list_analyzers", "analyzers", memo=memo))
    with pytest.raises(Unsupported):
        list(paginate(session.client("accessanalyzer"), "ListAnalyzers", "analyzers", memo=memo))

    identity = call(memo, session.client("sts"), "get_caller_identity")
    assert identity["Account"] == account
    region = session.client("accessanalyzer").meta.region_name
    assert memo.unsupported == {("accessanalyzer", region, "ListAnalyzers")}
