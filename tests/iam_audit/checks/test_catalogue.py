"""Every registered check: declared metadata, a passing case, a failing case, and UNKNOWN when the
data it reads was not collected completely."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from iam_audit.checks import BASELINE_ITEMS, BASELINE_OFF_BY_DEFAULT, CONTEXT_ONLY_CHECKS
from iam_audit.checks.base import Check, Severity, Snapshot, Status, all_checks
from iam_audit.checks.catalogue import render
from tests.iam_audit.checks import factories as f
from tests.iam_audit.checks.factories import (
    ACCOUNT,
    ADMIN_DOC,
    MANAGEMENT,
    OUTSIDER,
    REGIONS,
    aws_policy,
    bucket,
    customer_policy,
    key,
    make_item,
    make_org,
    make_snapshot,
    managed_policy,
    perm,
    policy_doc,
    role,
    run,
    security_group,
    trail,
    user,
)

PUBLIC_DOC = policy_doc({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})
PRIVATE_DOC = policy_doc(
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "*", "Resource": "*"}
)


def _summary(mfa: int = 1, keys: int = 0, virtual_root: bool = False) -> object:
    devices = (
        [
            {
                "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device",
                "User": {"Arn": f"arn:aws:iam::{ACCOUNT}:root"},
            }
        ]
        if virtual_root
        else []
    )
    return make_item(
        "iam:account-summary",
        {
            "AccountMFAEnabled": mfa,
            "AccountAccessKeysPresent": keys,
            "Users": 0,
            "AccountAliases": [],
            "VirtualMFADevices": devices,
        },
    )


def _report(last_used: str) -> object:
    row = {
        "user": "<root_account>",
        "arn": f"arn:aws:iam::{ACCOUNT}:root",
        "password_enabled": "not_supported",
        "password_last_used": last_used,
        "mfa_active": "true",
        "access_key_1_active": "false",
        "access_key_2_active": "false",
        "access_key_1_last_used_date": "N/A",
        "access_key_2_last_used_date": "N/A",
    }
    return make_item("iam:credential-report", {"Rows": [row], "GeneratedTime": f.NOW})


def _per_region(type_: str, data: dict, regions: tuple[str, ...] = REGIONS) -> list:
    return [make_item(type_, data, region=r, resource_id=f"{type_.split(':')[1]}-{r}") for r in regions]


def _cis_alarm_items() -> list:
    from iam_audit.checks.detection import CIS_ALARMS

    items = [trail("main", log_group="ct-logs")]
    for i, spec in enumerate(CIS_ALARMS):
        pattern = (
            "{ "
            + " || ".join(f'($.{t[2:].split("=")[0]} = "{t.split("=", 1)[1]}")' for t in spec.tokens)
            + " }"
        )
        items.append(
            make_item(
                "logs:metric-filter",
                {
                    "filterName": f"cis-{spec.cis}",
                    "logGroupName": "ct-logs",
                    "filterPattern": pattern,
                    "metricTransformations": [
                        {"metricName": f"m{i}", "metricNamespace": "CIS", "metricValue": "1"}
                    ],
                },
                resource_id=f"cis-{spec.cis}",
            )
        )
        items.append(
            make_item(
                "cloudwatch:alarm",
                {
                    "AlarmName": f"a{i}",
                    "MetricName": f"m{i}",
                    "Namespace": "CIS",
                    "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:alerts"],
                    "ActionsEnabled": True,
                },
                resource_id=f"a{i}",
            )
        )
    return items


def _public_policy_case(type_: str, key_: str) -> tuple[Callable[[], Snapshot], Callable[[], Snapshot]]:
    return (
        lambda: make_snapshot([make_item(type_, {key_: PRIVATE_DOC})]),
        lambda: make_snapshot([make_item(type_, {key_: PUBLIC_DOC})]),
    )


def _recorder(recording: bool = True) -> dict:
    return {
        "name": "default",
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        "Status": {"name": "default", "recording": recording, "lastStatus": "SUCCESS"},
    }


SG_443 = [security_group("sg-1", ingress=[perm("tcp", 443, cidrs=["0.0.0.0/0"])])]
MGMT = {"environment": "org-root", "account": MANAGEMENT}
ESCALATOR = policy_doc({"Effect": "Allow", "Action": ["iam:PutUserPolicy"], "Resource": "*"})

# check id -> (build a snapshot where it passes, build one where it fails)
CASES: dict[str, tuple[Callable[[], Snapshot], Callable[[], Snapshot]]] = {
    "baseline.read_role_present": (
        lambda: make_snapshot([role(f.READ_ROLE)]),
        lambda: make_snapshot([role("Other")]),
    ),
    "baseline.root_locked": (
        lambda: make_snapshot([_summary(1, 0)]),
        lambda: make_snapshot([_summary(1, 1)]),
    ),
    "cloudtrail.bucket_public": (
        lambda: make_snapshot([trail("t"), bucket("trail-logs")]),
        lambda: make_snapshot([trail("t"), bucket("trail-logs", Policy=PUBLIC_DOC)]),
    ),
    "cloudtrail.kms": (lambda: make_snapshot([trail("t")]), lambda: make_snapshot([trail("t", kms=None)])),
    "cloudtrail.log_validation": (
        lambda: make_snapshot([trail("t")]),
        lambda: make_snapshot([trail("t", validation=False)]),
    ),
    "cloudtrail.multi_region": (
        lambda: make_snapshot([trail("t")]),
        lambda: make_snapshot([trail("t", multi=False)]),
    ),
    "cloudwatch.cis_alarms": (
        lambda: make_snapshot(_cis_alarm_items()),
        lambda: make_snapshot([trail("main", log_group="ct-logs")]),
    ),
    "config.recorder": (
        lambda: make_snapshot(_per_region("config:recorder", _recorder())),
        lambda: make_snapshot(_per_region("config:recorder", _recorder(), REGIONS[:1])),
    ),
    "ec2.default_sg_rules": (
        lambda: make_snapshot([security_group("sg-d", name="default")]),
        lambda: make_snapshot(
            [security_group("sg-d", name="default", egress=[perm("-1", cidrs=["0.0.0.0/0"])])]
        ),
    ),
    "ec2.ebs_default_encryption": (
        lambda: make_snapshot([f.account_settings(r) for r in REGIONS]),
        lambda: make_snapshot([f.account_settings("us-east-1"), f.account_settings("eu-west-1", ebs=False)]),
    ),
    "ec2.ebs_volume_encryption": (
        lambda: make_snapshot([make_item("ec2:volume", {"VolumeId": "vol-1", "Encrypted": True})]),
        lambda: make_snapshot([make_item("ec2:volume", {"VolumeId": "vol-1", "Encrypted": False})]),
    ),
    "ec2.imdsv2": (
        lambda: make_snapshot(
            [
                make_item(
                    "ec2:instance",
                    {
                        "InstanceId": "i-1",
                        "State": {"Name": "running"},
                        "MetadataOptions": {"HttpTokens": "required"},
                    },
                )
            ]
        ),
        lambda: make_snapshot(
            [
                make_item(
                    "ec2:instance",
                    {
                        "InstanceId": "i-1",
                        "State": {"Name": "running"},
                        "MetadataOptions": {"HttpTokens": "optional"},
                    },
                )
            ]
        ),
    ),
    "ec2.nacl_admin_ports_open": (
        lambda: make_snapshot(
            [
                f.network_acl(
                    "acl-1",
                    [
                        f.nacl_entry(50, "deny", ports=(22, 22)),
                        f.nacl_entry(60, "deny", ports=(3389, 3389)),
                        f.nacl_entry(61, "deny", protocol="17", ports=(3389, 3389)),
                        f.nacl_entry(100, "allow", protocol="-1"),
                    ],
                )
            ]
        ),
        lambda: make_snapshot(
            [
                f.network_acl(
                    "acl-1",
                    [f.nacl_entry(100, "allow", protocol="-1"), f.nacl_entry(32767, "deny", protocol="-1")],
                )
            ]
        ),
    ),
    "ec2.public_ami": (
        lambda: make_snapshot([make_item("ec2:image", {"ImageId": "ami-1", "LaunchPermissions": []})]),
        lambda: make_snapshot(
            [make_item("ec2:image", {"ImageId": "ami-1", "LaunchPermissions": [{"Group": "all"}]})]
        ),
    ),
    "ec2.public_snapshot": (
        lambda: make_snapshot(
            [
                make_item(
                    "ec2:snapshot",
                    {"SnapshotId": "snap-1", "CreateVolumePermissions": [{"UserId": f.MEMBER}]},
                )
            ]
        ),
        lambda: make_snapshot(
            [
                make_item(
                    "ec2:snapshot", {"SnapshotId": "snap-1", "CreateVolumePermissions": [{"Group": "all"}]}
                )
            ]
        ),
    ),
    "ec2.sg_admin_ports_open": (
        lambda: make_snapshot(SG_443),
        lambda: make_snapshot([security_group("sg-1", ingress=[perm("tcp", 22, cidrs=["0.0.0.0/0"])])]),
    ),
    "ec2.sg_all_open": (
        lambda: make_snapshot(SG_443),
        lambda: make_snapshot([security_group("sg-1", ingress=[perm("-1", cidrs=["0.0.0.0/0"])])]),
    ),
    "ec2.sg_db_ports_open": (
        lambda: make_snapshot(SG_443),
        lambda: make_snapshot([security_group("sg-1", ingress=[perm("tcp", 5432, v6=["::/0"])])]),
    ),
    "ecr.public_policy": _public_policy_case("ecr:repository", "Policy"),
    "eks.public_endpoint": (
        lambda: make_snapshot(
            [
                make_item(
                    "eks:cluster",
                    {"resourcesVpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True}},
                )
            ]
        ),
        lambda: make_snapshot(
            [
                make_item(
                    "eks:cluster",
                    {
                        "resourcesVpcConfig": {
                            "endpointPublicAccess": True,
                            "publicAccessCidrs": ["0.0.0.0/0"],
                        }
                    },
                )
            ]
        ),
    ),
    "guardduty.enabled": (
        lambda: make_snapshot(_per_region("guardduty:detector", {"Status": "ENABLED", "DetectorId": "d1"})),
        lambda: make_snapshot(_per_region("guardduty:detector", {"Status": "DISABLED", "DetectorId": "d1"})),
    ),
    "iam.access_analyzer": (
        lambda: make_snapshot(
            _per_region("accessanalyzer:analyzer", {"name": "a", "type": "ACCOUNT", "status": "ACTIVE"})
        ),
        lambda: make_snapshot([]),
    ),
    "iam.admin_policy": (
        lambda: make_snapshot([user("alice")]),
        lambda: make_snapshot(
            [
                role("admin", attached=[aws_policy("AdministratorAccess")]),
                managed_policy(aws_policy("AdministratorAccess"), ADMIN_DOC),
            ]
        ),
    ),
    "iam.assume_any_role": (
        lambda: make_snapshot(
            [
                role(
                    "r",
                    inline={
                        "p": policy_doc(
                            {
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "Resource": f"arn:aws:iam::{f.MEMBER}:role/deploy",
                            }
                        )
                    },
                )
            ]
        ),
        lambda: make_snapshot(
            [
                role(
                    "r",
                    inline={
                        "p": policy_doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
                    },
                )
            ]
        ),
    ),
    "iam.blanket_managed_policy": (
        lambda: make_snapshot([role("r", attached=[aws_policy("SecurityAudit")])]),
        lambda: make_snapshot([role("r", attached=[aws_policy("PowerUserAccess")])]),
    ),
    "iam.console_user_no_mfa": (
        lambda: make_snapshot([user("a", console=True, mfa=True)]),
        lambda: make_snapshot([user("a", console=True)]),
    ),
    "iam.credentials_unused": (
        lambda: make_snapshot([user("a", keys=[key(last_used="2026-11-20T00:00:00+00:00")])]),
        lambda: make_snapshot(
            [
                user(
                    "a",
                    keys=[key(created="2025-01-01T00:00:00+00:00", last_used="2026-05-01T00:00:00+00:00")],
                )
            ]
        ),
    ),
    "iam.key_never_used": (
        lambda: make_snapshot(
            [
                user(
                    "a",
                    keys=[key(created="2026-01-01T00:05:00+00:00", last_used="2026-11-01T00:00:00+00:00")],
                )
            ]
        ),
        lambda: make_snapshot([user("a", keys=[key(created="2026-01-01T00:05:00+00:00")])]),
    ),
    "iam.key_rotation": (
        lambda: make_snapshot([user("a", keys=[key(created="2026-11-19T00:00:00+00:00")])]),
        lambda: make_snapshot([user("a", keys=[key(created="2026-01-19T00:00:00+00:00")])]),
    ),
    "iam.multiple_active_keys": (
        lambda: make_snapshot([user("a", keys=[key("AKIA1"), key("AKIA2", status="Inactive")])]),
        lambda: make_snapshot([user("a", keys=[key("AKIA1"), key("AKIA2")])]),
    ),
    "iam.notaction_allow": (
        lambda: make_snapshot(
            [
                managed_policy(
                    customer_policy("p"),
                    policy_doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
                )
            ]
        ),
        lambda: make_snapshot(
            [
                managed_policy(
                    customer_policy("p"),
                    policy_doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
                )
            ]
        ),
    ),
    "iam.password_policy": (
        lambda: make_snapshot(
            [
                make_item(
                    "iam:password-policy",
                    {"Present": True, "MinimumPasswordLength": 14, "PasswordReusePrevention": 24},
                )
            ]
        ),
        lambda: make_snapshot([make_item("iam:password-policy", {"Present": False})]),
    ),
    "iam.privilege_escalation": (
        lambda: make_snapshot(
            [user("a", inline={"p": policy_doc({"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"})})]
        ),
        lambda: make_snapshot([user("a", inline={"p": ESCALATOR})]),
    ),
    "iam.root_access_keys": (
        lambda: make_snapshot([_summary(1, 0)]),
        lambda: make_snapshot([_summary(1, 1)]),
    ),
    "iam.root_hardware_mfa": (
        lambda: make_snapshot([_summary(1, 0)], **MGMT),
        lambda: make_snapshot([_summary(1, 0, virtual_root=True)], **MGMT),
    ),
    "iam.root_mfa": (lambda: make_snapshot([_summary(1, 0)]), lambda: make_snapshot([_summary(0, 0)])),
    "iam.root_recent_use": (
        lambda: make_snapshot([_report("2026-01-01T00:00:00+00:00")]),
        lambda: make_snapshot([_report("2026-11-28T10:00:00+00:00")]),
    ),
    "iam.support_role": (
        lambda: make_snapshot([role("support", attached=[aws_policy("AWSSupportAccess")])]),
        lambda: make_snapshot([role("other")]),
    ),
    "iam.trust_anyone": (
        lambda: make_snapshot([role("r")]),
        lambda: make_snapshot(
            [
                role(
                    "r",
                    trust=policy_doc(
                        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                    ),
                )
            ]
        ),
    ),
    "iam.trust_oidc_unscoped": (
        lambda: make_snapshot(
            [
                role(
                    "gh",
                    trust=policy_doc(
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
                            },
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {
                                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/app:*"},
                                "StringEquals": {
                                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
                                },
                            },
                        }
                    ),
                )
            ]
        ),
        lambda: make_snapshot(
            [
                role(
                    "gh",
                    trust=policy_doc(
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
                            },
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {
                                "StringEquals": {
                                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
                                }
                            },
                        }
                    ),
                )
            ]
        ),
    ),
    "iam.trust_outside_org": (
        lambda: make_snapshot(
            [
                role(
                    "r",
                    trust=policy_doc(
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{f.MEMBER}:root"},
                            "Action": "sts:AssumeRole",
                        }
                    ),
                )
            ]
        ),
        lambda: make_snapshot(
            [
                role(
                    "r",
                    trust=policy_doc(
                        {"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "sts:AssumeRole"}
                    ),
                )
            ]
        ),
    ),
    "iam.user_direct_policy": (
        lambda: make_snapshot([user("a", groups=["devs"])]),
        lambda: make_snapshot([user("a", attached=[aws_policy("ReadOnlyAccess")])]),
    ),
    "iam.user_no_mfa": (
        lambda: make_snapshot([user("svc", keys=[key()])]),
        lambda: make_snapshot(
            [
                user("svc", keys=[key()], groups=["all"]),
                f.group(
                    "all",
                    inline={
                        "mfa": policy_doc(
                            {
                                "Effect": "Deny",
                                "NotAction": "iam:*MFA*",
                                "Resource": "*",
                                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                            }
                        )
                    },
                ),
            ]
        ),
    ),
    "iam.user_outside_identity": (
        lambda: make_snapshot([], org=make_org(identity=[f.MEMBER])),
        lambda: make_snapshot([user("bob")], org=make_org(identity=[f.MEMBER])),
    ),
    "inventory.unexpected_region": (
        lambda: make_snapshot(
            [
                make_item(
                    "ec2:instance", {"InstanceId": "i-1", "State": {"Name": "running"}}, region="us-east-1"
                )
            ],
            allowed_regions=["us-east-1"],
        ),
        lambda: make_snapshot(
            [
                make_item(
                    "ec2:instance", {"InstanceId": "i-1", "State": {"Name": "running"}}, region="eu-west-1"
                )
            ],
            allowed_regions=["us-east-1"],
        ),
    ),
    "kms.public_policy": _public_policy_case("kms:key", "Policy"),
    "kms.rotation": (
        lambda: make_snapshot(
            [
                make_item(
                    "kms:key",
                    {
                        "KeyManager": "CUSTOMER",
                        "KeyState": "Enabled",
                        "KeySpec": "SYMMETRIC_DEFAULT",
                        "RotationEnabled": True,
                    },
                )
            ]
        ),
        lambda: make_snapshot(
            [
                make_item(
                    "kms:key",
                    {
                        "KeyManager": "CUSTOMER",
                        "KeyState": "Enabled",
                        "KeySpec": "SYMMETRIC_DEFAULT",
                        "RotationEnabled": False,
                    },
                )
            ]
        ),
    ),
    "lambda.public_policy": _public_policy_case("lambda:function", "Policy"),
    "lambda.public_url": (
        lambda: make_snapshot(
            [make_item("lambda:function", {"FunctionName": "fn", "FunctionUrl": {"AuthType": "AWS_IAM"}})]
        ),
        lambda: make_snapshot(
            [make_item("lambda:function", {"FunctionName": "fn", "FunctionUrl": {"AuthType": "NONE"}})]
        ),
    ),
    "org.member": (lambda: make_snapshot([]), lambda: make_snapshot([], status="not-in-organisation")),
    "org.account_outside_ou": (
        lambda: make_snapshot([], org=make_org(parent_path=("Root", "Workloads", "Prod"))),
        lambda: make_snapshot([], org=make_org(parent_path=("Root",))),
    ),
    "org.root_has_resources": (
        lambda: make_snapshot(
            [trail("org", org_trail=True, account=MANAGEMENT), bucket("trail-logs")], **MGMT
        ),
        lambda: make_snapshot(
            [make_item("rds:db-instance", {"DBInstanceIdentifier": "db"}, account=MANAGEMENT)], **MGMT
        ),
    ),
    "org.scp_guardrails": (
        lambda: make_snapshot(
            [],
            org=make_org(
                scps=[
                    (
                        "p-1",
                        "deny-leave",
                        policy_doc(
                            {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
                        ),
                    )
                ]
            ),
        ),
        lambda: make_snapshot(
            [],
            org=make_org(
                scps=[
                    (
                        "p-FullAWSAccess",
                        "FullAWSAccess",
                        policy_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                    )
                ]
            ),
        ),
    ),
    "rds.encryption": (
        lambda: make_snapshot([make_item("rds:db-instance", {"StorageEncrypted": True})]),
        lambda: make_snapshot([make_item("rds:db-cluster", {"StorageEncrypted": False})]),
    ),
    "rds.public_instance": (
        lambda: make_snapshot([make_item("rds:db-instance", {"PubliclyAccessible": False})]),
        lambda: make_snapshot([make_item("rds:db-instance", {"PubliclyAccessible": True})]),
    ),
    "rds.public_snapshot": (
        lambda: make_snapshot(
            [
                make_item(
                    "rds:db-snapshot",
                    {"Attributes": [{"AttributeName": "restore", "AttributeValues": [f.MEMBER]}]},
                )
            ]
        ),
        lambda: make_snapshot(
            [
                make_item(
                    "rds:db-cluster-snapshot",
                    {"Attributes": [{"AttributeName": "restore", "AttributeValues": ["all"]}]},
                )
            ]
        ),
    ),
    "s3.account_public_access_block": (
        lambda: make_snapshot(
            [
                make_item(
                    "s3:account-public-access-block",
                    {
                        "Present": True,
                        "BlockPublicAcls": True,
                        "IgnorePublicAcls": True,
                        "BlockPublicPolicy": True,
                        "RestrictPublicBuckets": True,
                    },
                )
            ]
        ),
        lambda: make_snapshot([make_item("s3:account-public-access-block", {"Present": False})]),
    ),
    "s3.cross_account": (
        lambda: make_snapshot(
            [
                bucket(
                    "b",
                    Policy=policy_doc(
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f.MEMBER},
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::b/*",
                        }
                    ),
                )
            ]
        ),
        lambda: make_snapshot(
            [
                bucket(
                    "b",
                    Policy=policy_doc(
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": [f.MEMBER, f"arn:aws:iam::{OUTSIDER}:role/x"]},
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::b/*",
                        }
                    ),
                )
            ]
        ),
    ),
    "s3.encryption": (
        lambda: make_snapshot([bucket("b")]),
        lambda: make_snapshot([bucket("b", Encryption=None)]),
    ),
    "s3.log_bucket_versioning": (
        lambda: make_snapshot([trail("t"), bucket("trail-logs", Versioning={"Status": "Enabled"})]),
        lambda: make_snapshot([trail("t"), bucket("trail-logs", Versioning={"Status": "Suspended"})]),
    ),
    "s3.public_acl": (
        lambda: make_snapshot([bucket("b")]),
        lambda: make_snapshot(
            [
                bucket(
                    "b",
                    Acl={
                        "Grants": [
                            {
                                "Grantee": {
                                    "Type": "Group",
                                    "URI": "http://acs.amazonaws.com/groups/global/AllUsers",
                                },
                                "Permission": "READ",
                            }
                        ]
                    },
                )
            ]
        ),
    ),
    "s3.public_policy": (
        lambda: make_snapshot([bucket("b", Policy=PRIVATE_DOC)]),
        lambda: make_snapshot([bucket("b", Policy=PUBLIC_DOC)]),
    ),
    "s3.tls_only": (
        lambda: make_snapshot(
            [
                bucket(
                    "b",
                    Policy=policy_doc(
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ),
                )
            ]
        ),
        lambda: make_snapshot([bucket("b")]),
    ),
    "secretsmanager.public_policy": _public_policy_case("secretsmanager:secret", "ResourcePolicy"),
    "securityhub.enabled": (
        lambda: make_snapshot(
            _per_region("securityhub:hub", {"HubArn": "arn:aws:securityhub:::hub/default"})
        ),
        lambda: make_snapshot(
            _per_region("securityhub:hub", {"HubArn": "arn:aws:securityhub:::hub/default"}, REGIONS[1:])
        ),
    ),
    "sns.public_policy": _public_policy_case("sns:topic", "Policy"),
    "sqs.public_policy": _public_policy_case("sqs:queue", "Policy"),
    "vpc.flow_logs": (
        lambda: make_snapshot(
            [
                make_item("ec2:vpc", {"VpcId": "vpc-1"}),
                make_item(
                    "ec2:flow-log", {"FlowLogId": "fl-1", "ResourceId": "vpc-1", "FlowLogStatus": "ACTIVE"}
                ),
            ]
        ),
        lambda: make_snapshot(
            [
                make_item("ec2:vpc", {"VpcId": "vpc-1"}),
                make_item(
                    "ec2:flow-log",
                    {"FlowLogId": "fl-1", "ResourceId": "vpc-1", "FlowLogStatus": "ACTIVE"},
                    region="eu-west-1",
                ),
            ]
        ),
    ),
}

CHECKS = all_checks()
IDS = [c.id for c in CHECKS]


def _assert_well_formed(chk: Check, snap: Snapshot, results: list) -> None:
    for r in results:
        json.dumps(r.evidence)  # stored as JSON
        assert "\n" not in r.summary and r.summary, r
        assert r.status in Status
        if chk.scope == "account" or r.status == Status.UNKNOWN and not r.resource_type:
            assert r.subject == snap.account_arn
        else:
            assert r.resource_type and r.subject.startswith("arn:"), r
        if r.status != Status.FAIL:
            assert not r.exposure


def test_every_registered_check_has_a_pass_and_a_fail_case() -> None:
    assert sorted(CASES) == sorted(IDS)


@pytest.mark.parametrize("check_id", IDS)
def test_check_passes_on_good_data(check_id: str) -> None:
    snap = CASES[check_id][0]()
    results = run(check_id, snap)
    chk = next(c for c in CHECKS if c.id == check_id)
    _assert_well_formed(chk, snap, results)
    assert Status.PASS in [r.status for r in results], results
    assert Status.FAIL not in [r.status for r in results], results


@pytest.mark.parametrize("check_id", IDS)
def test_check_fails_on_bad_data_with_evidence(check_id: str) -> None:
    snap = CASES[check_id][1]()
    results = run(check_id, snap)
    chk = next(c for c in CHECKS if c.id == check_id)
    _assert_well_formed(chk, snap, results)
    failed = [r for r in results if r.status == Status.FAIL]
    assert failed, results
    assert all(r.evidence for r in failed), failed


@pytest.mark.parametrize(("check_id", "missing"), [(c.id, t) for c in CHECKS for t in c.requires])
def test_check_is_unknown_when_a_required_type_was_not_collected(check_id: str, missing: str) -> None:
    snap = CASES[check_id][1]()
    snap.coverage = {k: v for k, v in snap.coverage.items()}
    from inventory.records import Coverage

    for k in [k for k in snap.coverage if k[0] == missing]:
        snap.coverage[k] = Coverage.DENIED
    results = run(check_id, snap)
    assert [r.status for r in results] == [Status.UNKNOWN]
    assert missing in results[0].evidence["missing"]


@pytest.mark.parametrize("check_id", IDS)
def test_check_declares_complete_metadata(check_id: str) -> None:
    chk = next(c for c in CHECKS if c.id == check_id)
    assert chk.requires or chk.id in CONTEXT_ONLY_CHECKS
    assert chk.scope in ("account", "resource")
    assert isinstance(chk.severity, Severity)
    assert chk.title and chk.description and chk.risk and chk.service
    assert chk.remediation.startswith("1. ")
    assert "aws " in chk.remediation or "Console" in chk.remediation
    assert any(r.startswith("https://") for r in chk.references)
    assert all(re.fullmatch(r"CIS \d+(\.\d+)+", r) for r in chk.cis)
    if chk.baseline:
        assert chk.scope == "account"


# The checks a security team expects, with their severity and CIS ids (id -> severity, CIS ids).
REFERENCE: dict[str, tuple[str, tuple[str, ...]]] = {
    "iam.root_mfa": ("critical", ("1.4",)),
    "iam.root_hardware_mfa": ("high", ("1.5",)),
    "iam.root_access_keys": ("critical", ("1.3",)),
    "iam.root_recent_use": ("high", ("1.6",)),
    "iam.password_policy": ("medium", ("1.7", "1.8")),
    "iam.console_user_no_mfa": ("high", ("1.9",)),
    "iam.user_no_mfa": ("medium", ()),
    "iam.key_never_used": ("medium", ("1.10",)),
    "iam.credentials_unused": ("medium", ("1.11",)),
    "iam.multiple_active_keys": ("medium", ("1.12",)),
    "iam.key_rotation": ("medium", ("1.13",)),
    "iam.user_direct_policy": ("low", ("1.14",)),
    "iam.admin_policy": ("critical", ("1.15",)),
    "iam.support_role": ("low", ("1.16",)),
    "iam.access_analyzer": ("low", ("1.19",)),
    "iam.notaction_allow": ("medium", ()),
    "iam.assume_any_role": ("high", ()),
    "iam.trust_anyone": ("critical", ()),
    "iam.trust_outside_org": ("high", ()),
    "iam.user_outside_identity": ("medium", ()),
    "iam.blanket_managed_policy": ("medium", ()),
    "iam.privilege_escalation": ("high", ()),
    "s3.account_public_access_block": ("high", ("2.1.4",)),
    "s3.public_acl": ("critical", ()),
    "s3.public_policy": ("critical", ()),
    "s3.cross_account": ("high", ()),
    "s3.encryption": ("medium", ()),
    "s3.tls_only": ("medium", ("2.1.1",)),
    "ec2.sg_admin_ports_open": ("high", ("5.3", "5.4")),
    "ec2.sg_all_open": ("critical", ("5.3",)),
    "ec2.sg_db_ports_open": ("high", ()),
    "ec2.nacl_admin_ports_open": ("medium", ("5.2",)),
    "ec2.default_sg_rules": ("high", ("5.5",)),
    "ec2.imdsv2": ("high", ("5.7",)),
    "ec2.ebs_default_encryption": ("high", ("5.1.1",)),
    "ec2.public_snapshot": ("critical", ()),
    "ec2.public_ami": ("critical", ()),
    "vpc.flow_logs": ("medium", ("3.7",)),
    "rds.public_instance": ("critical", ("2.2.3",)),
    "rds.encryption": ("medium", ("2.2.1",)),
    "rds.public_snapshot": ("critical", ()),
    "cloudtrail.multi_region": ("high", ("3.1",)),
    "cloudtrail.log_validation": ("medium", ("3.2",)),
    "cloudtrail.kms": ("medium", ("3.5",)),
    "cloudtrail.bucket_public": ("critical", ()),
    "config.recorder": ("medium", ("3.3",)),
    "guardduty.enabled": ("high", ()),
    "securityhub.enabled": ("high", ("4.16",)),
    "kms.rotation": ("high", ("3.6",)),
    "cloudwatch.cis_alarms": (
        "medium",
        (
            "4.1",
            "4.2",
            "4.3",
            "4.4",
            "4.5",
            "4.6",
            "4.7",
            "4.8",
            "4.9",
            "4.10",
            "4.11",
            "4.12",
            "4.13",
            "4.14",
            "4.15",
        ),
    ),
    "org.member": ("medium", ()),
    "org.account_outside_ou": ("medium", ()),
    "org.root_has_resources": ("high", ()),
    "org.scp_guardrails": ("medium", ()),
    "inventory.unexpected_region": ("medium", ()),
}


def test_every_reference_check_exists_with_its_severity_and_cis_ids() -> None:
    registered = {c.id: c for c in CHECKS}
    for check_id, (severity, cis) in REFERENCE.items():
        assert check_id in registered, check_id
        chk = registered[check_id]
        assert chk.severity == Severity(severity), check_id
        for ref in cis:
            assert f"CIS {ref}" in chk.references, (check_id, ref)


def test_the_catalogue_document_is_current() -> None:
    """docs/checks.md is generated from the registry; a check changed without it fails here."""
    path = Path(__file__).resolve().parents[3] / "docs" / "checks.md"
    assert path.read_text(encoding="utf-8") == render(), "run `manage.py checks_catalogue`"


def test_the_catalogue_document_lists_every_reference_check_with_its_severity() -> None:
    table = {}
    for line in render().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].startswith("[`"):
            table[cells[0].split("`")[1]] = (cells[4], cells[6])
    for check_id, (severity, cis) in REFERENCE.items():
        assert table[check_id][0] == severity, check_id
        for ref in cis:
            assert f"CIS {ref}" in table[check_id][1].split(", "), (check_id, ref)


def test_the_catalogue_command_reports_an_out_of_date_document(tmp_path: Path) -> None:
    from django.core.management import CommandError, call_command

    target = tmp_path / "checks.md"
    with pytest.raises(CommandError, match="out of date"):
        call_command("checks_catalogue", "--check", "--output", str(target))
    call_command("checks_catalogue", "--output", str(target), stdout=io.StringIO())
    assert target.read_text(encoding="utf-8") == render()
    call_command("checks_catalogue", "--check", "--output", str(target), stdout=io.StringIO())
    target.write_text(render().replace("critical", "low", 1), encoding="utf-8")
    with pytest.raises(CommandError, match="out of date"):
        call_command("checks_catalogue", "--check", "--output", str(target))


def test_baseline_items_are_exactly_the_baseline_checks() -> None:
    baseline_ids = {c.id for c in CHECKS if c.baseline}
    assert {cid for _, cid in BASELINE_ITEMS} == baseline_ids
    assert len(BASELINE_ITEMS) == 13
    for ids in BASELINE_OFF_BY_DEFAULT.values():
        assert ids <= baseline_ids


def test_sandbox_gets_a_lighter_baseline() -> None:
    from iam_audit.checks import baseline_checks

    full = [c.id for c in baseline_checks("prod")]
    light = [c.id for c in baseline_checks("sandbox")]
    assert len(light) < len(full) == 13
    assert "config.recorder" not in light and "baseline.root_locked" in light
