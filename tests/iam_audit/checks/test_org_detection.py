"""Organisation, region and detection checks: membership, management account, SCPs, allowed regions,
GuardDuty / Config / CIS alarms."""

from __future__ import annotations

import pytest

from iam_audit.checks.base import Status
from iam_audit.checks.detection import normalise_pattern, pattern_has
from inventory.records import Coverage
from tests.iam_audit.checks import factories as f
from tests.iam_audit.checks.factories import (
    MANAGEMENT,
    bucket,
    full_coverage,
    make_item,
    make_org,
    make_snapshot,
    only,
    policy_doc,
    role,
    run,
    trail,
)

MGMT = {"environment": "org-root", "account": MANAGEMENT}


# ----------------------------------------------------------------------------------- membership
def test_org_member_unknown_without_organisation_and_failing_when_missing_from_members() -> None:
    assert (
        only(run("org.member", make_snapshot([], org=make_org(members=(), org_id="")))).status
        == Status.UNKNOWN
    )
    assert only(run("org.member", make_snapshot([], org=make_org(members=(f.MEMBER,))))).status == Status.FAIL
    assert only(run("org.member", make_snapshot([], org=make_org(members=()), **MGMT))).status == Status.PASS


def test_root_has_resources_only_judges_the_management_account() -> None:
    instance = make_item("ec2:instance", {"InstanceId": "i-1", "State": {"Name": "running"}})
    assert only(run("org.root_has_resources", make_snapshot([instance]))).status == Status.NOT_APPLICABLE


def test_root_has_resources_ignores_log_buckets_terminated_instances_and_cf_templates() -> None:
    items = [
        trail("org", org_trail=True, account=MANAGEMENT, bucket_name="org-trail"),
        bucket("org-trail"),
        bucket("cf-templates-abc-us-east-1"),
        make_item("ec2:instance", {"InstanceId": "i-1", "State": {"Name": "terminated"}}),
    ]
    r = only(run("org.root_has_resources", make_snapshot(items, **MGMT)))
    assert r.status == Status.PASS and r.evidence["ignored_log_buckets"] == ["org-trail"]


def test_root_has_resources_unknown_when_an_optional_workload_type_was_not_collected() -> None:
    snap = make_snapshot([], **MGMT, missing=["eks:cluster"])
    r = only(run("org.root_has_resources", snap))
    assert r.status == Status.UNKNOWN and r.evidence["not_fully_collected"] == ["eks:cluster"]


def test_root_has_resources_counts_what_it_found() -> None:
    items = [
        bucket("data"),
        make_item("lambda:function", {"FunctionName": "fn"}),
        make_item("lambda:function", {"FunctionName": "fn2"}, resource_id="fn2"),
    ]
    r = only(run("org.root_has_resources", make_snapshot(items, **MGMT)))
    assert r.status == Status.FAIL and r.evidence["count_by_type"] == {"lambda:function": 2, "s3:bucket": 1}


# ----------------------------------------------------------------------------------- SCPs
REGION_FENCE = policy_doc(
    {
        "Effect": "Deny",
        "NotAction": ["iam:*", "organizations:*", "sts:*"],
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}},
    }
)
PROTECT = policy_doc(
    {
        "Effect": "Deny",
        "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "guardduty:*"],
        "Resource": "*",
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/SecurityAdmin"}},
    }
)


def test_scp_guardrails_detected_by_kind() -> None:
    scps = [("p-1", "region-fence", REGION_FENCE), ("p-2", "protect", PROTECT)]
    r = only(run("org.scp_guardrails", make_snapshot([], org=make_org(scps=scps))))
    assert r.status == Status.PASS
    assert r.evidence["present"] == ["region_allow_list", "protect_security_services"] and r.evidence[
        "missing"
    ] == ["deny_leaving"]
    assert r.evidence["guardrails"]["region_allow_list"][0]["allowed_regions"] == ["eu-west-1", "us-east-1"]


def test_region_fence_with_notaction_is_not_counted_as_protecting_security_services() -> None:
    r = only(
        run("org.scp_guardrails", make_snapshot([], org=make_org(scps=[("p-1", "fence", REGION_FENCE)])))
    )
    assert r.evidence["guardrails"]["protect_security_services"] == []


def test_scp_guardrails_not_applicable_to_management_and_unknown_without_scps() -> None:
    assert only(run("org.scp_guardrails", make_snapshot([], **MGMT))).status == Status.NOT_APPLICABLE
    assert only(run("org.scp_guardrails", make_snapshot([]))).status == Status.UNKNOWN
    assert (
        only(run("org.scp_guardrails", make_snapshot([], org=make_org(members=(), org_id="")))).status
        == Status.UNKNOWN
    )


# ----------------------------------------------------------------------------------- regions
def test_no_allow_list_means_every_region_is_allowed() -> None:
    assert only(run("inventory.unexpected_region", make_snapshot([]))).status == Status.NOT_APPLICABLE


def test_aws_created_defaults_settings_and_security_tooling_are_ignored() -> None:
    eu = "eu-west-1"
    items = [
        make_item("ec2:vpc", {"VpcId": "vpc-d", "IsDefault": True}, region=eu),
        make_item("ec2:subnet", {"SubnetId": "s", "DefaultForAz": True}, region=eu),
        make_item("ec2:security-group", {"GroupName": "default"}, region=eu),
        make_item("ec2:network-acl", {"IsDefault": True}, region=eu),
        make_item("ec2:route-table", {"VpcId": "vpc-d"}, region=eu),
        make_item("ec2:internet-gateway", {"Attachments": [{"VpcId": "vpc-d"}]}, region=eu),
        make_item("ec2:account-settings", {"EbsEncryptionByDefault": True}, region=eu),
        make_item("guardduty:detector", {"Status": "ENABLED"}, region=eu),
        make_item("kms:key", {"KeyManager": "AWS"}, region=eu),
        role("global-role"),
    ]
    r = only(run("inventory.unexpected_region", make_snapshot(items, allowed_regions=["us-east-1"])))
    assert r.status == Status.PASS, r.evidence


def test_bucket_in_a_disallowed_region_fails_with_region_summary() -> None:
    r = only(
        run(
            "inventory.unexpected_region",
            make_snapshot([bucket("b", region="eu-west-1")], allowed_regions=["us-east-1"]),
        )
    )
    assert r.status == Status.FAIL and r.evidence["regions"]["eu-west-1"]["count_by_type"] == {"s3:bucket": 1}


def test_unexpected_region_unknown_when_other_types_failed_there() -> None:
    cov = full_coverage()
    cov[("dynamodb:table", "eu-west-1")] = Coverage.DENIED
    cov[("accessanalyzer:analyzer", "eu-west-1")] = Coverage.UNSUPPORTED
    r = only(
        run("inventory.unexpected_region", make_snapshot([], allowed_regions=["us-east-1"], coverage=cov))
    )
    assert r.status == Status.UNKNOWN and r.evidence["not_fully_collected"] == ["dynamodb:table@eu-west-1"]


def test_unexpected_region_unknown_when_regions_were_not_looked_at() -> None:
    # the collection limit (or an SCP) kept the collector out of ap-south-1: it may hold anything
    not_looked_at = {"ap-south-1": "excluded", "us-east-1": "excluded"}
    snap = make_snapshot(
        [], allowed_regions=["us-east-1"], facts={"regions_not_looked_at": not_looked_at, "now": f.NOW}
    )
    r = only(run("inventory.unexpected_region", snap))
    assert r.status == Status.UNKNOWN  # never "clean" because it did not look
    assert r.evidence["regions_not_looked_at"] == {"ap-south-1": "excluded"}  # an allowed region is no gap
    assert r.evidence["not_fully_collected"] == ["ap-south-1 (not looked at: excluded)"]
    # a resource found elsewhere still fails
    found = make_snapshot(
        [bucket("b", region="eu-west-1")],
        allowed_regions=["us-east-1"],
        facts={"regions_not_looked_at": not_looked_at, "now": f.NOW},
    )
    assert only(run("inventory.unexpected_region", found)).status == Status.FAIL


# ----------------------------------------------------------------------------------- detection
def test_guardduty_organisation_auto_enable_covers_members_only() -> None:
    snap = make_snapshot([], org=make_org(guardduty_regions=f.REGIONS))
    assert only(run("guardduty.enabled", snap)).status == Status.PASS
    outside = make_snapshot(
        [], status="not-in-organisation", org=make_org(members=(), guardduty_regions=f.REGIONS)
    )
    assert only(run("guardduty.enabled", outside)).status == Status.FAIL


def test_config_recorder_must_record_everything() -> None:
    partial = {
        "name": "default",
        "recordingGroup": {"allSupported": False, "resourceTypes": ["AWS::EC2::Instance"]},
        "Status": {"recording": True},
    }
    items = [make_item("config:recorder", partial, region=r, resource_id=r) for r in f.REGIONS]
    r = only(run("config.recorder", make_snapshot(items)))
    assert (
        r.status == Status.FAIL
        and "not recording all resource types" in r.evidence["problems"]["us-east-1"][0]
    )


def test_cis_alarm_tokens_match_whole_event_names() -> None:
    pattern = normalise_pattern('{ ($.eventName = "CreateRouteTable") || ($.eventName = DeleteRoute) }')
    assert pattern_has(pattern, "$.eventname=createroutetable")
    assert not pattern_has(pattern, "$.eventname=createroute")
    assert pattern_has(pattern, "$.eventname=deleteroute")


def test_cis_alarms_not_applicable_to_members_monitored_by_an_organisation_trail() -> None:
    org_trail = trail("org", org_trail=True, account=MANAGEMENT, log_group="org-ct")
    assert (
        only(run("cloudwatch.cis_alarms", make_snapshot([], org=make_org(org_trails=[org_trail])))).status
        == Status.NOT_APPLICABLE
    )


def test_cis_alarm_without_an_action_does_not_count() -> None:
    items = [
        trail("main", log_group="ct"),
        make_item(
            "logs:metric-filter",
            {
                "filterName": "root",
                "logGroupName": "ct",
                "filterPattern": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS }',
                "metricTransformations": [{"metricName": "Root", "metricNamespace": "CIS"}],
            },
        ),
        make_item(
            "cloudwatch:alarm",
            {"AlarmName": "root", "MetricName": "Root", "Namespace": "CIS", "AlarmActions": []},
        ),
    ]
    r = only(run("cloudwatch.cis_alarms", make_snapshot(items)))
    root = next(c for c in r.evidence["controls"] if c["cis"] == "4.3")
    assert r.status == Status.FAIL and root["filter"] == "root" and root["alarms"] == []


REAL_CIS_PATTERNS = {
    "4.1": '{($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com")}',
    "4.2": '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
    "4.3": '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}',
    "4.6": "{ ($.eventName = ConsoleLogin) && ($.errorMessage = 'Failed authentication') }",
    "4.7": "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }",
}


@pytest.mark.parametrize(("cis", "pattern"), sorted(REAL_CIS_PATTERNS.items()))
def test_the_benchmark_filter_patterns_are_recognised(cis: str, pattern: str) -> None:
    from iam_audit.checks.detection import CIS_ALARMS

    spec = next(s for s in CIS_ALARMS if s.cis == cis)
    normalised = normalise_pattern(pattern)
    assert all(pattern_has(normalised, t) for t in spec.tokens)


# ----------------------------------------------------------------------------------- accounts outside every OU
def test_an_account_directly_under_the_root_is_outside_every_ou() -> None:
    outside = only(run("org.account_outside_ou", make_snapshot([], org=make_org(parent_path=("Root",)))))
    assert outside.status == Status.FAIL and outside.evidence["parent_path"] == ["Root"]
    nested = only(
        run("org.account_outside_ou", make_snapshot([], org=make_org(parent_path=("Root", "A", "B"))))
    )
    assert nested.status == Status.PASS and "Root/A/B" in nested.summary


def test_the_management_account_under_the_root_and_an_unknown_tree_are_not_failures() -> None:
    mgmt = make_snapshot([], account=MANAGEMENT, environment="org-root", org=make_org(parent_path=("Root",)))
    assert only(run("org.account_outside_ou", mgmt)).status == Status.NOT_APPLICABLE
    unknown = make_snapshot([], org=make_org(parent_path=None))
    assert only(run("org.account_outside_ou", unknown)).status == Status.UNKNOWN
    no_org = make_org(org_id="", members=(), management="", parent_path=None)
    assert only(run("org.account_outside_ou", make_snapshot([], org=no_org))).status == Status.UNKNOWN
