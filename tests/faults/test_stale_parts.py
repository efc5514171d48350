"""No stored attribute replaced by a failed read, and no revision from one (issue 23, section 2).

A bucket (and a trail, a table, a repository, a function) is collected once cleanly, then again
while the fault proxy denies or breaks each per-resource call: every part keeps its last known
value, is marked unread with the error, and nothing makes a revision. A clean third collection
reads everything again, drops the marks, and still makes no revision.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from inventory.models import Resource, ResourceRevision, RunState
from tests.faults.conftest import ACCOUNT, Estate

pytestmark = [pytest.mark.django_db, pytest.mark.moto]

BUCKET = "fault-bucket"
TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}
# every per-bucket S3 call, by the query parameter that names it (path-style addressing)
BUCKET_CALLS = ("location", "tagging", "acl", "policy", "encryption", "publicAccessBlock", "versioning")


def _seed_bucket(estate: Estate) -> None:
    s3: Any = estate.client("s3", "eu-west-1")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "owner", "Value": "<b>data</b>"}]})
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(TLS_ONLY))
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        ),
    )
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})


def _bucket() -> Resource:
    return Resource.objects.get(type="s3:bucket", resource_id=BUCKET)


def _fail_every_bucket_call(estate: Estate, **answer: Any) -> None:
    for name in BUCKET_CALLS:
        estate.proxy.add_rule(service="s3", method="GET", path=rf"[?&]{name}(=|&|$)", **answer)


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 403, "code": "AccessDenied"},
        {"status": 500, "code": "InternalError"},
        {"status": 503, "html": True},
    ],
    ids=["access-denied", "server-error", "html-503"],
)
def test_failed_bucket_reads_keep_every_part_and_make_no_revision(estate: Estate, answer: dict) -> None:
    _seed_bucket(estate)
    first = estate.collect({"s3"})
    assert first.state == RunState.DONE, first.errors
    before = _bucket()
    assert before.region == "eu-west-1" and before.tags == {"owner": "<b>data</b>"}
    assert before.data["Encryption"] and before.data["Versioning"] == {"Status": "Enabled"}
    assert before.data["PublicAccessBlock"]["BlockPublicPolicy"] is True and before.data["Acl"]

    _fail_every_bucket_call(estate, **answer)
    second = estate.collect({"s3"})
    assert second.errors, second.state  # the failed reads are reported
    assert estate.proxy.seen(service="s3") and any(r.injected for r in estate.proxy.seen(service="s3"))
    after = _bucket()
    assert after.deleted_at is None
    assert after.region == "eu-west-1"  # not "global", not "unknown": the known region stays
    assert after.tags == before.tags and after.name == before.name
    for part in ("Region", "Acl", "Policy", "Encryption", "PublicAccessBlock", "Versioning", "Tags"):
        assert after.data[part] == before.data[part], part
        assert part in after.data["Unavailable"], part
        assert part in after.data["StaleSince"], part
    assert not ResourceRevision.objects.filter(resource=after).exists()

    estate.proxy.clear_rules()
    third = estate.collect({"s3"})
    assert third.state == RunState.DONE
    clean = _bucket()
    assert "Unavailable" not in clean.data and "StaleSince" not in clean.data
    assert {k: v for k, v in clean.data.items()} == {k: v for k, v in before.data.items()}
    assert not ResourceRevision.objects.filter(resource=clean).exists()


def test_a_stale_part_keeps_the_time_it_was_first_missed(estate: Estate) -> None:
    _seed_bucket(estate)
    estate.collect({"s3"})
    estate.deny(service="s3", method="GET", path=r"[?&]tagging(=|&|$)")
    estate.collect({"s3"})
    since = _bucket().data["StaleSince"]["Tags"]
    estate.collect({"s3"})
    again = _bucket()
    assert again.data["StaleSince"] == {"Tags": since}
    assert again.data["Unavailable"] == {"Tags": "access-denied"}
    assert again.tags == {"owner": "<b>data</b>"}


def test_a_real_change_is_still_a_revision_while_another_part_is_stale(estate: Estate) -> None:
    _seed_bucket(estate)
    estate.collect({"s3"})
    estate.client("s3", "eu-west-1").delete_bucket_policy(Bucket=BUCKET)  # type: ignore[attr-defined]
    estate.deny(service="s3", method="GET", path=r"[?&]tagging(=|&|$)")
    estate.collect({"s3"})
    bucket = _bucket()
    assert bucket.data["Policy"] is None and bucket.tags == {"owner": "<b>data</b>"}
    (revision,) = ResourceRevision.objects.filter(resource=bucket)
    paths = {change["path"] for change in revision.changes}
    assert any(p.startswith("data.Policy") for p in paths)
    assert not any("Tags" in p or "Unavailable" in p or "StaleSince" in p for p in paths), paths


def test_a_new_bucket_whose_location_fails_is_recorded_in_an_unknown_region(estate: Estate) -> None:
    _seed_bucket(estate)
    estate.deny(service="s3", method="GET", path=r"[?&]location(=|&|$)")
    estate.collect({"s3"})
    bucket = _bucket()
    assert bucket.region == "unknown" and bucket.data["Unavailable"]["Region"] == "access-denied"
    estate.proxy.clear_rules()
    estate.collect({"s3"})
    assert _bucket().region == "eu-west-1"


# ------------------------------------------------------------------ Lambda, CloudTrail, DynamoDB, ECR


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def _seed_regional(estate: Estate) -> None:
    region = "us-east-1"
    iam: Any = estate.client("iam")
    role = iam.create_role(
        RoleName="fn-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    fn: Any = estate.client("lambda", region)
    fn.create_function(
        FunctionName="fault-fn",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
        Tags={"team": "payments"},
    )
    fn.add_permission(
        FunctionName="fault-fn",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceAccount=ACCOUNT,
    )
    s3: Any = estate.client("s3")
    s3.create_bucket(Bucket="trail-logs")
    trail: Any = estate.client("cloudtrail", region)
    trail.create_trail(
        Name="main", S3BucketName="trail-logs", IsMultiRegionTrail=True, TagsList=[{"Key": "t", "Value": "1"}]
    )
    trail.start_logging(Name="main")
    ddb: Any = estate.client("dynamodb", region)
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "data", "Value": "pii"}],
    )
    ddb.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    ecr: Any = estate.client("ecr", region)
    ecr.create_repository(repositoryName="app", tags=[{"Key": "team", "Value": "web"}])
    ecr.set_repository_policy(
        repositoryName="app",
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "pull",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "ecr:BatchGetImage",
                    }
                ],
            }
        ),
    )


# (resource type, the parts whose calls fail); the rules deny each per-resource call
PARTS = {
    "lambda:function": ("Policy", "FunctionUrl", "Tags"),
    "cloudtrail:trail": ("Status", "EventSelectors", "Tags"),
    "dynamodb:table": ("ContinuousBackups", "Tags"),
    "ecr:repository": ("Policy", "Tags"),
}


def _deny_per_resource_calls(estate: Estate) -> None:
    # REST-JSON (Lambda): by path; JSON protocols (the others): by operation
    estate.deny(service="lambda", method="GET", path=r"/functions/fault-fn/policy")
    estate.deny(service="lambda", method="GET", path=r"/functions/fault-fn/url")
    estate.deny(service="lambda", method="GET", path=r"/tags/")
    for operation in ("GetTrailStatus", "GetEventSelectors", "ListTags"):
        estate.deny(service="cloudtrail", operation=operation)
    for operation in ("DescribeContinuousBackups", "ListTagsOfResource"):
        estate.deny(service="dynamodb", operation=operation)
    for operation in ("GetRepositoryPolicy", "ListTagsForResource"):
        estate.deny(service="ecr", operation=operation)


def test_failed_per_resource_reads_of_regional_services_keep_what_was_known(estate: Estate) -> None:
    _seed_regional(estate)
    services = {"lambda", "cloudtrail", "dynamodb", "ecr"}
    first = estate.collect(services)
    assert first.state == RunState.DONE, first.errors
    before = {r.type: r for r in Resource.objects.filter(type__in=PARTS)}
    assert set(before) == set(PARTS)
    assert before["lambda:function"].data["Policy"] and before["ecr:repository"].data["Policy"]
    assert before["cloudtrail:trail"].data["Status"]["IsLogging"] is True
    assert before["dynamodb:table"].data["ContinuousBackups"]
    assert all(r.tags for r in before.values())

    _deny_per_resource_calls(estate)
    second = estate.collect(services)
    assert second.errors, second.state  # the failed reads are reported
    for type_, parts in PARTS.items():
        after = Resource.objects.get(type=type_)
        unread = after.data.get("Unavailable") or {}
        assert after.tags == before[type_].tags, type_
        for part in parts:
            if part == "FunctionUrl" and part not in unread:
                continue  # moto answers "no URL" before the proxy's rule could matter
            assert part in unread, (type_, part, unread)
            assert after.data[part] == before[type_].data[part], (type_, part)
    assert not ResourceRevision.objects.exists()
