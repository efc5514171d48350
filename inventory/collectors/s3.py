"""S3: buckets with their access settings, and account-level Block Public Access (global). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from inventory.aws.permissions import declare
from inventory.aws.session import fix_s3control_for_local_endpoint
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import (
    Guard,
    error_code,
    parse_policy,
    record,
    with_unavailable,
)
from inventory.records import UNKNOWN_REGION, Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(
    __name__,
    "s3",
    "GetBucketAcl",
    "GetBucketEncryption",
    "GetBucketLocation",
    "GetBucketLogging",
    "GetBucketOwnershipControls",
    "GetBucketPolicy",
    "GetBucketPolicyStatus",
    "GetBucketTagging",
    "GetBucketVersioning",
    "GetPublicAccessBlock",
    "ListBuckets",
) + declare(__name__, "s3control", "GetPublicAccessBlock")

# get_bucket_location answers these legacy spellings for two regions
_LEGACY_LOCATIONS = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}


@register
class S3Collector:
    """Buckets owned by the account (recorded in their own region) and the account's Block Public Access."""

    service: ClassVar[str] = "s3"
    scope: ClassVar[str] = "global"
    types: ClassVar[tuple[str, ...]] = ("s3:bucket", "s3:account-public-access-block")

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield each bucket (with ACL, policy, encryption...) and the account-level setting."""
        g = Guard(ctx, self.service)
        yield from self._buckets(ctx, g)
        yield from self._account_block(ctx, g)

    def _buckets(self, ctx: CollectContext, g: Guard) -> Iterator[Record]:
        s3 = g.client()
        with g.listing("s3:bucket", "ListBuckets"):
            # list_buckets answers only the caller's own buckets (bucket names are global, the
            # listing is not); paginated since 2024, a single page on older endpoints
            for item in g.items(s3, "list_buckets", "Buckets"):
                yield self._bucket(ctx, g, s3, item)

    def _bucket(self, ctx: CollectContext, g: Guard, s3_home: Any, item: dict[str, Any]) -> Record:
        name = item.get("Name", "")
        unavailable: dict[str, str] = {}

        def extra(key: str, operation: str, fetch: Any) -> Any:
            return g.extra("s3:bucket", unavailable, key, fetch, resource=name, operation=operation)

        region = item.get("BucketRegion") or extra(
            "Region",
            "GetBucketLocation",
            lambda: _location(g.call(s3_home, "get_bucket_location", Bucket=name).get("LocationConstraint")),
        )
        # per-bucket calls go to the bucket's own region (no cross-region redirects); a region the
        # client factory cannot serve falls back to the home client, which botocore redirects
        try:
            s3 = g.client("s3", region) if region else s3_home
        except Exception:
            s3 = s3_home
        acl = extra(
            "Acl", "GetBucketAcl", lambda: _pick(g.call(s3, "get_bucket_acl", Bucket=name), "Owner", "Grants")
        )
        policy = extra(
            "Policy",
            "GetBucketPolicy",
            lambda: parse_policy(g.call(s3, "get_bucket_policy", Bucket=name).get("Policy")),
        )
        status = extra("PolicyStatus", "GetBucketPolicyStatus", lambda: _policy_status(g.call, s3, name))
        block = extra(
            "PublicAccessBlock",
            "GetPublicAccessBlock",
            lambda: g.call(s3, "get_public_access_block", Bucket=name).get("PublicAccessBlockConfiguration"),
        )
        encryption = extra(
            "Encryption",
            "GetBucketEncryption",
            lambda: g.call(s3, "get_bucket_encryption", Bucket=name).get("ServerSideEncryptionConfiguration"),
        )
        versioning = extra(
            "Versioning",
            "GetBucketVersioning",
            lambda: _pick(g.call(s3, "get_bucket_versioning", Bucket=name), "Status", "MFADelete"),
        )
        logging = extra(
            "Logging",
            "GetBucketLogging",
            lambda: g.call(s3, "get_bucket_logging", Bucket=name).get("LoggingEnabled"),
        )
        ownership = extra(
            "OwnershipControls",
            "GetBucketOwnershipControls",
            lambda: g.call(s3, "get_bucket_ownership_controls", Bucket=name).get("OwnershipControls"),
        )
        tag_set = extra("Tags", "GetBucketTagging", lambda: _tags(g.call, s3, name))
        data = with_unavailable(
            {
                **item,
                "Region": region,
                "Acl": acl,
                "Policy": policy,
                "PolicyStatus": status,
                "PublicAccessBlock": block,
                "Encryption": encryption,
                "Versioning": {} if versioning is None and "Versioning" not in unavailable else versioning,
                "Logging": logging,
                "OwnershipControls": ownership,
                "Tags": tag_set or [],
            },
            unavailable,
        )
        return record(
            ctx,
            "s3:bucket",
            f"arn:{ctx.partition}:s3:::{name}",
            name,
            data,
            name=name,
            tags=tag_set,
            # not "global": a bucket lives in one region; storage keeps the region it knew (see ingest)
            region=region or UNKNOWN_REGION,
        )

    def _account_block(self, ctx: CollectContext, g: Guard) -> Iterator[Record]:
        type_ = "s3:account-public-access-block"
        control = fix_s3control_for_local_endpoint(g.client("s3control"))
        with g.listing(type_, "GetPublicAccessBlock"):
            try:
                answer = g.call(control, "get_public_access_block", AccountId=ctx.account_id)
                data: dict[str, Any] = {
                    **(answer.get("PublicAccessBlockConfiguration") or {}),
                    "Present": True,
                }
            except Exception as exc:
                if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                    raise
                # never configured: a complete answer meaning all four settings are off
                data = {"Present": False}
            yield record(
                ctx,
                type_,
                f"arn:{ctx.partition}:s3::{ctx.account_id}:account-public-access-block",
                "account-public-access-block",
                data,
                name="S3 account Block Public Access",
            )


def _location(constraint: Any) -> str:
    if constraint in _LEGACY_LOCATIONS:
        return _LEGACY_LOCATIONS[constraint]
    return str(constraint)


def _pick(answer: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: answer[k] for k in keys if k in answer}


def _policy_status(call: Any, s3: Any, name: str) -> dict[str, Any] | None:
    return call(s3, "get_bucket_policy_status", Bucket=name).get("PolicyStatus")


def _tags(call: Any, s3: Any, name: str) -> list[dict[str, Any]]:
    try:
        return call(s3, "get_bucket_tagging", Bucket=name).get("TagSet") or []
    except Exception as exc:
        if error_code(exc) == "NoSuchTagSet":
            return []
        raise
