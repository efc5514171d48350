"""S3 and CloudTrail checks: Block Public Access neutralising grants, conditions, organisation trails."""

from __future__ import annotations

from iam_audit.checks.base import Exposure, Status
from tests.iam_audit.checks import factories as f
from tests.iam_audit.checks.factories import (
    MEMBER,
    OUTSIDER,
    bucket,
    make_item,
    make_org,
    make_snapshot,
    only,
    policy_doc,
    run,
    trail,
)

ALL_USERS = {
    "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
    "Permission": "READ",
}
AUTH_USERS = {
    "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
    "Permission": "WRITE",
}


def account_bpa(**flags: bool) -> object:
    return make_item("s3:account-public-access-block", {"Present": True, **flags})


def test_public_acl_grant_evidence_names_grantee_and_permission() -> None:
    [r] = run("s3.public_acl", make_snapshot([bucket("b", Acl={"Grants": [ALL_USERS, AUTH_USERS]})]))
    assert r.status == Status.FAIL and r.exposure == Exposure.PUBLIC
    assert {(g["grantee"], g["permission"]) for g in r.evidence["grants"]} == {
        ("AllUsers", "READ"),
        ("AuthenticatedUsers", "WRITE"),
    }


def test_public_acl_neutralised_by_account_ignore_public_acls_or_owner_enforced() -> None:
    snap = make_snapshot([bucket("b", Acl={"Grants": [ALL_USERS]}), account_bpa(IgnorePublicAcls=True)])
    [r] = run("s3.public_acl", snap)
    assert r.status == Status.PASS and r.evidence["neutralised_by"] == "IgnorePublicAcls"
    owner = bucket(
        "b",
        Acl={"Grants": [ALL_USERS]},
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )
    assert run("s3.public_acl", make_snapshot([owner]))[0].evidence["neutralised_by"] == "BucketOwnerEnforced"


def test_public_policy_respects_conditions_and_restrict_public_buckets() -> None:
    vpce = policy_doc(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
        }
    )
    assert run("s3.public_policy", make_snapshot([bucket("b", Policy=vpce)]))[0].status == Status.PASS
    tls_only = policy_doc(
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        }
    )
    [r] = run("s3.public_policy", make_snapshot([bucket("b", Policy=tls_only)]))
    assert r.status == Status.FAIL and "Read" in r.summary and r.evidence["statements"][0]["sid"] == "Read"
    restricted = bucket("b", Policy=tls_only, PublicAccessBlock={"RestrictPublicBuckets": True})
    assert run("s3.public_policy", make_snapshot([restricted]))[0].status == Status.PASS


def test_public_policy_trusts_s3_policy_status_too() -> None:
    [r] = run("s3.public_policy", make_snapshot([bucket("b", PolicyStatus={"IsPublic": True})]))
    assert r.status == Status.FAIL and "policy status" in r.summary


def test_cross_account_unknown_without_organisation_and_pass_with_org_condition() -> None:
    shared = policy_doc(
        {"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "s3:GetObject", "Resource": "*"}
    )
    [r] = run(
        "s3.cross_account", make_snapshot([bucket("b", Policy=shared)], org=make_org(members=(), org_id=""))
    )
    assert r.status == Status.UNKNOWN and r.evidence["organisation_known"] is False
    fenced = policy_doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": OUTSIDER},
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": f.ORG_ID}},
        }
    )
    assert run("s3.cross_account", make_snapshot([bucket("b", Policy=fenced)]))[0].status == Status.PASS
    [fail] = run("s3.cross_account", make_snapshot([bucket("b", Policy=shared)]))
    assert fail.exposure == Exposure.EXTERNAL and fail.evidence["statements"][0]["accounts"] == [OUTSIDER]


def test_tls_only_needs_a_deny_of_every_s3_action_on_objects() -> None:
    def deny(action: object, resource: object, value: object = "false") -> object:
        return bucket(
            "b",
            Policy=policy_doc(
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": action,
                    "Resource": resource,
                    "Condition": {"Bool": {"aws:SecureTransport": value}},
                }
            ),
        )

    assert (
        run("s3.tls_only", make_snapshot([deny("s3:GetObject", "arn:aws:s3:::b/*")]))[0].status == Status.FAIL
    )
    assert run("s3.tls_only", make_snapshot([deny("s3:*", "arn:aws:s3:::b")]))[0].status == Status.FAIL
    assert (
        run("s3.tls_only", make_snapshot([deny("*", ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], False)]))[
            0
        ].status
        == Status.PASS
    )


def test_account_block_public_access_lists_the_settings_that_are_off() -> None:
    r = only(
        run(
            "s3.account_public_access_block",
            make_snapshot([account_bpa(BlockPublicAcls=True, IgnorePublicAcls=True)]),
        )
    )
    assert r.status == Status.FAIL and r.evidence["off"] == ["BlockPublicPolicy", "RestrictPublicBuckets"]


def test_log_buckets_include_access_log_targets_and_organisation_trail_buckets() -> None:
    org_trail = trail("org", org_trail=True, account=f.MANAGEMENT, bucket_name="org-logs")
    snap = make_snapshot(
        [
            bucket("app", Logging={"TargetBucket": "access-logs", "TargetPrefix": "app/"}),
            bucket("access-logs"),
            bucket("org-logs"),
            bucket("other"),
        ],
        org=make_org(org_trails=[org_trail]),
    )
    res = {r.subject: r for r in run("s3.log_bucket_versioning", snap)}
    assert set(res) == {"arn:aws:s3:::access-logs", "arn:aws:s3:::org-logs"}
    assert all(r.status == Status.FAIL for r in res.values())
    assert res["arn:aws:s3:::access-logs"].evidence["holds"] == ["access logs of bucket app"]


def test_trail_bucket_in_another_account_is_not_applicable_here() -> None:
    [r] = run("cloudtrail.bucket_public", make_snapshot([trail("t", bucket_name="elsewhere")]))
    assert r.status == Status.NOT_APPLICABLE and r.resource_type == "cloudtrail:trail"


def test_trail_bucket_public_through_acl_fails() -> None:
    [r] = run(
        "cloudtrail.bucket_public",
        make_snapshot([trail("t"), bucket("trail-logs", Acl={"Grants": [ALL_USERS]})]),
    )
    assert r.status == Status.FAIL and r.subject == "arn:aws:s3:::trail-logs" and r.evidence["trails"]


# ----------------------------------------------------------------------------------- multi-region trail
def test_organisation_trail_covers_a_member_account() -> None:
    org_trail = trail("org", org_trail=True, account=f.MANAGEMENT)
    r = only(run("cloudtrail.multi_region", make_snapshot([], org=make_org(org_trails=[org_trail]))))
    assert r.status == Status.PASS and "organisation trail" in r.summary


def test_organisation_trail_does_not_cover_an_account_outside_it() -> None:
    org_trail = trail("org", org_trail=True, account=f.MANAGEMENT)
    snap = make_snapshot(
        [], status="not-in-organisation", org=make_org(members=(MEMBER,), org_trails=[org_trail])
    )
    assert only(run("cloudtrail.multi_region", snap)).status == Status.FAIL


def test_trail_not_logging_or_without_management_events_does_not_count() -> None:
    assert (
        only(run("cloudtrail.multi_region", make_snapshot([trail("t", logging=False)]))).status == Status.FAIL
    )
    data_only = {
        "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False, "DataResources": []}]
    }
    assert (
        only(run("cloudtrail.multi_region", make_snapshot([trail("t", selectors=data_only)]))).status
        == Status.FAIL
    )
    advanced = {
        "AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    }
    assert (
        only(run("cloudtrail.multi_region", make_snapshot([trail("t", selectors=advanced)]))).status
        == Status.PASS
    )
    as_list = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    assert (
        only(run("cloudtrail.multi_region", make_snapshot([trail("t", selectors=as_list)]))).status
        == Status.FAIL
    )
