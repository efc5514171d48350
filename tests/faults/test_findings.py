"""No finding resolved without a successful read of its subject; known failures of healthy regions
kept when another region is unreadable (issue 23, sections 1 and 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from iam_audit import compliance, engine
from iam_audit.choices import CheckState, FindingStatus
from iam_audit.models import CheckResult, Finding
from inventory.models import CoverageRecord
from tests.faults.conftest import Estate

pytestmark = [pytest.mark.django_db, pytest.mark.moto]


def _tls_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def _tls_findings(estate: Estate) -> dict[str, Finding]:
    return {
        f.subject.rsplit(":", 1)[-1]: f
        for f in Finding.objects.filter(account=estate.account, check_id="s3.tls_only")
    }


def _collect_and_check(estate: Estate, services: set[str]) -> engine.EngineSummary:
    estate.collect(services)
    return engine.run_checks(estate.account)


@pytest.mark.parametrize(
    "answer",
    [{"status": 403, "code": "AccessDenied"}, {"status": 500, "code": "InternalError"}],
    ids=["access-denied", "endpoint-broken"],
)
def test_a_finding_whose_subject_could_not_be_read_is_kept_not_resolved(estate: Estate, answer: dict) -> None:
    s3: Any = estate.client("s3")
    for name in ("plain-a", "plain-b", "gone-c"):
        s3.create_bucket(Bucket=name)
    _collect_and_check(estate, {"s3"})
    findings = _tls_findings(estate)
    assert {n: f.status for n, f in findings.items()} == dict.fromkeys(
        ("plain-a", "plain-b", "gone-c"), FindingStatus.OPEN
    )

    # plain-b's policy cannot be read; plain-a still fails; gone-c is deleted
    s3.delete_bucket(Bucket="gone-c")
    estate.proxy.add_rule(service="s3", method="GET", path=r"/plain-b\?policy(=|&|$)", **answer)
    summary = _collect_and_check(estate, {"s3"})
    findings = _tls_findings(estate)
    assert findings["plain-a"].status == FindingStatus.OPEN and not findings["plain-a"].not_evaluated
    held = findings["plain-b"]
    assert held.status == FindingStatus.OPEN and held.resolved_at is None
    assert "Policy" in held.not_evaluated and held.not_evaluated_since is not None
    assert findings["gone-c"].status == FindingStatus.RESOLVED
    assert summary.not_evaluated == 1  # (collection already ran the checks once: gone-c resolved then)
    assert CheckResult.objects.get(account=estate.account, check_id="s3.tls_only").state == CheckState.FAIL

    # read again and really fixed: now it is resolved, and the mark is gone
    estate.proxy.clear_rules()
    s3.put_bucket_policy(Bucket="plain-b", Policy=_tls_policy("plain-b"))
    _collect_and_check(estate, {"s3"})
    fixed = _tls_findings(estate)["plain-b"]
    assert fixed.status == FindingStatus.RESOLVED and not fixed.not_evaluated
    assert fixed.not_evaluated_since is None


def test_a_check_that_cannot_run_holds_all_its_findings(estate: Estate) -> None:
    s3: Any = estate.client("s3")
    s3.create_bucket(Bucket="plain-a")
    _collect_and_check(estate, {"s3"})
    estate.proxy.add_rule(service="s3", operation="GET /", status=403, code="AccessDenied")  # ListBuckets
    _collect_and_check(estate, {"s3"})
    (finding,) = _tls_findings(estate).values()
    assert finding.status == FindingStatus.OPEN
    assert "s3:bucket" in finding.not_evaluated


def test_the_finding_page_and_list_say_not_re_evaluated(
    estate: Estate, client: Any, viewer_user: Any
) -> None:
    s3: Any = estate.client("s3")
    for name in ("plain-a", "plain-b"):
        s3.create_bucket(Bucket=name)
    _collect_and_check(estate, {"s3"})
    estate.proxy.add_rule(
        service="s3", method="GET", path=r"/plain-b\?policy(=|&|$)", status=403, code="AccessDenied"
    )
    _collect_and_check(estate, {"s3"})
    held = _tls_findings(estate)["plain-b"]
    client.force_login(viewer_user)
    page = client.get(held.get_absolute_url()).content.decode()
    assert "Not re-evaluated" in page and "Policy" in page
    listing = client.get(reverse("iam_audit:finding_list")).content.decode()
    assert "not re-evaluated" in listing


def test_a_failure_in_a_healthy_region_stays_a_failure_when_another_is_unreadable(estate: Estate) -> None:
    # EBS encryption by default: off in us-east-1 (moto's default), on in eu-west-1
    ec2: Any = estate.client("ec2", "eu-west-1")
    ec2.enable_ebs_encryption_by_default()
    web: Any = estate.client("ec2", "us-east-1")
    group = web.create_security_group(GroupName="web", Description="web")["GroupId"]
    web.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    other: Any = estate.client("ec2", "eu-west-1")
    far = other.create_security_group(GroupName="far", Description="far")["GroupId"]
    other.authorize_security_group_ingress(
        GroupId=far,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    _collect_and_check(estate, {"ec2"})
    ssh = {f.region: f for f in Finding.objects.filter(check_id="ec2.sg_admin_ports_open")}
    assert set(ssh) == {"us-east-1", "eu-west-1"}

    # eu-west-1's security groups and account settings cannot be read (other calls there answer:
    # a region refused outright is recorded as fenced by an SCP instead, see test_collect_moto)
    for operation in ("DescribeSecurityGroups", "GetEbsEncryptionByDefault"):
        estate.deny(service="ec2", region="eu-west-1", operation=operation)
    _collect_and_check(estate, {"ec2"})
    assert CoverageRecord.objects.filter(region="eu-west-1").exclude(coverage="ok").exists()

    ebs = CheckResult.objects.get(account=estate.account, check_id="ec2.ebs_default_encryption")
    assert ebs.state == CheckState.FAIL and ebs.unknown >= 1
    assert "us-east-1" in ebs.detail and "eu-west-1" in ebs.detail
    (row,) = compliance.matrix([estate.account])
    cell = next(c for c in row.cells if c.check_id == "ec2.ebs_default_encryption")
    assert cell.state == CheckState.FAIL and cell.note and "eu-west-1" in cell.reason

    sg = CheckResult.objects.get(account=estate.account, check_id="ec2.sg_admin_ports_open")
    assert sg.state == CheckState.FAIL
    ssh = {f.region: f for f in Finding.objects.filter(check_id="ec2.sg_admin_ports_open")}
    assert ssh["us-east-1"].status == FindingStatus.OPEN and not ssh["us-east-1"].not_evaluated
    assert ssh["eu-west-1"].status == FindingStatus.OPEN and "eu-west-1" in ssh["eu-west-1"].not_evaluated
