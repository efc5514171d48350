"""Privilege classes of effective permissions."""

from __future__ import annotations

from typing import Any

import pytest

from iam_audit.graph import Level, PrivilegeClass

from .factories import (
    ADMINISTRATOR_ACCESS,
    FULL_AWS_ACCESS,
    POWER_USER_ACCESS,
    PROD,
    READ_ONLY_ACCESS,
    Story,
    allow,
    aws_policy_arn,
    deny,
    doc,
    inline,
    managed,
    policy_arn,
    policy_item,
    role_arn,
    role_item,
    root,
    scp,
    trust,
)


def _class_of(*documents: Any, boundary: Any = None, scps: Any = None) -> PrivilegeClass:
    s = Story({PROD: []})
    attached = []
    if boundary is not None:
        s.add(PROD, policy_item(PROD, "Boundary", boundary))
    s.add(
        PROD,
        role_item(
            PROD,
            "R",
            trust(root(PROD)),
            policies=[inline(f"P{i}", d) for i, d in enumerate(documents)],
            attached=attached,
            boundary=policy_arn(PROD, "Boundary") if boundary is not None else "",
        ),
    )
    if scps:
        s.scps[PROD] = scps
    return s.graph().privilege(role_arn(PROD, "R"))


def test_star_on_star_is_administrator() -> None:
    assert _class_of(ADMINISTRATOR_ACCESS).level is Level.ADMINISTRATOR


def test_administrator_under_a_guardrail_scp_is_still_administrator() -> None:
    guardrails = doc(
        deny(["organizations:LeaveOrganization", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail"])
    )
    cls = _class_of(ADMINISTRATOR_ACCESS, scps=[[scp("Full", FULL_AWS_ACCESS), scp("Guard", guardrails)]])
    assert cls.level is Level.ADMINISTRATOR


def test_administrator_with_iam_denied_is_power_user() -> None:
    assert _class_of(ADMINISTRATOR_ACCESS, doc(deny("iam:*"))).level is Level.POWER_USER


def test_power_user_access_is_power_user() -> None:
    cls = _class_of(POWER_USER_ACCESS)
    assert cls.level is Level.POWER_USER
    assert cls.label == "power user (all but IAM/Organizations)"


def test_read_only_access_is_read_only_all_services() -> None:
    cls = _class_of(READ_ONLY_ACCESS)
    assert cls.level is Level.READ_ALL and cls.reads_all
    assert cls.label == "read-only, all services"
    assert "s3:GetObject" in cls.sensitive_actions


def test_writes_are_named_by_service() -> None:
    cls = _class_of(
        doc(allow(["s3:PutObject", "s3:GetObject"], "arn:aws:s3:::bucket/*"), allow("sqs:SendMessage"))
    )
    assert cls.level is Level.WRITE
    assert cls.write_services == ("s3", "sqs")
    assert cls.label == "write: s3, sqs"


def test_read_only_plus_one_write_is_write_and_says_reads_all() -> None:
    cls = _class_of(READ_ONLY_ACCESS, doc(allow("lambda:UpdateFunctionCode")))
    assert cls.level is Level.WRITE and cls.write_services == ("lambda",)
    assert "read-only, all services" in cls.detail


@pytest.mark.parametrize(
    "action",
    [
        "s3:GetObject",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
        "ssm:GetParametersByPath",
        "dynamodb:Scan",
    ],
)
def test_sensitive_reads_on_every_resource(action: str) -> None:
    cls = _class_of(doc(allow(action)))
    assert cls.level is Level.SENSITIVE_READ
    assert action in cls.sensitive_actions


def test_sensitive_read_on_one_resource_is_granular() -> None:
    cls = _class_of(doc(allow("s3:GetObject", "arn:aws:s3:::one-bucket/*")))
    assert cls.level is Level.GRANULAR and cls.sensitive_actions == ()


def test_a_few_reads_are_granular() -> None:
    cls = _class_of(doc(allow(["ec2:DescribeInstances", "s3:ListAllMyBuckets"])))
    assert cls.level is Level.GRANULAR and cls.action_count == 2


def test_boundary_limits_the_class() -> None:
    cls = _class_of(ADMINISTRATOR_ACCESS, boundary=doc(allow(["s3:*"])))
    assert cls.level is Level.WRITE and cls.write_services == ("s3",)


def test_conditional_deny_does_not_remove_permissions() -> None:
    mfa = doc(deny("*", Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}))
    assert _class_of(ADMINISTRATOR_ACCESS, mfa).level is Level.ADMINISTRATOR


def test_unconditional_deny_all_leaves_nothing() -> None:
    assert _class_of(ADMINISTRATOR_ACCESS, doc(deny("*"))).level is Level.NONE


def test_uncollected_managed_policy_is_unknown_not_none() -> None:
    s = Story(
        {
            PROD: [
                role_item(PROD, "R", trust(root(PROD)), attached=[managed("Gone", policy_arn(PROD, "Gone"))])
            ]
        }
    )
    graph = s.graph()
    assert graph.privilege(role_arn(PROD, "R")).level is Level.UNKNOWN
    assert graph.principal_summary(role_arn(PROD, "R"))["missing_policies"] == [policy_arn(PROD, "Gone")]


def test_aws_managed_document_is_shared_across_accounts() -> None:
    # the AdministratorAccess document was collected in one account only
    other = "777777777777"
    s = Story(
        {
            PROD: [policy_item(PROD, "AdministratorAccess", ADMINISTRATOR_ACCESS, aws=True)],
            other: [
                role_item(
                    other,
                    "R",
                    trust(root(other)),
                    attached=[managed("AdministratorAccess", aws_policy_arn("AdministratorAccess"))],
                )
            ],
        }
    )
    assert s.graph().privilege(role_arn(other, "R")).level is Level.ADMINISTRATOR
