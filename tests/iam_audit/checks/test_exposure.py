"""The non-network ways in (iam_audit.checks.exposure): which policies, ACLs, attributes and trusts
open a resource to anyone, each public case beside a private decoy that looks alike."""

from __future__ import annotations

from typing import Any

import pytest

from iam_audit.checks import exposure
from iam_audit.checks.base import Status
from iam_audit.checks.base import all_checks as catalogue
from inventory.exposure import vectors
from inventory.exposure.results import ACL, RESOURCE_POLICY, SHARING, TRUST
from tests.iam_audit.checks.factories import ACCOUNT, make_item, make_snapshot

ORG_ID = "o-abcdefghij"
INSIDE = "210987654321"
OUTSIDE = "999988887777"
CONTEXT = vectors.Context(account_id=ACCOUNT, organisation=frozenset({ACCOUNT, INSIDE}))


def statement(condition: dict[str, Any] | None = None, principal: Any = "*", **extra: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "Sid": "S",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "x:Get",
        "Resource": "*",
    }
    if condition:
        s["Condition"] = condition
    return {**s, **extra}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def found(*items: Any) -> list[tuple[str, str]]:
    return [(x.resource_id, x.vector) for x in exposure.find(list(items), CONTEXT)]


# conditions that narrow Principal '*' to someone (the decoys), and ones that do not
NARROWING = {
    "organisation": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}},
    "source VPC endpoint": {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}},
    "source VPC": {"StringEquals": {"aws:SourceVpc": "vpc-0a1b2c3d"}},
    "source account": {"StringEquals": {"aws:SourceAccount": INSIDE}},
    "source ARN": {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:eu-west-1:{INSIDE}:topic"}},
    "principal ARN": {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{INSIDE}:role/app"}},
    "office range": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
}
NOT_NARROWING = {
    "no condition": None,
    "TLS only": {"Bool": {"aws:SecureTransport": "true"}},
    "the whole internet": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}},
    "negated organisation": {"StringNotEquals": {"aws:PrincipalOrgID": ORG_ID}},
    "if exists": {"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG_ID}},
    "wildcard organisation": {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
}
POLICY_TYPES = [
    ("sqs:queue", "Policy"),
    ("sns:topic", "Policy"),
    ("kms:key", "Policy"),
    ("ecr:repository", "Policy"),
    ("secretsmanager:secret", "ResourcePolicy"),
    ("lambda:function", "Policy"),
]


@pytest.mark.parametrize(("type_", "key"), POLICY_TYPES)
@pytest.mark.parametrize("why", sorted(NARROWING))
def test_a_narrowed_principal_star_is_not_public(type_: str, key: str, why: str) -> None:
    decoy = make_item(type_, {key: doc(statement(NARROWING[why]))}, resource_id="decoy")
    assert found(decoy) == []


@pytest.mark.parametrize(("type_", "key"), POLICY_TYPES)
@pytest.mark.parametrize("why", sorted(NOT_NARROWING))
def test_principal_star_without_a_narrowing_condition_is_public(type_: str, key: str, why: str) -> None:
    public = make_item(type_, {key: doc(statement(NOT_NARROWING[why]))}, resource_id="public")
    [x] = exposure.find([public], CONTEXT)
    assert (x.resource_id, x.vector, x.arn, x.region) == (
        "public",
        RESOURCE_POLICY,
        public.arn,
        public.region,
    )
    assert x.evidence[0]["statement"]["Principal"] == "*" and '"S" allows anyone: x:Get' in x.evidence_text


@pytest.mark.parametrize(
    "principal",
    [{"AWS": "*"}, {"AWS": ["*"]}, {"AWS": f"arn:aws:iam::{INSIDE}:root"}, {"Service": "sns.amazonaws.com"}],
)
def test_only_everyone_is_public_not_a_named_principal(principal: Any) -> None:
    item = make_item("sqs:queue", {"Policy": doc(statement(principal=principal))}, resource_id="q")
    assert found(item) == ([("q", RESOURCE_POLICY)] if "*" in str(principal) else [])


def test_deny_statements_and_unread_policies_open_nothing() -> None:
    deny = make_item("sqs:queue", {"Policy": doc(statement(Effect="Deny"))}, resource_id="deny")
    unread = make_item(
        "sqs:queue", {"Policy": None, "Unavailable": {"Policy": "AccessDenied"}}, resource_id="unread"
    )
    assert found(deny, unread) == []


def test_the_decisions_are_the_checks_own() -> None:
    """A resource policy is a way in exactly when its public_policy check fails."""
    checks = {c.id: c for c in catalogue()}
    for type_, key in POLICY_TYPES:
        check_id = f"{type_.split(':')[0]}.public_policy"
        for condition in [*NARROWING.values(), *NOT_NARROWING.values()]:
            item = make_item(type_, {key: doc(statement(condition))})
            [result] = list(checks[check_id].fn(make_snapshot([item])))
            assert (result.status == Status.FAIL) == bool(found(item)), (check_id, condition)


# ---------------------------------------------------------------------- buckets
def bucket(name: str, **data: Any) -> Any:
    return make_item("s3:bucket", {"Name": name, **data}, resource_id=name, name=name)


ALL_USERS = {
    "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
    "Permission": "READ",
}
AUTHENTICATED = {
    "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
    "Permission": "WRITE",
}


def test_bucket_policy_and_acl_are_two_ways_in_and_their_decoys_are_not() -> None:
    items = [
        bucket("site", Policy=doc(statement())),
        bucket("org-share", Policy=doc(statement(NARROWING["organisation"]))),
        bucket("office-share", Policy=doc(statement(NARROWING["office range"]))),
        bucket("acl", Acl={"Grants": [ALL_USERS]}),
        bucket("authenticated", Acl={"Grants": [AUTHENTICATED]}),
        bucket("both", Policy=doc(statement()), Acl={"Grants": [ALL_USERS]}),
        bucket(
            "owner-only",
            Acl={
                "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "abc"}, "Permission": "FULL_CONTROL"}]
            },
        ),
    ]
    assert sorted(found(*items)) == [
        ("acl", ACL),
        ("authenticated", ACL),
        ("both", ACL),
        ("both", RESOURCE_POLICY),
        ("site", RESOURCE_POLICY),
    ]
    [acl] = [x for x in exposure.find(items, CONTEXT) if x.resource_id == "authenticated"]
    assert acl.evidence_text == "ACL grants WRITE to AuthenticatedUsers"


def test_block_public_access_neutralises_what_it_covers() -> None:
    restricted = {"RestrictPublicBuckets": True, "IgnorePublicAcls": True}
    items = [
        bucket(
            "bucket-level", Policy=doc(statement()), Acl={"Grants": [ALL_USERS]}, PublicAccessBlock=restricted
        ),
        bucket(
            "acls-disabled",
            Acl={"Grants": [ALL_USERS]},
            OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        ),
        bucket(
            "policy-only-blocked",
            Policy=doc(statement()),
            Acl={"Grants": [ALL_USERS]},
            PublicAccessBlock={"RestrictPublicBuckets": True},
        ),
    ]
    assert found(*items) == [("policy-only-blocked", ACL)]
    account_wide = make_item("s3:account-public-access-block", {"Present": True, **restricted})
    assert found(bucket("site", Policy=doc(statement())), account_wide) == []


def test_s3s_own_policy_status_counts_when_no_statement_explains_it() -> None:
    [x] = exposure.find([bucket("odd", Policy=doc(), PolicyStatus={"IsPublic": True})], CONTEXT)
    assert x.vector == RESOURCE_POLICY and "PolicyStatus IsPublic" in x.evidence_text


# ---------------------------------------------------------------------- snapshots and AMIs
def test_shared_with_everyone_is_public_shared_with_one_account_is_not() -> None:
    items = [
        make_item("ec2:snapshot", {"CreateVolumePermissions": [{"Group": "all"}]}, resource_id="snap-public"),
        make_item(
            "ec2:snapshot", {"CreateVolumePermissions": [{"UserId": INSIDE}]}, resource_id="snap-shared"
        ),
        make_item("ec2:image", {"LaunchPermissions": [{"Group": "all"}]}, resource_id="ami-public"),
        make_item("ec2:image", {"LaunchPermissions": [], "Public": True}, resource_id="ami-flagged"),
        make_item("ec2:image", {"LaunchPermissions": [{"UserId": OUTSIDE}]}, resource_id="ami-shared"),
        make_item(
            "rds:db-snapshot",
            {"Attributes": [{"AttributeName": "restore", "AttributeValues": ["all"]}]},
            resource_id="rds-public",
        ),
        make_item(
            "rds:db-cluster-snapshot",
            {"Attributes": [{"AttributeName": "restore", "AttributeValues": [INSIDE]}]},
            resource_id="rds-shared",
        ),
        make_item(
            "ec2:snapshot",
            {"CreateVolumePermissions": None, "Unavailable": {"CreateVolumePermissions": "throttled"}},
            resource_id="snap-unread",
        ),
    ]
    assert sorted(found(*items)) == [
        ("ami-flagged", SHARING),
        ("ami-public", SHARING),
        ("rds-public", SHARING),
        ("snap-public", SHARING),
    ]


# ---------------------------------------------------------------------- role trusts
def role(name: str, *statements: dict[str, Any]) -> Any:
    return make_item(
        "iam:role",
        {"RoleName": name, "AssumeRolePolicyDocument": doc(*statements)},
        resource_id=name,
        name=name,
    )


def trust(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return {**s, "Condition": condition} if condition else s


def test_roles_trusting_anyone_or_an_outside_account_are_ways_in() -> None:
    items = [
        role("Anyone", trust("*")),
        role("AnyoneAws", trust({"AWS": "*"})),
        role("AnyoneInTheOrg", trust({"AWS": "*"}, NARROWING["organisation"])),
        role("AnyoneWithExternalId", trust({"AWS": "*"}, {"StringEquals": {"sts:ExternalId": "shared"}})),
        role("Vendor", trust({"AWS": f"arn:aws:iam::{OUTSIDE}:root"})),
        role("VendorWithExternalId", trust({"AWS": OUTSIDE}, {"StringEquals": {"sts:ExternalId": "x1"}})),
        role("Member", trust({"AWS": f"arn:aws:iam::{INSIDE}:root"})),
        role("Itself", trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"})),
        role("Service", trust({"Service": "lambda.amazonaws.com"})),
    ]
    assert sorted(found(*items)) == [
        ("Anyone", TRUST),
        ("AnyoneAws", TRUST),
        ("AnyoneWithExternalId", TRUST),  # an ExternalId is a shared string, not an identity
        ("Vendor", TRUST),
        ("VendorWithExternalId", TRUST),  # a way in for that account, guarded: said in the evidence
    ]
    by_name = {x.resource_id: x for x in exposure.find(items, CONTEXT)}
    assert "anyone who learns it can assume the role" in by_name["AnyoneWithExternalId"].evidence_text
    assert by_name["Vendor"].evidence_text.endswith(f"{OUTSIDE} (no ExternalId or MFA)")
    assert by_name["VendorWithExternalId"].evidence_text.endswith("(guarded by sts:ExternalId)")
    assert by_name["Vendor"].evidence[0]["accounts"] == [OUTSIDE]
    # the organisation is the registry's: once the vendor is in it, the trust is not a way in
    inside = vectors.Context(account_id=ACCOUNT, organisation=frozenset({INSIDE, OUTSIDE}))
    assert [x.resource_id for x in exposure.find(items, inside) if x.resource_id.startswith("Vendor")] == []


def test_attacker_written_strings_are_carried_as_data() -> None:
    """Sids and names travel unchanged in the evidence (pages escape them when they render)."""
    sid = '<script>alert("x")</script>'
    [x] = exposure.find([make_item("sns:topic", {"Policy": doc(statement(Sid=sid))}, name=sid)], CONTEXT)
    assert x.name == sid and x.evidence[0]["sid"] == sid and sid in x.evidence_text


def test_the_finder_registers_with_the_exposure_registry() -> None:
    import django.apps  # noqa: F401  (the app registry is loaded by pytest-django)

    registered = {f.name: f for f in vectors.finders()}
    assert registered[exposure.FINDER.name] is exposure.FINDER
    assert {"s3:bucket", "iam:role", "ec2:snapshot", "sqs:queue"} <= set(vectors.finder_types())
