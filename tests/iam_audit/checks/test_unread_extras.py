"""An extra the collector could not read (listed under data["Unavailable"]) is never taken for
"there is none": the subject is UNKNOWN, not a pass or a fail."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from iam_audit.checks.base import Status
from iam_audit.checks.common import UNAVAILABLE
from tests.iam_audit.checks import factories as f
from tests.iam_audit.checks.factories import (
    bucket,
    customer_policy,
    make_item,
    make_snapshot,
    managed_policy,
    role,
    run,
    trail,
    user,
)

DENIED = "access-denied"


def unread(item: f.Item, *keys: str) -> f.Item:
    data = dict(item.data)
    for k in keys:
        data[k] = None
    data[UNAVAILABLE] = dict.fromkeys(keys, DENIED)
    return f.Item(item.type, item.arn, item.resource_id, item.name, item.region, item.tags, data)


CASES: list[tuple[str, Callable[[], list[f.Item]]]] = [
    ("s3.public_policy", lambda: [unread(bucket("b"), "Policy")]),
    ("s3.public_acl", lambda: [unread(bucket("b"), "Acl")]),
    ("s3.cross_account", lambda: [unread(bucket("b"), "Policy")]),
    ("s3.encryption", lambda: [unread(bucket("b"), "Encryption")]),
    ("s3.tls_only", lambda: [unread(bucket("b"), "Policy")]),
    ("s3.log_bucket_versioning", lambda: [trail("t"), unread(bucket("trail-logs"), "Versioning")]),
    ("cloudtrail.bucket_public", lambda: [trail("t"), unread(bucket("trail-logs"), "PolicyStatus")]),
    ("iam.console_user_no_mfa", lambda: [unread(user("a", console=True), "MFADevices")]),
    ("iam.key_rotation", lambda: [unread(user("a"), "AccessKeys")]),
    ("iam.multiple_active_keys", lambda: [unread(user("a"), "AccessKeys")]),
    ("iam.key_never_used", lambda: [unread(user("a"), "AccessKeys")]),
    ("iam.credentials_unused", lambda: [unread(user("a", console=True), "PasswordLastUsed")]),
    ("iam.user_no_mfa", lambda: [unread(user("a"), "LoginProfile")]),
    (
        "iam.notaction_allow",
        lambda: [unread(managed_policy(customer_policy("p"), None), "Document", "Policy")],
    ),
    (
        "iam.admin_policy",
        lambda: [
            role("r", attached=[customer_policy("p")]),
            unread(managed_policy(customer_policy("p"), None), "Document"),
        ],
    ),
    (
        "iam.privilege_escalation",
        lambda: [
            role("r", attached=[customer_policy("p")]),
            unread(managed_policy(customer_policy("p"), None), "Document"),
        ],
    ),
    (
        "iam.assume_any_role",
        lambda: [
            role("r", attached=[customer_policy("p")]),
            unread(managed_policy(customer_policy("p"), None), "Document"),
        ],
    ),
    (
        "ec2.public_snapshot",
        lambda: [unread(make_item("ec2:snapshot", {"SnapshotId": "snap-1"}), "CreateVolumePermissions")],
    ),
    ("ec2.public_ami", lambda: [unread(make_item("ec2:image", {"ImageId": "ami-1"}), "LaunchPermissions")]),
    ("rds.public_snapshot", lambda: [unread(make_item("rds:db-snapshot", {}), "Attributes")]),
    ("sqs.public_policy", lambda: [unread(make_item("sqs:queue", {}), "Policy")]),
    (
        "secretsmanager.public_policy",
        lambda: [unread(make_item("secretsmanager:secret", {}), "ResourcePolicy")],
    ),
    (
        "lambda.public_url",
        lambda: [unread(make_item("lambda:function", {"FunctionName": "fn"}), "FunctionUrl")],
    ),
    (
        "kms.rotation",
        lambda: [
            unread(make_item("kms:key", {"KeyManager": "CUSTOMER", "KeyState": "Enabled"}), "RotationEnabled")
        ],
    ),
]


@pytest.mark.parametrize(("check_id", "items"), CASES, ids=[c[0] for c in CASES])
def test_unread_extra_makes_the_subject_unknown(check_id: str, items: Callable[[], list[f.Item]]) -> None:
    results = run(check_id, make_snapshot(items()))
    unknown = [r for r in results if r.status == Status.UNKNOWN]
    assert unknown and not [
        r for r in results if r.status in (Status.PASS, Status.FAIL) and r.subject == unknown[0].subject
    ]
    assert unknown[0].resource_type and (
        unknown[0].evidence.get("unavailable") or unknown[0].evidence.get("policies_not_collected")
    )


def test_trail_status_not_read_makes_multi_region_unknown_not_failed() -> None:
    [r] = run("cloudtrail.multi_region", make_snapshot([unread(trail("t"), "Status")]))
    assert r.status == Status.UNKNOWN and r.evidence["status_not_read"]


def test_region_whose_detector_or_recorder_could_not_be_read_is_unknown() -> None:
    detectors = [
        make_item("guardduty:detector", {"Status": "ENABLED"}, region="us-east-1", resource_id="d1"),
        unread(make_item("guardduty:detector", {}, region="eu-west-1", resource_id="d2"), "Detector"),
    ]
    [r] = run("guardduty.enabled", make_snapshot(detectors))
    assert r.status == Status.UNKNOWN and list(r.evidence["not_read"]) == ["eu-west-1"]
    recorders = [
        unread(
            make_item(
                "config:recorder", {"recordingGroup": {"allSupported": True}}, region=reg, resource_id=reg
            ),
            "Status",
        )
        for reg in f.REGIONS
    ]
    assert run("config.recorder", make_snapshot(recorders))[0].status == Status.UNKNOWN
    # a region known to be off still fails, whatever else could not be read
    assert run("guardduty.enabled", make_snapshot(detectors[1:]))[0].status == Status.FAIL


def test_root_virtual_devices_not_read_on_management_is_unknown() -> None:
    summary = unread(
        make_item("iam:account-summary", {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}),
        "VirtualMFADevices",
    )
    [r] = run("iam.root_hardware_mfa", make_snapshot([summary], environment="org-root"))
    assert r.status == Status.UNKNOWN
