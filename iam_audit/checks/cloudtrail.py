"""CloudTrail checks: a logging multi-region trail (an organisation trail counts), log-file
validation, KMS encryption, and the trail bucket not being public."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from iam_audit.checks.base import Exposure, Item, Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import (
    account_result,
    as_dict,
    dicts,
    is_management,
    is_member,
    label,
    resource_result,
    truthy,
    unavailable,
    unread_result,
)
from iam_audit.checks.s3 import PUBLIC_KEYS, account_bpa, bucket_name
from iam_audit.checks.s3 import bucket_public as s3_bucket_public

DOC_MULTI = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/receive-cloudtrail-log-files-from-multiple-regions.html"
DOC_ORG_TRAIL = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html"
DOC_VALIDATION = (
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-intro.html"
)
DOC_KMS = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/encrypting-cloudtrail-log-files-with-aws-kms.html"
DOC_BUCKET = (
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html"
)


def trails(snap: Snapshot) -> list[Item]:
    """This account's own trails (recorded once, in their home region), in a stable order."""
    return sorted(snap.of("cloudtrail:trail"), key=lambda i: i.arn)


def is_logging(trail: Item) -> bool:
    """get_trail_status said IsLogging."""
    return truthy(as_dict(as_dict(trail.data).get("Status")).get("IsLogging"))


def logs_management_events(trail: Item) -> bool | None:
    """True when the trail records read and write management events; None when the trail reported
    no selectors (AWS's default for a trail is every management event)."""
    raw = as_dict(trail.data).get("EventSelectors")
    selectors = dicts(raw.get("EventSelectors") if isinstance(raw, Mapping) else raw)
    advanced = dicts(as_dict(raw).get("AdvancedEventSelectors"))
    if not selectors and not advanced:
        return None
    for s in selectors:
        if (
            s.get("IncludeManagementEvents", True) is not False
            and str(s.get("ReadWriteType", "All")) == "All"
        ):
            return True
    for a in advanced:
        fields = dicts(a.get("FieldSelectors"))
        category = [f for f in fields if f.get("Field") == "eventCategory"]
        read_only = [f for f in fields if f.get("Field") == "readOnly"]
        if any("Management" in (f.get("Equals") or []) for f in category) and not read_only:
            return True
    return False


def trail_view(trail: Item) -> dict[str, Any]:
    """The settings of a trail that the checks judge, for evidence."""
    data = as_dict(trail.data)
    return {
        "trail": trail.arn,
        "home_region": data.get("HomeRegion", trail.region),
        "IsMultiRegionTrail": data.get("IsMultiRegionTrail"),
        "IsOrganizationTrail": data.get("IsOrganizationTrail"),
        "IsLogging": as_dict(data.get("Status")).get("IsLogging"),
        "management_events": logs_management_events(trail),
        "S3BucketName": data.get("S3BucketName"),
    }


# What "qualifying" reads from per-trail calls: when either could not be read this time, the stored
# value is the last known one (see inventory.services.ingest), and a trail is never taken to qualify on it.
TRAIL_STATE_KEYS = ("Status", "EventSelectors")


def qualifying(trail: Item) -> bool:
    """Multi-region, logging, and recording management events (or the default selectors), as read now."""
    return (
        not unavailable(trail, TRAIL_STATE_KEYS)
        and truthy(as_dict(trail.data).get("IsMultiRegionTrail"))
        and is_logging(trail)
        and logs_management_events(trail) is not False
    )


def covering_trails(snap: Snapshot) -> tuple[list[Item], list[Item]]:
    """(own qualifying trails, organisation trails that cover this account)."""
    own = [t for t in trails(snap) if qualifying(t)]
    in_org = is_member(snap) or is_management(snap)
    org = [
        t
        for t in snap.org.org_trails
        if in_org and truthy(as_dict(t.data).get("IsOrganizationTrail")) and qualifying(t)
    ]
    return own, org


@check(
    id="cloudtrail.multi_region",
    title="A multi-region CloudTrail trail is logging",
    service="CloudTrail",
    scope="account",
    severity=Severity.HIGH,
    description="At least one multi-region trail is logging read and write management events for the account; "
    "an organisation trail from the management account counts for its members.",
    risk="Without a trail there is no durable record of who did what, in which region, when something goes wrong.",
    remediation=(
        "1. Prefer one organisation trail in the management account (or delegated admin): aws cloudtrail create-trail "
        "--name org-trail --s3-bucket-name <log-archive-bucket> --is-multi-region-trail --is-organization-trail "
        "--enable-log-file-validation --kms-key-id <key>\n"
        "2. aws cloudtrail start-logging --name org-trail\n"
        "Console: CloudTrail > Trails > Create trail (Enable for all accounts in my organization)."
    ),
    references=("CIS 3.1", DOC_MULTI, DOC_ORG_TRAIL),
    requires=("cloudtrail:trail",),
    org_requires=("cloudtrail:trail",),  # the organisation trail, in the management account
    baseline=True,
)
def multi_region(snap: Snapshot) -> Iterator[Result]:
    own, org = covering_trails(snap)
    evidence = {
        "own_trails": [trail_view(t) for t in trails(snap)],
        "organisation_trails": [trail_view(t) for t in snap.org.org_trails],
        "covered_by": [t.arn for t in own + org],
    }
    if own:
        yield account_result(snap, Status.PASS, f"Multi-region trail {label(own[0])} is logging", evidence)
    elif org:
        yield account_result(snap, Status.PASS, f"Covered by organisation trail {label(org[0])}", evidence)
    else:
        unread = {t.arn: u for t in trails(snap) if (u := unavailable(t, TRAIL_STATE_KEYS))}
        if unread:
            evidence["status_not_read"] = unread
            yield account_result(
                snap,
                Status.UNKNOWN,
                "No trail known to be logging; the status of some could not be read",
                evidence,
            )
        else:
            yield account_result(
                snap, Status.FAIL, "No logging multi-region trail covers the account", evidence
            )


@check(
    id="cloudtrail.log_validation",
    title="CloudTrail log-file validation on",
    service="CloudTrail",
    scope="resource",
    severity=Severity.MEDIUM,
    description="A trail has log-file integrity validation off.",
    risk="Deleted or altered log files cannot be detected, so an intruder can cover tracks unnoticed.",
    remediation=(
        "1. aws cloudtrail update-trail --name <trail> --enable-log-file-validation\n"
        "Console: CloudTrail > Trails > <trail> > General details > Edit > Log file validation: Enabled."
    ),
    references=("CIS 3.2", DOC_VALIDATION),
    requires=("cloudtrail:trail",),
)
def log_validation(snap: Snapshot) -> Iterator[Result]:
    for t in trails(snap):
        on = truthy(as_dict(t.data).get("LogFileValidationEnabled"))
        evidence = {"LogFileValidationEnabled": as_dict(t.data).get("LogFileValidationEnabled")}
        if on:
            yield resource_result(t, Status.PASS, f"Trail {label(t)} validates log files", evidence)
        else:
            yield resource_result(t, Status.FAIL, f"Trail {label(t)} has log-file validation off", evidence)


@check(
    id="cloudtrail.kms",
    title="CloudTrail logs encrypted with KMS",
    service="CloudTrail",
    scope="resource",
    severity=Severity.MEDIUM,
    description="A trail does not encrypt its log files with a KMS key (SSE-KMS).",
    risk="Anyone who can read the bucket reads the logs; with SSE-KMS, reading also needs key access, which is audited.",
    remediation=(
        "1. Create a key whose policy lets cloudtrail.amazonaws.com encrypt (GenerateDataKey*) and your readers decrypt.\n"
        "2. aws cloudtrail update-trail --name <trail> --kms-key-id <key-arn>\n"
        "Console: CloudTrail > Trails > <trail> > General details > Edit > Log file SSE-KMS encryption."
    ),
    references=("CIS 3.5", DOC_KMS),
    requires=("cloudtrail:trail",),
)
def kms(snap: Snapshot) -> Iterator[Result]:
    for t in trails(snap):
        key = as_dict(t.data).get("KmsKeyId")
        if isinstance(key, str) and key.strip():
            yield resource_result(
                t, Status.PASS, f"Trail {label(t)} is encrypted with KMS", {"KmsKeyId": key}
            )
        else:
            yield resource_result(
                t, Status.FAIL, f"Trail {label(t)} is not encrypted with a KMS key", {"KmsKeyId": None}
            )


@check(
    id="cloudtrail.bucket_public",
    title="CloudTrail buckets are not public",
    service="CloudTrail",
    scope="resource",
    severity=Severity.CRITICAL,
    description="A bucket in this account receiving CloudTrail logs (of its own or an organisation trail) is "
    "public through its ACL or policy, after Block Public Access. Trails whose bucket lives in another "
    "account are marked not applicable here and judged in that account.",
    risk="Audit logs reveal the whole estate's structure and activity to anyone.",
    remediation=(
        "1. Remove public ACL grants: aws s3api put-bucket-acl --bucket <bucket> --acl private\n"
        "2. Remove Principal '*' statements from the bucket policy (keep the cloudtrail.amazonaws.com ones).\n"
        "3. aws s3api put-public-access-block --bucket <bucket> --public-access-block-configuration "
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true\n"
        "Console: S3 > <bucket> > Permissions."
    ),
    references=(DOC_BUCKET,),
    requires=("cloudtrail:trail", "s3:bucket", "s3:account-public-access-block"),
    org_requires=("cloudtrail:trail",),
)
def bucket_public(snap: Snapshot) -> Iterator[Result]:
    here = {bucket_name(b): b for b in snap.of("s3:bucket")}
    account = account_bpa(snap)
    by_bucket: dict[str, list[str]] = {}
    own = {t.arn for t in trails(snap)}
    for t in trails(snap) + list(snap.org.org_trails):
        name = as_dict(t.data).get("S3BucketName")
        if not isinstance(name, str) or not name:
            continue
        if name in here:
            if t.arn not in by_bucket.setdefault(name, []):
                by_bucket[name].append(t.arn)
        elif t.arn in own:
            yield resource_result(
                t, Status.NOT_APPLICABLE, f"Trail {label(t)} logs to {name}, a bucket in another account"
            )
    for name in sorted(by_bucket):
        b = here[name]
        if (unread := unread_result(b, PUBLIC_KEYS)) is not None:
            yield unread
            continue
        public, evidence = s3_bucket_public(b, account)
        evidence["trails"] = by_bucket[name]
        if public:
            yield resource_result(
                b, Status.FAIL, f"CloudTrail bucket {name} is public", evidence, Exposure.PUBLIC
            )
        else:
            yield resource_result(b, Status.PASS, f"CloudTrail bucket {name} is not public", evidence)
