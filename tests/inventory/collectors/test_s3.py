"""S3 collector against the moto server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from inventory.collectors.s3 import S3Collector
from inventory.records import GLOBAL_REGION, Coverage
from tests.inventory.collectors.conftest import (
    DEFAULT_ACCOUNT,
    OTHER_ACCOUNT,
    AccountClients,
    by_type,
    inject_error,
    make_ctx,
    run,
)

pytestmark = pytest.mark.moto

Clients = Callable[..., AccountClients]
PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::public-site/*",
        }
    ],
}
HOSTILE = '"><svg onload=alert(1)> ß ✓'


def build_estate(endpoint: str) -> None:
    ours = AccountClients(endpoint)
    s3 = ours("s3", "us-east-1")
    s3.create_bucket(Bucket="public-site")
    s3.put_bucket_policy(Bucket="public-site", Policy=json.dumps(PUBLIC_READ))
    s3.put_bucket_acl(Bucket="public-site", ACL="public-read")
    s3.put_bucket_tagging(Bucket="public-site", Tagging={"TagSet": [{"Key": "Name", "Value": HOSTILE}]})
    s3.put_bucket_versioning(Bucket="public-site", VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket="logs-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu = ours("s3", "eu-west-1")
    eu.put_bucket_encryption(
        Bucket="logs-eu",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    eu.put_public_access_block(
        Bucket="logs-eu",
        PublicAccessBlockConfiguration={
            k: True
            for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        },
    )
    eu.put_bucket_ownership_controls(
        Bucket="logs-eu", OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    s3.create_bucket(Bucket="access-logs", ACL="log-delivery-write")
    s3.put_bucket_logging(
        Bucket="public-site",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "site/"}},
    )
    # bucket names are global: another account's bucket must never show up as ours
    AccountClients(endpoint, OTHER_ACCOUNT)("s3", "us-east-1").create_bucket(Bucket="someone-elses")


@pytest.fixture(scope="module")
def collected(endpoint: str) -> tuple[dict[str, list[Any]], Any]:
    build_estate(endpoint)
    ctx = make_ctx(AccountClients(endpoint), DEFAULT_ACCOUNT)
    return by_type(run(S3Collector(), ctx)), ctx


def test_s3_collector_yields_both_types_with_every_extra_key(collected: Any) -> None:
    records, ctx = collected
    assert set(records) == set(S3Collector.types)
    assert all(c is Coverage.OK for c in ctx.coverage.values()) and not ctx.errors
    extras = {
        "Region",
        "Acl",
        "Policy",
        "PolicyStatus",
        "PublicAccessBlock",
        "Encryption",
        "Versioning",
        "Logging",
        "OwnershipControls",
    }
    for bucket in records["s3:bucket"]:
        assert extras <= set(bucket.data)
        json.dumps(bucket.data)


def test_only_this_accounts_buckets_are_recorded_each_in_its_region(collected: Any) -> None:
    records, _ = collected
    buckets = {r.resource_id: r for r in records["s3:bucket"]}
    assert set(buckets) == {"public-site", "logs-eu", "access-logs"}
    assert (buckets["public-site"].region, buckets["logs-eu"].region) == ("us-east-1", "eu-west-1")
    assert buckets["logs-eu"].data["Region"] == "eu-west-1"
    assert buckets["public-site"].arn == "arn:aws:s3:::public-site"


def test_bucket_access_settings_are_recorded_and_absent_ones_are_none(collected: Any) -> None:
    records, _ = collected
    buckets = {r.resource_id: r for r in records["s3:bucket"]}
    site, logs = buckets["public-site"].data, buckets["logs-eu"].data
    assert site["Policy"] == PUBLIC_READ
    assert site["PolicyStatus"] == {"IsPublic": True}
    assert any(g["Grantee"].get("URI", "").endswith("/global/AllUsers") for g in site["Acl"]["Grants"])
    assert site["Versioning"]["Status"] == "Enabled"
    assert site["Logging"]["TargetBucket"] == "access-logs"
    assert (site["Encryption"], site["PublicAccessBlock"], site["OwnershipControls"]) == (None, None, None)
    assert logs["Policy"] is None and logs["PolicyStatus"] is None
    assert logs["Encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert logs["PublicAccessBlock"]["BlockPublicPolicy"] is True
    assert logs["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert logs["Versioning"] == {} and logs["Logging"] is None
    assert "Unavailable" not in site and "Unavailable" not in logs


def test_bucket_tags_survive_verbatim(collected: Any) -> None:
    records, _ = collected
    site = next(r for r in records["s3:bucket"] if r.resource_id == "public-site")
    assert site.tags == {"Name": HOSTILE} and site.name == HOSTILE


def test_account_block_public_access_absent_then_present(collected: Any, clients_for: Clients) -> None:
    records, _ = collected
    block = records["s3:account-public-access-block"][0]
    assert block.arn == f"arn:aws:s3::{DEFAULT_ACCOUNT}:account-public-access-block"
    assert block.region == GLOBAL_REGION
    assert block.data == {"Present": False}

    clients = clients_for()
    from inventory.aws.session import fix_s3control_for_local_endpoint

    control = fix_s3control_for_local_endpoint(clients("s3control"))
    settings = {
        k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    }
    control.put_public_access_block(AccountId=DEFAULT_ACCOUNT, PublicAccessBlockConfiguration=settings)
    again = next(
        r
        for r in run(S3Collector(), make_ctx(clients, DEFAULT_ACCOUNT))
        if r.type == "s3:account-public-access-block"
    )
    assert again.data == {**settings, "Present": True}


def test_a_denied_bucket_policy_keeps_the_bucket_and_marks_the_policy_unknown(
    collected: Any, clients_for: Clients
) -> None:
    clients = clients_for()
    inject_error(clients("s3", "us-east-1"), "GetBucketPolicy", "AccessDenied")
    ctx = make_ctx(clients, DEFAULT_ACCOUNT)

    buckets = {r.resource_id: r for r in run(S3Collector(), ctx) if r.type == "s3:bucket"}

    site = buckets["public-site"].data
    assert site["Policy"] is None and site["Unavailable"] == {"Policy": "access-denied"}
    assert site["Acl"] is not None  # the other extras were still read
    assert "Unavailable" not in buckets["logs-eu"].data  # its region's client was not denied
    assert ctx.coverage.get("s3:bucket", Coverage.OK) is Coverage.OK
    # one error per us-east-1 bucket, each naming its bucket
    assert sorted((e.code, e.operation, e.message.split(":")[0]) for e in ctx.errors) == [
        ("access-denied", "GetBucketPolicy", "access-logs"),
        ("access-denied", "GetBucketPolicy", "public-site"),
    ]
