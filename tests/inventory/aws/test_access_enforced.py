"""check_access against a read role whose policy lacks an action: end to end through the proxy
enforcing that policy in front of moto (AWS's AccessDenied, in each protocol), the check names the
failing call and the missing action, and points to the template."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from inventory.aws import rolepolicy
from inventory.aws.access_check import PROBES, check_access
from inventory.aws.errors import ErrorKind
from inventory.aws.permissions import actions_for, declared_actions, iam_prefix
from inventory.aws.session import Hub
from inventory.simulation import enforcing
from inventory.simulation.proxy import FaultProxy
from tests.inventory.aws.support import target

pytestmark = pytest.mark.moto


def without(action: str) -> dict[str, Any]:
    """The generated read role policy with ``action`` removed."""
    policy = copy.deepcopy(rolepolicy.read_role_policy())
    for statement in policy["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != action]
    policy["Statement"] = [s for s in policy["Statement"] if s["Action"]]
    assert action not in str(policy)
    return policy


def test_the_full_policy_passes_every_probe(hub: Hub, proxy: FaultProxy, account: str) -> None:
    proxy.enforce(account, rolepolicy.read_role_policy())

    result = check_access(hub, target(account), [])

    assert result.ok, result.error
    assert proxy.denied == []
    # every probe went through the enforcing proxy
    assert {r.operation for r in proxy.seen() if r.account == account} >= {
        "ListAccountAliases",
        "DescribeVpcs",
    }


@pytest.mark.parametrize(
    "action",
    [
        "s3:ListAllMyBuckets",  # REST-XML
        "ec2:DescribeVpcs",  # EC2 query
        "iam:ListAccountAliases",  # query
        "kms:ListKeys",  # JSON
        "lambda:ListFunctions",  # REST-JSON
        "cloudwatch:DescribeAlarms",  # Smithy RPC v2 CBOR
    ],
)
def test_a_read_role_missing_one_action_makes_check_access_name_it(
    hub: Hub, proxy: FaultProxy, account: str, action: str
) -> None:
    proxy.enforce(account, without(action))

    result = check_access(hub, target(account), [])

    assert not result.ok
    assert result.error is not None and result.error.kind is ErrorKind.ACCESS_DENIED
    assert [d.action for d in result.denied] == [action]
    (denied,) = result.denied
    assert action in actions_for(denied.service, denied.operation)
    assert "because no identity-based policy allows" in denied.detail
    assert f"{action} (needed by {denied.service} {denied.operation})" in result.error.message
    assert "deploy/aws/read-role-policy.json" in result.error.message
    assert "docs/aws-setup.md" in result.error.message
    assert [d[2] for d in proxy.denied] == [action]
    # the identity and the regions were read: the role works, one permission is missing
    assert result.identity_arn.endswith("/skyledger") and result.regions


def test_the_region_listing_refused_names_ec2_describe_regions(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    proxy.enforce(account, without("ec2:DescribeRegions"))

    result = check_access(hub, target(account), [])

    assert not result.ok and result.error is not None
    assert result.error.kind is ErrorKind.ACCESS_DENIED
    assert "ec2:DescribeRegions" in result.error.message
    assert "deploy/aws/read-role-policy.json" in result.error.message


def test_a_refused_assume_role_points_to_the_trust_policy(hub: Hub, proxy: FaultProxy, account: str) -> None:
    proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")

    result = check_access(hub, target(account, external_id="wrong"), [])

    assert result.error is not None and result.error.kind is ErrorKind.EXTERNAL_ID_MISMATCH
    assert "sts:ExternalId" in result.error.message and "read-role-trust-policy.json" in result.error.message


def test_the_enforcing_proxy_answers_aws_access_denied_shape(
    proxy: FaultProxy, boto_session: boto3.Session, account: str
) -> None:
    hub_sts = boto_session.client("sts", endpoint_url=proxy.url)
    creds = hub_sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/Reader", RoleSessionName="audit-1")[
        "Credentials"
    ]
    ec2 = boto_session.client(
        "ec2",
        endpoint_url=proxy.url,
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    proxy.enforce(
        account, {"Statement": [{"Effect": "Allow", "Action": "ec2:DescribeVpcs", "Resource": "*"}]}
    )

    ec2.describe_vpcs()  # allowed
    with pytest.raises(ClientError) as caught:
        ec2.describe_instances()
    error = caught.value.response["Error"]
    assert error["Code"] == "UnauthorizedOperation"
    assert error["Message"] == (
        f"User: arn:aws:sts::{account}:assumed-role/Reader/audit-1 is not authorized to perform: "
        "ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action"
    )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_every_declared_service_has_a_probe() -> None:
    probed = {iam_prefix(service) for service, _, _ in PROBES}
    declared_services = {action.split(":", 1)[0] for action in declared_actions()}
    assert declared_services - {"sts"} <= probed


@pytest.mark.parametrize(
    ("policy", "action", "allowed"),
    [
        ({"Statement": {"Effect": "Allow", "Action": "ec2:Describe*"}}, "ec2:DescribeVpcs", True),
        (
            {"Statement": [{"Effect": "Allow", "Action": "*"}, {"Effect": "Deny", "Action": "ec2:*"}]},
            "ec2:DescribeVpcs",
            False,
        ),
        ({"Statement": [{"Effect": "Allow", "NotAction": "s3:*"}]}, "s3:ListAllMyBuckets", False),
        ({"Statement": [{"Effect": "Allow", "NotAction": "s3:*"}]}, "iam:ListUsers", True),
        ({"Statement": []}, "iam:ListUsers", False),
    ],
)
def test_enforcing_policy_semantics(policy: dict[str, Any], action: str, allowed: bool) -> None:
    assert enforcing.allows([policy], action) is allowed
