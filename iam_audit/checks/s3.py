"""S3 checks: Block Public Access, public ACLs and policies, cross-account sharing, encryption, TLS,
versioning of log buckets. Helpers here (``bucket_public``, ``log_buckets``) are reused by the
CloudTrail checks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from iam_audit.checks.base import Exposure, Item, Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import (
    account_result,
    as_dict,
    dicts,
    join_limited,
    label,
    org_accounts,
    org_known,
    resource_result,
    truthy,
    unread_result,
)
from iam_audit.policy.conditions import ORG_KEYS, denies_insecure_transport, limiting_conditions
from iam_audit.policy.grants import applies_to_anyone, public_grant
from iam_audit.policy.model import statements

PUBLIC_KEYS = (
    "Acl",
    "OwnershipControls",
    "PublicAccessBlock",
    "Policy",
    "PolicyStatus",
)  # what "public" reads
BPA_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}
DOC_BPA = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"
DOC_ACL = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html"
DOC_OWNERSHIP = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html"
DOC_POLICY = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html"
DOC_CROSS = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-walkthroughs-managing-access-example2.html"
)
DOC_ENC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html"
DOC_TLS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"
DOC_VERSIONING = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html"


# ----------------------------------------------------------------------------------- helpers
def buckets(snap: Snapshot) -> list[Item]:
    """Buckets in a stable order."""
    return sorted(snap.of("s3:bucket"), key=lambda i: i.arn)


def bucket_name(item: Item) -> str:
    """The bucket's name (``Name`` in data, else the resource id)."""
    name = as_dict(item.data).get("Name")
    return name if isinstance(name, str) and name else item.resource_id


def account_bpa(snap: Snapshot) -> dict[str, bool] | None:
    """The account-level Block Public Access flags; None when not collected."""
    if not snap.covered("s3:account-public-access-block"):
        return None
    item = snap.one("s3:account-public-access-block")
    return None if item is None else bpa_flags(item)


def bpa_flags(item: Item) -> dict[str, bool]:
    """The four flags of an ``s3:account-public-access-block`` item (never configured: all off)."""
    data = as_dict(item.data)
    if not truthy(data.get("Present", True)):
        return dict.fromkeys(BPA_FLAGS, False)
    return {f: truthy(data.get(f)) for f in BPA_FLAGS}


def effective_bpa(bucket: Item, account: Mapping[str, bool] | None) -> dict[str, bool]:
    """Each flag is on when the bucket or the account turns it on."""
    own = as_dict(as_dict(bucket.data).get("PublicAccessBlock"))
    return {f: truthy(own.get(f)) or bool((account or {}).get(f)) for f in BPA_FLAGS}


def acls_disabled(bucket: Item) -> bool:
    """Object Ownership is BucketOwnerEnforced: ACLs are ignored altogether."""
    rules = dicts(as_dict(as_dict(bucket.data).get("OwnershipControls")).get("Rules"))
    return any(r.get("ObjectOwnership") == "BucketOwnerEnforced" for r in rules)


def public_acl_grants(bucket: Item) -> list[dict[str, Any]]:
    """ACL grants to AllUsers / AuthenticatedUsers, as AWS returned them."""
    out = []
    for g in dicts(as_dict(as_dict(bucket.data).get("Acl")).get("Grants")):
        uri = str(as_dict(g.get("Grantee")).get("URI", ""))
        if uri in PUBLIC_GROUPS:
            out.append({"grantee": PUBLIC_GROUPS[uri], "permission": g.get("Permission"), "grant": dict(g)})
    return out


def public_policy_statements(bucket: Item) -> list[dict[str, Any]]:
    """Bucket-policy statements that allow anyone without a limiting condition."""
    return [g for g in (public_grant(s) for s in statements(as_dict(bucket.data).get("Policy"))) if g]


def public_ways(bucket: Item, account: Mapping[str, bool] | None) -> tuple[bool, bool, dict[str, Any]]:
    """(public through the ACL?, public through the policy?, evidence), after Block Public Access.

    The policy counts as public when one of its statements allows anyone without a limiting
    condition, or when S3's own policy status says so; either is void under RestrictPublicBuckets,
    as public ACL grants are under IgnorePublicAcls (or with ACLs disabled).
    """
    bpa = effective_bpa(bucket, account)
    acl = [] if acls_disabled(bucket) else public_acl_grants(bucket)
    policy = public_policy_statements(bucket)
    status = as_dict(as_dict(bucket.data).get("PolicyStatus"))
    aws_says_public = truthy(status.get("IsPublic"))
    acl_public = bool(acl) and not bpa["IgnorePublicAcls"]
    policy_public = (bool(policy) or aws_says_public) and not bpa["RestrictPublicBuckets"]
    evidence = {
        "public_acl_grants": acl,
        "public_policy_statements": policy,
        "policy_status_is_public": status.get("IsPublic"),
        "block_public_access": bpa,
        "account_block_public_access_known": account is not None,
    }
    return acl_public, policy_public, evidence


def bucket_public(bucket: Item, account: Mapping[str, bool] | None) -> tuple[bool, dict[str, Any]]:
    """(public?, evidence) through the ACL or the policy, after Block Public Access."""
    acl_public, policy_public, evidence = public_ways(bucket, account)
    return acl_public or policy_public, evidence


def log_buckets(snap: Snapshot) -> dict[str, list[str]]:
    """``{bucket name: [why it holds logs, ...]}``: CloudTrail trail buckets (own and organisation
    trails) and server-access-logging target buckets named by any bucket of this account."""
    out: dict[str, list[str]] = {}
    for trail in list(snap.of("cloudtrail:trail")) + list(snap.org.org_trails):
        name = as_dict(trail.data).get("S3BucketName")
        if isinstance(name, str) and name:
            out.setdefault(name, []).append(f"CloudTrail trail {label(trail)}")
    for b in snap.of("s3:bucket"):
        target = as_dict(as_dict(b.data).get("Logging")).get("TargetBucket")
        if isinstance(target, str) and target:
            out.setdefault(target, []).append(f"access logs of bucket {bucket_name(b)}")
    return out


# ----------------------------------------------------------------------------------- checks
@check(
    id="s3.account_public_access_block",
    title="S3 Block Public Access on for the account",
    service="S3",
    scope="account",
    severity=Severity.HIGH,
    description="All four account-level S3 Block Public Access settings are on.",
    risk="Without the account-wide block, one wrong ACL or bucket policy publishes data to the internet.",
    remediation=(
        "1. Check no bucket must be public (static sites belong behind CloudFront with origin access control).\n"
        "2. aws s3control put-public-access-block --account-id <account-id> --public-access-block-configuration "
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true\n"
        "Console: S3 > Block Public Access settings for this account > Edit."
    ),
    references=("CIS 2.1.4", DOC_BPA),
    requires=("s3:account-public-access-block",),
    baseline=True,
)
def account_public_access_block(snap: Snapshot) -> Iterator[Result]:
    item = snap.one("s3:account-public-access-block")
    if item is None:
        yield account_result(snap, Status.UNKNOWN, "Account Block Public Access state not recorded")
        return
    flags = account_bpa(snap) or {}
    off = [f for f in BPA_FLAGS if not flags.get(f)]
    evidence = {"settings": flags, "off": off, "configured": truthy(as_dict(item.data).get("Present", True))}
    if off:
        yield account_result(
            snap, Status.FAIL, "Account Block Public Access off: " + ", ".join(off), evidence
        )
    else:
        yield account_result(snap, Status.PASS, "Account Block Public Access fully on", evidence)


@check(
    id="s3.public_acl",
    title="No bucket ACL grants public access",
    service="S3",
    scope="resource",
    severity=Severity.CRITICAL,
    description="A bucket ACL grants AllUsers or AuthenticatedUsers (any AWS account) access, and neither "
    "IgnorePublicAcls (bucket or account) nor BucketOwnerEnforced object ownership neutralises it.",
    risk="Anyone on the internet (or any AWS customer) can list, read or write the bucket.",
    remediation=(
        "1. aws s3api put-bucket-ownership-controls --bucket <bucket> --ownership-controls "
        "Rules=[{ObjectOwnership=BucketOwnerEnforced}] (disables ACLs).\n"
        "2. Or reset the ACL: aws s3api put-bucket-acl --bucket <bucket> --acl private\n"
        "3. Turn on Block Public Access. Console: S3 > <bucket> > Permissions > Object Ownership / ACL."
    ),
    references=(DOC_ACL, DOC_OWNERSHIP, DOC_BPA),
    requires=("s3:bucket", "s3:account-public-access-block"),
)
def public_acl(snap: Snapshot) -> Iterator[Result]:
    account = account_bpa(snap)
    for b in buckets(snap):
        if (unread := unread_result(b, ("Acl", "OwnershipControls", "PublicAccessBlock"))) is not None:
            yield unread
            continue
        grants = public_acl_grants(b)
        bpa = effective_bpa(b, account)
        evidence = {
            "grants": grants,
            "block_public_access": bpa,
            "account_block_public_access_known": account is not None,
        }
        if not grants:
            yield resource_result(b, Status.PASS, f"Bucket {label(b)} ACL grants nothing public", evidence)
        elif acls_disabled(b) or bpa["IgnorePublicAcls"]:
            evidence["neutralised_by"] = "BucketOwnerEnforced" if acls_disabled(b) else "IgnorePublicAcls"
            yield resource_result(
                b, Status.PASS, f"Bucket {label(b)} has a public ACL grant, neutralised", evidence
            )
        else:
            who = join_limited(sorted({f"{g['grantee']}:{g['permission']}" for g in grants}))
            yield resource_result(
                b, Status.FAIL, f"Bucket {label(b)} ACL grants {who}", evidence, Exposure.PUBLIC
            )


@check(
    id="s3.public_policy",
    title="No bucket policy allows everyone",
    service="S3",
    scope="resource",
    severity=Severity.CRITICAL,
    description="A bucket policy allows Principal '*' without a condition narrowing who may use it "
    "(aws:PrincipalOrgID, aws:SourceVpce, aws:SourceIp...), or S3's own policy status says public, and "
    "RestrictPublicBuckets is off.",
    risk="Anyone can read (or write) the bucket's objects.",
    remediation=(
        "1. Replace Principal '*' with the accounts/roles that need access, or add a condition such as "
        "aws:PrincipalOrgID or aws:SourceVpce. For a website, serve it through CloudFront with origin access control.\n"
        "2. aws s3api put-bucket-policy --bucket <bucket> --policy file://policy.json (or delete-bucket-policy).\n"
        "Console: S3 > <bucket> > Permissions > Bucket policy."
    ),
    references=(DOC_POLICY, DOC_BPA),
    requires=("s3:bucket", "s3:account-public-access-block"),
)
def public_policy(snap: Snapshot) -> Iterator[Result]:
    account = account_bpa(snap)
    for b in buckets(snap):
        if (unread := unread_result(b, ("Policy", "PolicyStatus", "PublicAccessBlock"))) is not None:
            yield unread
            continue
        found = public_policy_statements(b)
        status = as_dict(as_dict(b.data).get("PolicyStatus"))
        bpa = effective_bpa(b, account)
        evidence = {
            "statements": found,
            "policy_status_is_public": status.get("IsPublic"),
            "block_public_access": bpa,
        }
        if not found and not truthy(status.get("IsPublic")):
            yield resource_result(b, Status.PASS, f"Bucket {label(b)} policy is not public", evidence)
        elif bpa["RestrictPublicBuckets"]:
            evidence["neutralised_by"] = "RestrictPublicBuckets"
            yield resource_result(
                b,
                Status.PASS,
                f"Bucket {label(b)} policy is public but RestrictPublicBuckets blocks it",
                evidence,
            )
        else:
            where = (
                f"statement {found[0]['sid'] or '#' + str(found[0]['index'])}"
                if found
                else "S3 policy status"
            )
            yield resource_result(
                b,
                Status.FAIL,
                f"Bucket {label(b)} policy allows everyone ({where})",
                evidence,
                Exposure.PUBLIC,
            )


@check(
    id="s3.cross_account",
    title="Buckets are not shared outside the organisation",
    service="S3",
    scope="resource",
    severity=Severity.HIGH,
    description="A bucket policy allows AWS accounts that are not members of the organisation (without an "
    "aws:PrincipalOrgID condition). When the organisation is unknown the result is UNKNOWN.",
    risk="Data leaves the organisation's control; the other account's own IAM decides who reads it.",
    remediation=(
        "1. Confirm each outside account is expected.\n"
        '2. Remove it from the policy, or narrow with "StringEquals": {"aws:PrincipalOrgID": "o-xxxx"}.\n'
        "3. aws s3api put-bucket-policy --bucket <bucket> --policy file://policy.json\n"
        "Console: S3 > <bucket> > Permissions > Bucket policy."
    ),
    references=(DOC_CROSS, DOC_POLICY),
    requires=("s3:bucket",),
)
def cross_account(snap: Snapshot) -> Iterator[Result]:
    inside = org_accounts(snap)
    known = org_known(snap)
    for b in buckets(snap):
        if (unread := unread_result(b, ("Policy",))) is not None:
            yield unread
            continue
        shared = []
        for s in statements(as_dict(b.data).get("Policy")):
            if (
                not s.is_allow
                or s.principal is None
                or applies_to_anyone(s)
                or limiting_conditions(s, ORG_KEYS)
            ):
                continue
            outside = sorted(a for a in s.principal.accounts() if a not in inside)
            if outside:
                shared.append({**s.evidence(), "accounts": outside})
        accounts = sorted({a for x in shared for a in x["accounts"]})
        evidence: dict[str, Any] = {"organisation_known": known, "statements": shared}
        if not shared:
            yield resource_result(
                b, Status.PASS, f"Bucket {label(b)} is not shared outside the organisation", evidence
            )
        elif not known:
            evidence["note"] = (
                "organisation membership unknown: cannot tell whether these accounts are inside it"
            )
            yield resource_result(
                b,
                Status.UNKNOWN,
                f"Bucket {label(b)} is shared with {join_limited(accounts)} (organisation unknown)",
                evidence,
            )
        else:
            yield resource_result(
                b,
                Status.FAIL,
                f"Bucket {label(b)} is shared with outside account {join_limited(accounts)}",
                evidence,
                Exposure.EXTERNAL,
            )


@check(
    id="s3.encryption",
    title="Buckets have default encryption",
    service="S3",
    scope="resource",
    severity=Severity.MEDIUM,
    description="A bucket has no default server-side encryption configuration.",
    risk="Objects may be stored unencrypted; with SSE-KMS, access to data also needs access to the key.",
    remediation=(
        "1. aws s3api put-bucket-encryption --bucket <bucket> --server-side-encryption-configuration "
        '\'{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"},"BucketKeyEnabled":true}]}\'\n'
        "Console: S3 > <bucket> > Properties > Default encryption > Edit."
    ),
    references=(DOC_ENC,),
    requires=("s3:bucket",),
)
def encryption(snap: Snapshot) -> Iterator[Result]:
    for b in buckets(snap):
        if (unread := unread_result(b, ("Encryption",))) is not None:
            yield unread
            continue
        config = as_dict(b.data).get("Encryption")
        rules = dicts(as_dict(config).get("Rules"))
        algorithms = [as_dict(r.get("ApplyServerSideEncryptionByDefault")).get("SSEAlgorithm") for r in rules]
        if rules:
            yield resource_result(
                b,
                Status.PASS,
                f"Bucket {label(b)} encrypts by default ({join_limited(str(a) for a in algorithms)})",
                {"rules": rules},
            )
        else:
            yield resource_result(
                b, Status.FAIL, f"Bucket {label(b)} has no default encryption", {"Encryption": config}
            )


@check(
    id="s3.tls_only",
    title="Bucket policies deny non-TLS requests",
    service="S3",
    scope="resource",
    severity=Severity.MEDIUM,
    description="The bucket policy has no statement denying every S3 action (s3:* or *) on the bucket's "
    "objects to everyone when aws:SecureTransport is false.",
    risk="Clients can read and write over plain HTTP, exposing data and credentials-signed requests to the network path.",
    remediation=(
        '1. Add to the bucket policy: {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", '
        '"Action": "s3:*", "Resource": ["arn:aws:s3:::<bucket>", "arn:aws:s3:::<bucket>/*"], '
        '"Condition": {"Bool": {"aws:SecureTransport": "false"}}}\n'
        "2. aws s3api put-bucket-policy --bucket <bucket> --policy file://policy.json\n"
        "Console: S3 > <bucket> > Permissions > Bucket policy."
    ),
    references=("CIS 2.1.1", DOC_TLS),
    requires=("s3:bucket",),
)
def tls_only(snap: Snapshot) -> Iterator[Result]:
    part = snap.account.partition
    for b in buckets(snap):
        if (unread := unread_result(b, ("Policy",))) is not None:
            yield unread
            continue
        obj = f"arn:{part}:s3:::{bucket_name(b)}/any-object"
        found = [
            s
            for s in statements(as_dict(b.data).get("Policy"))
            if denies_insecure_transport(s)
            and applies_to_anyone(s)
            and s.matches_action("s3:*")
            and s.matches_resource(obj)
        ]
        if found:
            yield resource_result(
                b,
                Status.PASS,
                f"Bucket {label(b)} denies non-TLS requests",
                {"statement": found[0].evidence()},
            )
        else:
            has_policy = as_dict(b.data).get("Policy") is not None
            yield resource_result(
                b,
                Status.FAIL,
                f"Bucket {label(b)} does not deny non-TLS requests",
                {
                    "bucket_policy_present": has_policy,
                    "expected": "Deny s3:* to * when aws:SecureTransport is false",
                },
            )


@check(
    id="s3.log_bucket_versioning",
    title="Log buckets are versioned",
    service="S3",
    scope="resource",
    severity=Severity.MEDIUM,
    description="A bucket that receives CloudTrail logs or S3 server access logs does not have versioning enabled.",
    risk="Logs overwritten or deleted by an intruder cannot be recovered; versioning (ideally with Object Lock) keeps them.",
    remediation=(
        "1. aws s3api put-bucket-versioning --bucket <bucket> --versioning-configuration Status=Enabled\n"
        "2. Add a lifecycle rule expiring noncurrent versions to bound cost.\n"
        "Console: S3 > <bucket> > Properties > Bucket Versioning > Edit."
    ),
    references=(
        DOC_VERSIONING,
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/best-practices-security.html",
    ),
    requires=("s3:bucket", "cloudtrail:trail"),
    org_requires=("cloudtrail:trail",),  # the organisation trail's bucket is a log bucket too
)
def log_bucket_versioning(snap: Snapshot) -> Iterator[Result]:
    holders = log_buckets(snap)
    for b in buckets(snap):
        why = holders.get(bucket_name(b))
        if not why:
            continue  # not a log bucket: not a subject
        if (unread := unread_result(b, ("Versioning",))) is not None:
            yield unread
            continue
        versioning = as_dict(as_dict(b.data).get("Versioning"))
        evidence = {"holds": why, "Versioning": dict(versioning)}
        if versioning.get("Status") == "Enabled":
            yield resource_result(b, Status.PASS, f"Log bucket {label(b)} is versioned", evidence)
        else:
            state = versioning.get("Status") or "never enabled"
            yield resource_result(b, Status.FAIL, f"Log bucket {label(b)} versioning is {state}", evidence)
