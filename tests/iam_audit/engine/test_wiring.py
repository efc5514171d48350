"""How the engine is wired in: after each collection, as Celery tasks, on the beat schedule, with the
estate-wide organisation context (unknown when the organisation was not collected) and the IAM graph."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.choices import AccountStatus
from iam_audit import engine, priority, tasks
from iam_audit.apps import run_checks_after_collection
from iam_audit.checks import CONTEXT_ONLY_CHECKS
from iam_audit.checks.base import Result, Status
from iam_audit.choices import CheckState, EventKind, FindingStatus, SuppressionReason
from iam_audit.graph import GRAPH_CHECKS
from iam_audit.models import CheckResult, Finding
from inventory import hooks
from inventory.collectors.base import CollectContext
from inventory.models import CollectionRun, RunState, RunTrigger
from inventory.records import GLOBAL_REGION, Coverage, Record
from inventory.services.collect import collect_account
from inventory.services.runs import create_run, queued_stale_after
from tests.factories import AwsAccountFactory, UserFactory
from tests.iam_audit.builders import ORG_TYPES, T0, make_finding, organisation_records, store
from tests.inventory.pages.conftest import make_resource

pytestmark = pytest.mark.django_db

SG_CHECK = "ec2.sg_admin_ports_open"


# what the security-group checks read: the groups and the managed prefix lists their rules may name
SG_TYPES: tuple[str, ...] = ("ec2:security-group", "ec2:managed-prefix-list")


def open_sg(account_id: str, region: str, group_id: str = "sg-0abc", cidr: str = "0.0.0.0/0") -> Record:
    return Record(
        type="ec2:security-group",
        arn=f"arn:aws:ec2:{region}:{account_id}:security-group/{group_id}",
        resource_id=group_id,
        name="web",
        region=region,
        data={
            "GroupId": group_id,
            "GroupName": "web",
            "VpcId": "vpc-1",
            "OwnerId": account_id,
            "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}
            ],
            "IpPermissionsEgress": [],
        },
    )


class _Session:
    partition = "aws"

    def __init__(self) -> None:
        self.unsupported: set[tuple[str, str]] = set()
        self.stats = self

    def client(self, service: str, region: str | None = None) -> tuple[str, str | None]:
        return (service, region)

    def snapshot(self) -> dict[str, Any]:
        return {"totals": {"calls": 1, "attempts": 1, "retries": 0, "errors": 0}}


class _Access:
    def assume(self, target: Any) -> _Session:
        return _Session()

    def regions(self, session: Any, allowed: Sequence[str]) -> list[str]:
        return ["eu-west-1"]


class _SecurityGroups:
    """A regional collector yielding one security group open (or not) on SSH."""

    service: ClassVar[str] = "ec2"
    types: ClassVar[tuple[str, ...]] = SG_TYPES
    scope: ClassVar[str] = "regional"

    def __init__(self, cidr: str) -> None:
        self.cidr = cidr

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        yield open_sg(ctx.account_id, ctx.region, cidr=self.cidr)


def test_checks_run_by_themselves_after_each_collection_of_an_account() -> None:
    assert run_checks_after_collection in hooks.receivers()
    account = AwsAccountFactory(environment="prod")
    run = collect_account(
        account, create_run(account), access=_Access(), collectors=[_SecurityGroups("0.0.0.0/0")]
    )
    assert run.state == RunState.DONE, run.errors
    finding = Finding.objects.get(account=account, check_id=SG_CHECK)
    assert finding.status == FindingStatus.OPEN and finding.resource is not None
    assert CheckResult.objects.get(account=account, check_id=SG_CHECK).state == CheckState.FAIL
    # the next collection sees the rule closed: the same finding resolves, nothing new opens
    collect_account(
        account, create_run(account), access=_Access(), collectors=[_SecurityGroups("10.0.0.0/8")]
    )
    finding.refresh_from_db()
    assert finding.status == FindingStatus.RESOLVED
    assert Finding.objects.filter(account=account, check_id=SG_CHECK).count() == 1


class _GraphCalls:
    """``engine.graph_results`` stand-in: one failing graph result per account, and a count of builds."""

    check_id = next(iter(GRAPH_CHECKS))

    def __init__(self, accounts: Sequence[Any]) -> None:
        self.accounts = accounts
        self.builds = 0

    def __call__(self, now: dt.datetime) -> tuple[dict[str, dict[str, list[Result]]], str]:
        self.builds += 1
        return {
            a.account_id: {
                self.check_id: [
                    Result(
                        subject=f"arn:aws:iam::{a.account_id}:role/x",
                        status=Status.FAIL,
                        summary="reaches prod",
                    )
                ]
            }
            for a in self.accounts
        }, ""

    def failing(self) -> set[str]:
        return set(
            Finding.objects.filter(check_id=self.check_id).values_list("account__account_id", flat=True)
        )


def test_a_batch_evaluates_the_iam_graph_once_by_its_last_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The graph is estate-wide and takes seconds at a hundred accounts: the schedule's batch builds
    it once, when its last run ends, for every account of the batch."""
    accounts = [AwsAccountFactory(environment="prod") for _ in range(3)]
    graph = _GraphCalls(accounts)
    monkeypatch.setattr(engine, "graph_results", graph)
    batch = uuid.uuid4()
    queued = [create_run(a, RunTrigger.SCHEDULE, batch=batch) for a in accounts]

    role = make_resource(accounts[0], type="iam:role", arn=f"arn:aws:iam::{accounts[0].account_id}:role/x")
    for account, run in zip(accounts[:2], queued[:2], strict=True):  # the third is still queued
        done = collect_account(account, run, access=_Access(), collectors=[_SecurityGroups("0.0.0.0/0")])
        assert done.state == RunState.DONE, done.errors
        assert Finding.objects.filter(account=account, check_id=SG_CHECK).exists()  # its own checks ran
    assert (graph.builds, graph.failing()) == (0, set())

    collect_account(accounts[2], queued[2], access=_Access(), collectors=[_SecurityGroups("0.0.0.0/0")])
    assert graph.builds == 1
    assert graph.failing() == {a.account_id for a in accounts}
    # an earlier account's graph finding names its stored resource, as after its own collection
    assert Finding.objects.get(account=accounts[0], check_id=graph.check_id).resource_id == role.pk


def test_a_batch_run_lost_in_the_queue_or_failed_does_not_hold_the_graph_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours, lost, failed = (AwsAccountFactory() for _ in range(3))
    graph = _GraphCalls([ours, lost, failed])
    monkeypatch.setattr(engine, "graph_results", graph)
    batch = uuid.uuid4()
    run = create_run(ours, RunTrigger.SCHEDULE, batch=batch)
    stuck = create_run(lost, RunTrigger.SCHEDULE, batch=batch)
    CollectionRun.objects.filter(pk=stuck.pk).update(
        created=timezone.now() - queued_stale_after() - dt.timedelta(minutes=1)
    )
    gone = create_run(failed, RunTrigger.SCHEDULE, batch=batch)
    CollectionRun.objects.filter(pk=gone.pk).update(state=RunState.FAILED)

    collect_account(ours, run, access=_Access(), collectors=[_SecurityGroups("0.0.0.0/0")])

    assert graph.builds == 1
    assert graph.failing() == {ours.account_id}  # a failed run stored nothing to judge


def test_a_refresh_outside_a_batch_evaluates_the_graph_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    account = AwsAccountFactory()
    graph = _GraphCalls([account])
    monkeypatch.setattr(engine, "graph_results", graph)
    collect_account(
        account, create_run(account), access=_Access(), collectors=[_SecurityGroups("10.0.0.0/8")]
    )
    assert (graph.builds, graph.failing()) == (1, {account.account_id})


def test_a_broken_check_is_reported_on_the_collection_run_and_the_others_are_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = AwsAccountFactory(environment="prod")
    real = engine.checks.evaluate

    def evaluate(chk: Any, snap: Any) -> Any:
        if chk.id == "ec2.default_sg_rules":
            raise RuntimeError("boom <b>")
        return real(chk, snap)

    monkeypatch.setattr(engine.checks, "evaluate", evaluate)
    run = collect_account(
        account, create_run(account), access=_Access(), collectors=[_SecurityGroups("0.0.0.0/0")]
    )
    assert run.state == RunState.DONE
    assert any(e["code"] == "hook-failed" and "ec2.default_sg_rules" in e["message"] for e in run.errors)
    assert Finding.objects.filter(account=account, check_id=SG_CHECK).exists()
    broken = CheckResult.objects.get(account=account, check_id="ec2.default_sg_rules")
    assert broken.state == CheckState.UNKNOWN and "RuntimeError" in broken.detail


def test_run_checks_task_evaluates_one_account_and_ignores_a_deleted_one() -> None:
    account = AwsAccountFactory(environment="dev")
    store(account, "eu-west-1", SG_TYPES, [open_sg(account.account_id, "eu-west-1")])
    outcome = tasks.run_checks.run(account.pk)
    assert outcome is not None and outcome["opened"] >= 1 and outcome["account"] == account.account_id
    assert Finding.objects.filter(account=account, check_id=SG_CHECK, status=FindingStatus.OPEN).exists()
    assert tasks.run_checks.run(account.pk + 1000) is None
    assert tasks.run_checks.name == "iam_audit.run_checks"


def test_expire_suppressions_task_reopens_findings_whose_date_has_come() -> None:
    account = AwsAccountFactory()
    user = UserFactory(security=True)
    ended = make_finding(account)
    lasting = make_finding(account)
    engine.suppress(
        [ended],
        user=user,
        reason=SuppressionReason.ACCEPTED_RISK,
        justification="x",
        until=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
    )
    engine.suppress(
        [lasting],
        user=user,
        reason=SuppressionReason.FALSE_POSITIVE,
        justification="y",
        until=dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
    )
    assert tasks.expire_suppressions.run() == 1
    ended.refresh_from_db()
    lasting.refresh_from_db()
    assert ended.status == FindingStatus.REOPENED and ended.events.filter(kind=EventKind.EXPIRED).exists()
    assert lasting.status == FindingStatus.SUPPRESSED


def test_the_daily_expiry_is_on_the_beat_schedule() -> None:
    task = PeriodicTask.objects.get(task="iam_audit.expire_suppressions")
    assert task.enabled and task.crontab is not None
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("15", "3", "*")


# --- the organisation context --------------------------------------------------------------------


def _estate(member_coverage: Coverage = Coverage.OK) -> tuple[Any, Any]:
    management = AwsAccountFactory(account_id="111111111111", environment="org-root")
    member = AwsAccountFactory(account_id="222222222222", environment="dev")
    coverage = {t: Coverage.OK for t in ORG_TYPES}
    coverage["organizations:account"] = member_coverage
    store(
        management,
        GLOBAL_REGION,
        ORG_TYPES,
        organisation_records(management.account_id, [member.account_id]),
        coverage,
    )
    return management, member


def _org_member_state(account: Any) -> CheckResult:
    engine.run_account(account, now=T0)
    return CheckResult.objects.get(account=account, check_id="org.member")


def test_context_only_checks_are_listed_and_read_no_resource_types() -> None:
    catalogue = engine.catalogue()
    assert CONTEXT_ONLY_CHECKS and all(catalogue[c].requires == () for c in CONTEXT_ONLY_CHECKS)


def test_org_membership_passes_when_the_organisation_was_collected_completely() -> None:
    _, member = _estate()
    assert _org_member_state(member).state == CheckState.PASS


def test_org_membership_is_unknown_when_the_organisation_was_never_collected() -> None:
    member = AwsAccountFactory(account_id="222222222222", environment="dev")
    result = _org_member_state(member)
    assert result.state == CheckState.UNKNOWN and "not collected" in result.detail
    assert not Finding.objects.filter(check_id="org.member").exists()


def test_org_membership_is_unknown_not_failed_when_the_account_listing_failed() -> None:
    # The organisation record is there, but its member list was not collected completely: a stale
    # or empty list must not make members look like outsiders.
    management, _ = _estate(member_coverage=Coverage.DENIED)
    outsider = AwsAccountFactory(account_id="333333333333", environment="dev")
    result = _org_member_state(outsider)
    assert result.state == CheckState.UNKNOWN
    assert "organizations:account" in result.detail and management.account_id in result.detail
    scp = CheckResult.objects.get(account=outsider, check_id="org.scp_guardrails")
    assert scp.state == CheckState.UNKNOWN


def test_org_membership_fails_for_an_account_outside_a_completely_collected_organisation() -> None:
    _estate()
    outsider = AwsAccountFactory(account_id="333333333333", environment="dev")
    assert _org_member_state(outsider).state == CheckState.FAIL
    assert Finding.objects.get(account=outsider, check_id="org.member").status == FindingStatus.OPEN


def test_the_registry_saying_not_in_organisation_still_fails_without_organisation_data() -> None:
    account = AwsAccountFactory(account_id="444444444444", status=AccountStatus.NOT_IN_ORG)
    assert _org_member_state(account).state == CheckState.FAIL


def test_a_failing_organisation_collection_keeps_existing_membership_findings() -> None:
    _estate()
    outsider = AwsAccountFactory(account_id="333333333333", environment="dev")
    _org_member_state(outsider)
    management = outsider.__class__.objects.get(account_id="111111111111")
    store(
        management,
        GLOBAL_REGION,
        ORG_TYPES,
        [],
        {t: Coverage.FAILED for t in ORG_TYPES},
        at=T0 + dt.timedelta(days=1),
    )
    engine.run_account(outsider, now=T0 + dt.timedelta(days=1))
    assert Finding.objects.get(account=outsider, check_id="org.member").status == FindingStatus.OPEN


# --- the IAM graph and the catalogue ---------------------------------------------------------------


def test_the_catalogue_holds_every_registered_check_and_the_graph_checks() -> None:
    from iam_audit.checks.base import all_checks
    from iam_audit.graph import GRAPH_CHECKS

    catalogue = engine.catalogue()
    assert {c.id for c in all_checks()} | set(GRAPH_CHECKS) == set(catalogue)
    assert list(catalogue) == sorted(catalogue)


def test_graph_results_become_findings_with_the_graph_checks_metadata() -> None:
    from iam_audit.graph import GRAPH_CHECKS

    check_id = next(iter(GRAPH_CHECKS))
    account = AwsAccountFactory(environment="prod")
    subject = f"arn:aws:iam::{account.account_id}:user/alice"
    engine.run_checks(
        account,
        now=T0,
        only=[check_id],
        extra_results={check_id: [Result(subject=subject, status=Status.FAIL, summary="alice reaches prod")]},
    )
    finding = Finding.objects.get(account=account, check_id=check_id)
    assert finding.title == GRAPH_CHECKS[check_id].title
    assert finding.severity == str(GRAPH_CHECKS[check_id].severity)


def test_without_the_graph_module_the_graph_checks_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    real = engine.importlib.import_module

    def import_module(name: str, *args: Any) -> Any:
        if name == "iam_audit.graph_store":
            raise ModuleNotFoundError("No module named 'iam_audit.graph_store'", name="iam_audit.graph_store")
        return real(name, *args)

    monkeypatch.setattr(engine.importlib, "import_module", import_module)
    assert engine.graph_results(T0) == ({}, "")


def test_a_failing_graph_is_reported_and_the_other_checks_still_run(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        @staticmethod
        def graph_results_by_account(now: Any) -> Any:
            raise ValueError("graph exploded")

    real = engine.importlib.import_module
    monkeypatch.setattr(
        engine.importlib,
        "import_module",
        lambda name, *a: Broken if name == "iam_audit.graph_store" else real(name, *a),
    )
    account = AwsAccountFactory(environment="dev")
    store(account, "eu-west-1", SG_TYPES, [open_sg(account.account_id, "eu-west-1")])
    summary = engine.run_account(account, now=T0)
    assert any("graph exploded" in e for e in summary.errors)
    assert Finding.objects.filter(account=account, check_id=SG_CHECK).exists()


def test_priority_explanation_reads_as_the_sum_it_is() -> None:
    score, terms = priority.score("high", "prod", "internet")
    assert score == 135
    assert (
        priority.explain(terms, score)
        == "severity high 70 × environment prod 1.5 + exposure internet 30 = 135"
    )
    assert priority.explain(
        [{"label": "x"}, "junk", {"label": "severity low", "value": 15, "op": "base"}], 15
    ) == ("severity low 15 = 15")
    assert priority.explain(None) == ""


# --- checks that read the management account's organisation trail --------------------------------


def _trail(account_id: str, *, organisation: bool) -> Record:
    arn = f"arn:aws:cloudtrail:us-east-1:{account_id}:trail/org-trail"
    return Record(
        type="cloudtrail:trail",
        arn=arn,
        resource_id=arn,
        name="org-trail",
        region="us-east-1",
        data={
            "Name": "org-trail",
            "TrailARN": arn,
            "HomeRegion": "us-east-1",
            "IsMultiRegionTrail": True,
            "IsOrganizationTrail": organisation,
            "S3BucketName": "log-archive",
            "Status": {"IsLogging": True},
        },
    )


def _trail_state(member: Any) -> CheckResult:
    engine.run_account(member, now=T0, graph=False)
    return CheckResult.objects.get(account=member, check_id="cloudtrail.multi_region")


def _collect_trails(account: Any, records: Sequence[Record]) -> None:
    store(account, "us-east-1", ["cloudtrail:trail"], records, {"cloudtrail:trail": Coverage.OK})


def test_a_member_without_a_trail_is_unknown_until_the_management_account_trails_are_collected() -> None:
    management, member = _estate()
    _collect_trails(member, [])  # the member has no trail of its own
    result = _trail_state(member)
    assert result.state == CheckState.UNKNOWN
    assert "cloudtrail:trail" in result.detail and management.account_id in result.detail
    assert not Finding.objects.filter(check_id="cloudtrail.multi_region").exists()
    # the management account's organisation trail is in: the member is covered, and never failed
    _collect_trails(management, [_trail(management.account_id, organisation=True)])
    assert _trail_state(member).state == CheckState.PASS
    assert not Finding.objects.filter(check_id="cloudtrail.multi_region").exists()


def test_a_member_without_a_trail_fails_once_the_management_account_has_none_for_it() -> None:
    management, member = _estate()
    _collect_trails(member, [])
    _collect_trails(management, [_trail(management.account_id, organisation=False)])  # its own only
    assert _trail_state(member).state == CheckState.FAIL
    assert (
        Finding.objects.get(check_id="cloudtrail.multi_region", account=member).status == FindingStatus.OPEN
    )


def test_a_member_with_its_own_trail_passes_without_waiting_for_the_management_account() -> None:
    _, member = _estate()
    _collect_trails(member, [_trail(member.account_id, organisation=False)])
    assert _trail_state(member).state == CheckState.PASS
