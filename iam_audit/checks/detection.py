"""Detection services: AWS Config, GuardDuty, Security Hub, and the CIS CloudWatch metric-filter alarms."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from iam_audit.checks.base import Item, Result, Severity, Snapshot, Status, check
from iam_audit.checks.cloudtrail import covering_trails, is_logging, trails
from iam_audit.checks.common import (
    account_result,
    as_dict,
    dicts,
    expected_regions,
    is_management,
    is_member,
    join_limited,
    text,
    truthy,
    unavailable,
)

DOC_CONFIG = "https://docs.aws.amazon.com/config/latest/developerguide/stop-start-recorder.html"
DOC_CONFIG_ALL = "https://docs.aws.amazon.com/config/latest/developerguide/select-resources.html"
DOC_GD = "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_settingup.html"
DOC_GD_ORG = "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_organizations.html"
DOC_SH = "https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-settingup.html"
DOC_CW = "https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html"
DOC_CW_CT = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html"


def _regions_result(
    snap: Snapshot,
    ok: dict[str, Any],
    regions: list[str],
    what: str,
    extra: dict[str, Any] | None = None,
    unread: dict[str, Any] | None = None,
) -> Result:
    """PASS when every region is ``ok``; FAIL when one is known not to be; UNKNOWN when the only
    gaps are regions whose state could not be read (``unread``) or no region was collected."""
    missing = [r for r in regions if r not in ok]
    unknown = [r for r in missing if r in (unread or {})]
    evidence = {"regions_checked": regions, "enabled": ok, "missing": missing, **(extra or {})}
    if unknown:
        evidence["not_read"] = {r: (unread or {})[r] for r in unknown}
    if not regions:
        return account_result(snap, Status.UNKNOWN, "No region was collected", evidence)
    if len(missing) > len(unknown):
        off = [r for r in missing if r not in unknown]
        return account_result(snap, Status.FAIL, f"{what} not on in {join_limited(off)}", evidence)
    if unknown:
        return account_result(
            snap, Status.UNKNOWN, f"{what} state could not be read in {join_limited(unknown)}", evidence
        )
    return account_result(snap, Status.PASS, f"{what} on in all {len(regions)} regions", evidence)


# ----------------------------------------------------------------------------------- Config
def _records_everything(recorder: Item) -> bool:
    group = as_dict(as_dict(recorder.data).get("recordingGroup"))
    strategy = as_dict(group.get("recordingStrategy")).get("useOnly")
    if strategy:
        return strategy == "ALL_SUPPORTED_RESOURCE_TYPES"
    return truthy(group.get("allSupported"))


@check(
    id="config.recorder",
    title="AWS Config records in every region in use",
    service="Config",
    scope="account",
    severity=Severity.MEDIUM,
    description="Every region in use has a configuration recorder that is recording all supported resource types.",
    risk="Without Config there is no history of resource configuration to investigate changes or prove compliance.",
    remediation=(
        "1. Prefer deploying Config organisation-wide (Control Tower, or a CloudFormation StackSet).\n"
        "2. Per region: aws configservice put-configuration-recorder --configuration-recorder "
        "name=default,roleARN=<role> --recording-group allSupported=true,includeGlobalResourceTypes=true; "
        "aws configservice put-delivery-channel --delivery-channel name=default,s3BucketName=<bucket>; "
        "aws configservice start-configuration-recorder --configuration-recorder-name default\n"
        "Console: AWS Config > Settings > Edit (Record all resource types)."
    ),
    references=("CIS 3.3", DOC_CONFIG, DOC_CONFIG_ALL),
    requires=("config:recorder",),
    baseline=True,
)
def config_recorder(snap: Snapshot) -> Iterator[Result]:
    regions = expected_regions(snap, "config:recorder")
    ok: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    unread: dict[str, Any] = {}
    for rec in snap.of("config:recorder"):
        if missing := unavailable(rec, ("Status",)):
            unread[rec.region] = missing
            continue
        status = as_dict(as_dict(rec.data).get("Status"))
        issues = []
        if not truthy(status.get("recording")):
            issues.append("not recording")
        if not _records_everything(rec):
            issues.append("not recording all resource types")
        if str(status.get("lastStatus", "")).upper() == "FAILURE":
            issues.append(f"last delivery failed: {text(status.get('lastErrorMessage'), 120)}")
        if issues:
            problems.setdefault(rec.region, []).extend(f"{text(rec.name, 60)}: {i}" for i in issues)
        else:
            ok[rec.region] = text(rec.name, 100)
    for r in list(problems):
        if r in ok:
            problems.pop(r)
    yield _regions_result(snap, ok, regions, "Config recording", {"problems": problems}, unread)


# ----------------------------------------------------------------------------------- GuardDuty
@check(
    id="guardduty.enabled",
    title="GuardDuty enabled in every region in use",
    service="GuardDuty",
    scope="account",
    severity=Severity.HIGH,
    description="Every region in use has an enabled GuardDuty detector, or is covered by the organisation's "
    "GuardDuty auto-enable (delegated administrator).",
    risk="Credential theft, crypto-mining and reconnaissance go undetected.",
    remediation=(
        "1. Prefer organisation-wide: from the delegated admin, aws guardduty update-organization-configuration "
        "--detector-id <id> --auto-enable-organization-members ALL (each region).\n"
        "2. Single account per region: aws guardduty create-detector --enable --region <region>\n"
        "Console: GuardDuty > Get started > Enable GuardDuty."
    ),
    references=(DOC_GD, DOC_GD_ORG),
    requires=("guardduty:detector",),
    baseline=True,
)
def guardduty_enabled(snap: Snapshot) -> Iterator[Result]:
    regions = expected_regions(snap, "guardduty:detector")
    ok: dict[str, Any] = {}
    unread: dict[str, Any] = {}
    for det in snap.of("guardduty:detector"):
        if missing := unavailable(det, ("Detector",)):
            unread[det.region] = missing
            continue
        data = as_dict(det.data)
        if str(data.get("Status", "")).upper() == "ENABLED":
            ok[det.region] = f"detector {text(data.get('DetectorId') or det.resource_id, 80)}"
    in_org = is_member(snap) or is_management(snap)
    for r in snap.org.org_guardduty_regions if in_org else ():
        ok.setdefault(r, "organisation auto-enable")
    yield _regions_result(
        snap,
        ok,
        regions,
        "GuardDuty",
        {"organisation_regions": sorted(snap.org.org_guardduty_regions)},
        unread,
    )


# ----------------------------------------------------------------------------------- Security Hub
@check(
    id="securityhub.enabled",
    title="Security Hub enabled in every region in use",
    service="Security Hub",
    scope="account",
    severity=Severity.HIGH,
    description="Security Hub is subscribed in every region in use.",
    risk="Findings from GuardDuty, Inspector, Config and partner tools are not aggregated or triaged.",
    remediation=(
        "1. Prefer central configuration from the delegated administrator (Security Hub > Configuration > Policies).\n"
        "2. Per region: aws securityhub enable-security-hub --enable-default-standards --region <region>\n"
        "Console: Security Hub > Go to Security Hub > Enable."
    ),
    references=("CIS 4.16", DOC_SH),
    requires=("securityhub:hub",),
    baseline=True,
)
def securityhub_enabled(snap: Snapshot) -> Iterator[Result]:
    regions = expected_regions(snap, "securityhub:hub")
    ok = {h.region: text(as_dict(h.data).get("HubArn") or h.arn, 200) for h in snap.of("securityhub:hub")}
    yield _regions_result(snap, ok, regions, "Security Hub")


# ----------------------------------------------------------------------------------- CIS alarms
@dataclasses.dataclass(frozen=True, slots=True)
class AlarmSpec:
    """One CIS monitoring control: the tokens a metric filter pattern must contain."""

    cis: str
    title: str
    tokens: tuple[str, ...]


def _events(source: str, *names: str) -> tuple[str, ...]:
    head = (f"$.eventsource={source}",) if source else ()
    return head + tuple(f"$.eventname={n.lower()}" for n in names)


CIS_ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec(
        "4.1", "unauthorized API calls", ("$.errorcode=*unauthorizedoperation", "$.errorcode=accessdenied*")
    ),
    AlarmSpec(
        "4.2",
        "console sign-in without MFA",
        ("$.eventname=consolelogin", "$.additionaleventdata.mfaused!=yes"),
    ),
    AlarmSpec("4.3", "root account use", ("$.useridentity.type=root",)),
    AlarmSpec(
        "4.4",
        "IAM policy changes",
        _events(
            "",
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ),
    ),
    AlarmSpec(
        "4.5",
        "CloudTrail configuration changes",
        _events("", "CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"),
    ),
    AlarmSpec(
        "4.6",
        "console authentication failures",
        ("$.eventname=consolelogin", "$.errormessage=failedauthentication"),
    ),
    AlarmSpec(
        "4.7",
        "disabling or deleting customer keys",
        _events("kms.amazonaws.com", "DisableKey", "ScheduleKeyDeletion"),
    ),
    AlarmSpec(
        "4.8",
        "S3 bucket policy changes",
        _events(
            "s3.amazonaws.com",
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        ),
    ),
    AlarmSpec(
        "4.9",
        "AWS Config changes",
        _events(
            "config.amazonaws.com",
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
            "PutDeliveryChannel",
            "PutConfigurationRecorder",
        ),
    ),
    AlarmSpec(
        "4.10",
        "security group changes",
        _events(
            "",
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ),
    ),
    AlarmSpec(
        "4.11",
        "network ACL changes",
        _events(
            "",
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ),
    ),
    AlarmSpec(
        "4.12",
        "network gateway changes",
        _events(
            "",
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        ),
    ),
    AlarmSpec(
        "4.13",
        "route table changes",
        _events(
            "",
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        ),
    ),
    AlarmSpec(
        "4.14",
        "VPC changes",
        _events(
            "",
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
        ),
    ),
    AlarmSpec(
        "4.15",
        "AWS Organizations changes",
        _events(
            "organizations.amazonaws.com",
            "AcceptHandshake",
            "AttachPolicy",
            "CreateAccount",
            "CreateOrganizationalUnit",
            "CreatePolicy",
            "DeclineHandshake",
            "DeleteOrganization",
            "DeleteOrganizationalUnit",
            "DeletePolicy",
            "DetachPolicy",
            "DisablePolicyType",
            "EnablePolicyType",
            "InviteAccountToOrganization",
            "LeaveOrganization",
            "MoveAccount",
            "RemoveAccountFromOrganization",
            "UpdatePolicy",
            "UpdateOrganizationalUnit",
        ),
    ),
)
_SPACE_QUOTES = re.compile(r"[\s\"']+")


def normalise_pattern(pattern: Any) -> str:
    """A filter pattern lower-cased with whitespace and quotes removed, for token matching."""
    return _SPACE_QUOTES.sub("", pattern.lower()) if isinstance(pattern, str) else ""


def pattern_has(pattern: str, token: str) -> bool:
    """``token`` appears in the normalised ``pattern`` as a whole word (CreateRoute is not CreateRouteTable)."""
    return re.search(re.escape(token) + r"(?![a-z0-9_])", pattern) is not None


def _log_group_name(arn: Any) -> str | None:
    if not isinstance(arn, str) or ":log-group:" not in arn:
        return None
    return arn.split(":log-group:", 1)[1].split(":", 1)[0] or None


@check(
    id="cloudwatch.cis_alarms",
    title="CIS metric filters and alarms exist",
    service="CloudWatch",
    scope="account",
    severity=Severity.MEDIUM,
    description="For each CIS monitoring control (unauthorized calls, console sign-in without MFA, root use, IAM / "
    "CloudTrail / KMS / S3 policy / Config / security group / NACL / gateway / route table / VPC / Organizations "
    "changes) a metric filter on the log group of a logging multi-region trail matches the events, and an alarm "
    "with an action watches its metric. Members covered by an organisation trail are monitored in the management "
    "account (not applicable here).",
    risk="Sensitive changes and misuse happen without anyone being told.",
    remediation=(
        "1. Send the multi-region trail to CloudWatch Logs: aws cloudtrail update-trail --name <trail> "
        "--cloud-watch-logs-log-group-arn <arn> --cloud-watch-logs-role-arn <role>\n"
        "2. For each missing control: aws logs put-metric-filter --log-group-name <group> --filter-name <name> "
        "--metric-transformations metricName=<m>,metricNamespace=CISBenchmark,metricValue=1 --filter-pattern '<CIS pattern>'\n"
        "3. aws cloudwatch put-metric-alarm --alarm-name <name> --metric-name <m> --namespace CISBenchmark --statistic Sum "
        "--period 300 --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold --evaluation-periods 1 "
        "--alarm-actions <sns-topic-arn>\n"
        "Console: CloudWatch > Log groups > <group> > Metric filters > Create; then Create alarm."
    ),
    references=tuple(f"CIS {a.cis}" for a in CIS_ALARMS) + (DOC_CW, DOC_CW_CT),
    requires=("logs:metric-filter", "cloudwatch:alarm", "cloudtrail:trail"),
    org_requires=("cloudtrail:trail",),  # members are monitored through the organisation trail
)
def cis_alarms(snap: Snapshot) -> Iterator[Result]:
    groups = {
        g: t.arn
        for t in trails(snap)
        if truthy(as_dict(t.data).get("IsMultiRegionTrail")) and is_logging(t)
        for g in [_log_group_name(as_dict(t.data).get("CloudWatchLogsLogGroupArn"))]
        if g
    }
    if not groups:
        own, org = covering_trails(snap)
        if org and not own and is_member(snap):
            yield account_result(
                snap,
                Status.NOT_APPLICABLE,
                f"Monitored centrally through organisation trail {org[0].name}",
                {"organisation_trails": [t.arn for t in org]},
            )
        else:
            yield account_result(
                snap,
                Status.FAIL,
                "No logging multi-region trail delivers to CloudWatch Logs",
                {"trails": [t.arn for t in trails(snap)]},
            )
        return
    alarms: dict[tuple[str, str, str], list[str]] = {}
    for a in snap.of("cloudwatch:alarm"):
        data = as_dict(a.data)
        if truthy(data.get("ActionsEnabled", True)) and data.get("AlarmActions"):
            key = (a.region, str(data.get("Namespace", "")), str(data.get("MetricName", "")))
            alarms.setdefault(key, []).append(text(data.get("AlarmName") or a.name, 200))
    filters = []
    for f in snap.of("logs:metric-filter"):
        data = as_dict(f.data)
        if data.get("logGroupName") not in groups:
            continue
        metrics = [
            (str(m.get("metricNamespace", "")), str(m.get("metricName", "")))
            for m in dicts(data.get("metricTransformations"))
        ]
        filters.append((f, normalise_pattern(data.get("filterPattern")), metrics))
    controls: list[dict[str, Any]] = []
    for spec in CIS_ALARMS:
        entry: dict[str, Any] = {"cis": spec.cis, "control": spec.title, "filter": None, "alarms": []}
        for f, pattern, metrics in filters:
            if not all(pattern_has(pattern, t) for t in spec.tokens):
                continue
            watching = [n for ns, m in metrics for n in alarms.get((f.region, ns, m), [])]
            entry.update(
                filter=text(as_dict(f.data).get("filterName") or f.name, 200),
                log_group=as_dict(f.data).get("logGroupName"),
            )
            if watching:
                entry["alarms"] = watching
                break
        controls.append(entry)
    missing = [c for c in controls if not c["alarms"]]
    evidence = {"log_groups": groups, "controls": controls}
    if missing:
        names = join_limited([f"{c['cis']} {c['control']}" for c in missing], 3)
        yield account_result(
            snap, Status.FAIL, f"{len(missing)} of {len(CIS_ALARMS)} CIS alarms missing: {names}", evidence
        )
    else:
        yield account_result(
            snap, Status.PASS, f"All {len(CIS_ALARMS)} CIS metric filters have alarms", evidence
        )
