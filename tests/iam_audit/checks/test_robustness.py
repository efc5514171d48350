"""No check crashes on odd data: missing keys, wrong types, hostile names, broken facts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iam_audit.checks.base import Status, all_checks
from inventory.resource_types import RESOURCE_TYPES
from tests.iam_audit.checks.factories import make_item, make_org, make_snapshot, run

CHECKS = all_checks()
IDS = [c.id for c in CHECKS]
HOSTILE = '<script>alert("x")</script>\n\u202e\u0000 ünï ' + "A" * 5000

# Keys the checks read, so random data reaches the interesting code paths.
KEYS = [
    "Policy",
    "ResourcePolicy",
    "Statement",
    "Effect",
    "Action",
    "NotAction",
    "Principal",
    "NotPrincipal",
    "Resource",
    "Condition",
    "IpPermissions",
    "IpPermissionsEgress",
    "IpProtocol",
    "FromPort",
    "ToPort",
    "IpRanges",
    "Ipv6Ranges",
    "CidrIp",
    "CidrIpv6",
    "PrefixListIds",
    "GroupName",
    "Entries",
    "RuleNumber",
    "RuleAction",
    "Protocol",
    "PortRange",
    "Egress",
    "CidrBlock",
    "Associations",
    "AccessKeys",
    "Status",
    "CreateDate",
    "LastUsedDate",
    "LoginProfile",
    "PasswordLastUsed",
    "MFADevices",
    "AttachedManagedPolicies",
    "PolicyArn",
    "PolicyName",
    "GroupList",
    "UserPolicyList",
    "RolePolicyList",
    "GroupPolicyList",
    "PolicyDocument",
    "Document",
    "AssumeRolePolicyDocument",
    "PermissionsBoundary",
    "Path",
    "Acl",
    "Grants",
    "Grantee",
    "URI",
    "PublicAccessBlock",
    "PolicyStatus",
    "IsPublic",
    "Encryption",
    "Rules",
    "Versioning",
    "Logging",
    "TargetBucket",
    "OwnershipControls",
    "Name",
    "S3BucketName",
    "IsMultiRegionTrail",
    "IsOrganizationTrail",
    "EventSelectors",
    "AdvancedEventSelectors",
    "IsLogging",
    "KmsKeyId",
    "LogFileValidationEnabled",
    "CloudWatchLogsLogGroupArn",
    "State",
    "MetadataOptions",
    "HttpTokens",
    "HttpEndpoint",
    "InstanceMetadataDefaults",
    "EbsEncryptionByDefault",
    "Encrypted",
    "CreateVolumePermissions",
    "LaunchPermissions",
    "Group",
    "Attributes",
    "AttributeName",
    "AttributeValues",
    "PubliclyAccessible",
    "StorageEncrypted",
    "Rows",
    "user",
    "mfa_active",
    "password_enabled",
    "password_last_used",
    "AccountMFAEnabled",
    "AccountAccessKeysPresent",
    "VirtualMFADevices",
    "SerialNumber",
    "Present",
    "MinimumPasswordLength",
    "PasswordReusePrevention",
    "FunctionUrl",
    "AuthType",
    "resourcesVpcConfig",
    "endpointPublicAccess",
    "publicAccessCidrs",
    "recordingGroup",
    "allSupported",
    "recording",
    "DetectorId",
    "status",
    "type",
    "KeyManager",
    "KeyState",
    "KeySpec",
    "RotationEnabled",
    "Aliases",
    "filterPattern",
    "logGroupName",
    "metricTransformations",
    "metricName",
    "AlarmActions",
    "MetricName",
    "Namespace",
    "VpcId",
    "IsDefault",
    "ResourceId",
    "FlowLogStatus",
    "RoleName",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "*",
            "0.0.0.0/0",
            "::/0",
            "-1",
            "tcp",
            "Allow",
            "Deny",
            "ACTIVE",
            "Enabled",
            "all",
            "true",
            "2026-01-01T00:00:00Z",
            HOSTILE,
        ]
    )
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=12,
)
data_dicts = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    check_id=st.sampled_from(IDS),
    datas=st.lists(data_dicts, min_size=1, max_size=3),
    region=st.sampled_from(["us-east-1", "eu-west-1", "global"]),
)
def test_random_data_never_crashes_a_check(check_id: str, datas: list[dict[str, Any]], region: str) -> None:
    chk = next(c for c in CHECKS if c.id == check_id)
    types = list(chk.requires) or ["iam:role"]
    items = [
        make_item(types[i % len(types)], d, resource_id=f"r{i}", region=region) for i, d in enumerate(datas)
    ]
    for r in run(check_id, make_snapshot(items, allowed_regions=["us-east-1"])):
        json.dumps(r.evidence)
        assert r.status in Status and "\n" not in r.summary


@pytest.mark.parametrize("check_id", IDS)
def test_hostile_names_and_wrong_types_in_every_field(check_id: str) -> None:
    wrong: dict[str, Any] = {k: HOSTILE for k in KEYS}
    wrong.update(
        {
            "Statement": {"Effect": "Allow", "Principal": "*", "Action": HOSTILE, "Resource": "*"},
            "AccessKeys": {"x": 1},
            "IpPermissions": [
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": HOSTILE}]}
            ],
        }
    )
    items = [make_item(t, wrong, resource_id=f"id-{i}", name=HOSTILE) for i, t in enumerate(RESOURCE_TYPES)]
    items += [make_item(t, {}, resource_id=f"empty-{i}") for i, t in enumerate(RESOURCE_TYPES)]
    snap = make_snapshot(
        items,
        facts={"now": "garbage", "unused_days": "-3", "root_recent_days": None},
        allowed_regions=["eu-west-1"],
        org=make_org(scps=[("p", HOSTILE, {"Statement": HOSTILE})]),
    )
    results = run(check_id, snap)
    for r in results:
        json.dumps(r.evidence)
        assert "\n" not in r.summary and len(r.summary) <= 300


def test_evidence_of_a_huge_policy_is_bounded() -> None:
    doc = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": [f"arn:aws:s3:::b/{i}" for i in range(10_000)],
            }
        ]
    }
    [r] = run("sqs.public_policy", make_snapshot([make_item("sqs:queue", {"Policy": doc})]))
    assert r.status == Status.FAIL
    assert len(json.dumps(r.evidence)) < 20_000
