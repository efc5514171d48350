"""The engine over stored data: findings open, stay, resolve, reopen; suppression survives and expires."""

from __future__ import annotations

import datetime as dt

import pytest

from iam_audit import engine
from iam_audit.choices import CheckState, EventKind, FindingStatus, SuppressionReason
from iam_audit.models import CheckResult, Finding, FindingEvent
from inventory.records import GLOBAL_REGION, Coverage, Record
from inventory.services.ingest import ingest
from tests.factories import AwsAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

FindingEventValues = FindingEvent.objects.order_by("pk").values_list("pk", "kind", "finding_id")

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _sg(account_id: str, open_ssh: bool) -> Record:
    cidr = "0.0.0.0/0" if open_ssh else "10.0.0.0/8"
    return Record(
        type="ec2:security-group",
        arn=f"arn:aws:ec2:eu-west-1:{account_id}:security-group/sg-0123",
        resource_id="sg-0123",
        name="web",
        region="eu-west-1",
        data={
            "GroupId": "sg-0123",
            "GroupName": "web",
            "VpcId": "vpc-1",
            "OwnerId": account_id,
            "IpPermissions": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 22,
                    "ToPort": 22,
                    "IpRanges": [{"CidrIp": cidr}],
                    "Ipv6Ranges": [],
                    "UserIdGroupPairs": [],
                }
            ],
            "IpPermissionsEgress": [],
        },
    )


def _collect(account, open_ssh: bool, at: dt.datetime) -> None:  # noqa: ANN001
    ingest(
        account,
        "eu-west-1",
        ["ec2:security-group", "ec2:managed-prefix-list"],  # what the check reads
        [_sg(account.account_id, open_ssh)],
        {"ec2:security-group": Coverage.OK, "ec2:managed-prefix-list": Coverage.OK},
        seen_at=at,
    )


def _finding(account) -> Finding:  # noqa: ANN001
    return Finding.objects.get(account=account, check_id="ec2.sg_admin_ports_open")


def test_open_resolve_reopen_across_runs_keeps_history() -> None:
    account = AwsAccountFactory(environment="prod")
    _collect(account, open_ssh=True, at=T0)
    engine.run_checks(account, now=T0, only=["ec2.sg_admin_ports_open"])
    finding = _finding(account)
    assert finding.status == FindingStatus.OPEN and finding.resource is not None
    assert finding.evidence and "22" in finding.summary

    engine.run_checks(account, now=T0 + dt.timedelta(hours=6), only=["ec2.sg_admin_ports_open"])
    assert _finding(account).status == FindingStatus.OPEN
    assert _finding(account).last_seen == T0 + dt.timedelta(hours=6)

    _collect(account, open_ssh=False, at=T0 + dt.timedelta(days=1))
    engine.run_checks(account, now=T0 + dt.timedelta(days=1), only=["ec2.sg_admin_ports_open"])
    assert _finding(account).status == FindingStatus.RESOLVED

    _collect(account, open_ssh=True, at=T0 + dt.timedelta(days=2))
    engine.run_checks(account, now=T0 + dt.timedelta(days=2), only=["ec2.sg_admin_ports_open"])
    finding = _finding(account)
    assert finding.status == FindingStatus.REOPENED
    assert finding.first_seen == T0
    assert [e.kind for e in finding.events.all()] == [
        EventKind.OPENED,
        EventKind.RESOLVED,
        EventKind.REOPENED,
    ]


def test_suppression_survives_runs_and_ends_at_expiry() -> None:
    account = AwsAccountFactory(environment="dev")
    user = UserFactory(security=True)
    _collect(account, open_ssh=True, at=T0)
    engine.run_checks(account, now=T0, only=["ec2.sg_admin_ports_open"])
    until = T0 + dt.timedelta(days=3)
    engine.suppress(
        [_finding(account)],
        user=user,
        reason=SuppressionReason.ACCEPTED_RISK,
        justification="bastion, IP allow-listed upstream",
        until=until,
        now=T0,
    )
    engine.run_checks(account, now=T0 + dt.timedelta(days=1), only=["ec2.sg_admin_ports_open"])
    finding = _finding(account)
    assert finding.status == FindingStatus.SUPPRESSED and finding.suppressed_by == user
    engine.run_checks(account, now=T0 + dt.timedelta(days=4), only=["ec2.sg_admin_ports_open"])
    finding = _finding(account)
    assert finding.status == FindingStatus.REOPENED
    assert finding.events.filter(kind=EventKind.EXPIRED).exists()


def test_uncollected_data_is_unknown_and_changes_no_finding() -> None:
    account = AwsAccountFactory(environment="prod")
    _collect(account, open_ssh=True, at=T0)
    engine.run_checks(account, now=T0, only=["ec2.sg_admin_ports_open"])
    # the next pass of security groups fails: coverage says FAILED, the finding stays as it was
    ingest(
        account,
        "eu-west-1",
        ["ec2:security-group"],
        [],
        {"ec2:security-group": Coverage.FAILED},
        seen_at=T0 + dt.timedelta(days=1),
    )
    summary = engine.run_checks(account, now=T0 + dt.timedelta(days=1), only=["ec2.sg_admin_ports_open"])
    assert summary.unknown_checks == 1
    assert _finding(account).status == FindingStatus.OPEN
    result = CheckResult.objects.get(account=account, check_id="ec2.sg_admin_ports_open")
    assert result.state == CheckState.UNKNOWN


def test_account_check_without_data_is_unknown_not_pass() -> None:
    account = AwsAccountFactory(environment="prod")
    engine.run_checks(account, now=T0, only=["guardduty.enabled"])
    assert CheckResult.objects.get(account=account, check_id="guardduty.enabled").state == CheckState.UNKNOWN
    assert not Finding.objects.filter(account=account).exists()
    assert GLOBAL_REGION == "global"


def test_running_twice_on_the_same_data_changes_nothing_the_second_time() -> None:
    account = AwsAccountFactory(environment="prod")
    _collect(account, open_ssh=True, at=T0)
    first = engine.run_checks(account, now=T0)
    events = list(FindingEventValues.all())
    second = engine.run_checks(account, now=T0)
    assert first.opened >= 1 and second.opened == second.reopened == second.resolved == 0
    assert list(FindingEventValues.all()) == events


def test_a_finding_that_comes_back_while_suppressed_stays_suppressed() -> None:
    account = AwsAccountFactory(environment="prod")
    user = UserFactory(security=True)
    _collect(account, open_ssh=True, at=T0)
    engine.run_checks(account, now=T0, only=["ec2.sg_admin_ports_open"])
    engine.suppress(
        [_finding(account)], user=user, reason=SuppressionReason.FALSE_POSITIVE, justification="lab", now=T0
    )
    _collect(account, open_ssh=False, at=T0 + dt.timedelta(days=1))
    engine.run_checks(account, now=T0 + dt.timedelta(days=1), only=["ec2.sg_admin_ports_open"])
    assert _finding(account).status == FindingStatus.RESOLVED
    _collect(account, open_ssh=True, at=T0 + dt.timedelta(days=2))
    summary = engine.run_checks(account, now=T0 + dt.timedelta(days=2), only=["ec2.sg_admin_ports_open"])
    finding = _finding(account)
    assert (
        finding.status == FindingStatus.SUPPRESSED and summary.reopened == 0 and summary.suppressed_kept == 1
    )
    assert "suppression still holds" in finding.events.order_by("-at", "-pk").first().note


def test_lifting_the_suppression_of_a_resolved_finding_keeps_it_resolved() -> None:
    account = AwsAccountFactory(environment="prod")
    user = UserFactory(security=True)
    _collect(account, open_ssh=True, at=T0)
    engine.run_checks(account, now=T0, only=["ec2.sg_admin_ports_open"])
    engine.suppress(
        [_finding(account)], user=user, reason=SuppressionReason.ACCEPTED_RISK, justification="x", now=T0
    )
    _collect(account, open_ssh=False, at=T0 + dt.timedelta(days=1))
    engine.run_checks(account, now=T0 + dt.timedelta(days=1), only=["ec2.sg_admin_ports_open"])
    assert engine.unsuppress([_finding(account)], user=user) == 1
    finding = _finding(account)
    assert finding.status == FindingStatus.RESOLVED and finding.suppression_reason == ""
    # and when it fails again, it reopens: nothing suppresses it any more
    _collect(account, open_ssh=True, at=T0 + dt.timedelta(days=2))
    engine.run_checks(account, now=T0 + dt.timedelta(days=2), only=["ec2.sg_admin_ports_open"])
    assert _finding(account).status == FindingStatus.REOPENED


def test_priority_grows_with_age_and_says_so() -> None:
    account = AwsAccountFactory(environment="prod")
    _collect(account, open_ssh=True, at=T0)
    engine.run_checks(account, now=T0, only=["ec2.sg_admin_ports_open"])
    fresh = _finding(account).priority
    engine.run_checks(account, now=T0 + dt.timedelta(weeks=3), only=["ec2.sg_admin_ports_open"])
    finding = _finding(account)
    assert finding.priority == fresh + 3
    assert {"label": "open for 3 week(s)", "value": 3, "op": "+"} in finding.priority_explanation


def test_a_deleted_resource_resolves_its_finding() -> None:
    account = AwsAccountFactory(environment="prod")
    _collect(account, open_ssh=True, at=T0)
    engine.run_checks(account, now=T0, only=["ec2.sg_admin_ports_open"])
    # a complete pass that no longer sees the group
    ingest(
        account,
        "eu-west-1",
        ["ec2:security-group"],
        [],
        {"ec2:security-group": Coverage.OK},
        seen_at=T0 + dt.timedelta(days=1),
    )
    engine.run_checks(account, now=T0 + dt.timedelta(days=1), only=["ec2.sg_admin_ports_open"])
    assert _finding(account).status == FindingStatus.RESOLVED
