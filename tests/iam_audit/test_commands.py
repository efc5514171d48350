"""``manage.py run_checks`` and ``manage.py export_findings``."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from iam_audit import engine
from iam_audit.choices import FindingStatus
from iam_audit.models import CheckResult, Finding
from tests.factories import AwsAccountFactory
from tests.iam_audit.builders import T0, make_finding, store
from tests.iam_audit.engine.test_wiring import SG_CHECK, SG_TYPES, open_sg

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- run_checks ----------------------------------------------------------------------------------


def test_run_checks_evaluates_the_named_accounts_from_stored_data_with_a_line_each() -> None:
    one = AwsAccountFactory(account_id="100000000001", environment="prod")
    two = AwsAccountFactory(account_id="100000000002")
    store(one, "eu-west-1", SG_TYPES, [open_sg(one.account_id, "eu-west-1")])
    out, _ = run("run_checks", "--account", one.account_id)
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("100000000001: ") and "opened" in lines[0]
    assert Finding.objects.filter(account=one, check_id=SG_CHECK, status=FindingStatus.OPEN).exists()
    assert not CheckResult.objects.filter(account=two).exists()
    out, _ = run("run_checks", "--all")
    assert {line.split(":")[0] for line in out.strip().splitlines()} == {"100000000001", "100000000002"}
    assert "0 opened" in [line for line in out.splitlines() if line.startswith("100000000001")][0]


def test_run_checks_refuses_bad_or_unknown_accounts_and_needs_a_choice() -> None:
    with pytest.raises(CommandError, match="12-digit"):
        run("run_checks", "--account", "12345")
    with pytest.raises(CommandError, match="Not registered"):
        run("run_checks", "--account", "999999999999")
    with pytest.raises(CommandError):
        run("run_checks")


def test_run_checks_exits_non_zero_when_a_check_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    AwsAccountFactory(account_id="100000000003")
    real = engine.checks.evaluate

    def evaluate(chk: Any, snap: Any) -> Any:
        if chk.id == "vpc.flow_logs":
            raise KeyError("VpcId")
        return real(chk, snap)

    monkeypatch.setattr(engine.checks, "evaluate", evaluate)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 check evaluation"):
        call_command("run_checks", "--all", stdout=out, stderr=err)
    assert "100000000003:" in out.getvalue() and "vpc.flow_logs: KeyError" in err.getvalue()


# --- findings ------------------------------------------------------------------------------------


@pytest.fixture
def findings() -> dict[str, Finding]:
    a = AwsAccountFactory(account_id="200000000001", name="alpha")
    b = AwsAccountFactory(account_id="200000000002", name="beta")
    return {
        "open": make_finding(a, priority=90, summary="=2+3 evil", title="Open one"),
        "resolved": make_finding(a, priority=80, status=FindingStatus.RESOLVED),
        "other": make_finding(b, priority=70, severity="low", subject="-arn-like"),
    }


def test_findings_as_json_is_a_list_ordered_by_priority(findings: dict[str, Finding]) -> None:
    data = json.loads(run("export_findings")[0])
    assert [d["priority"] for d in data] == [90, 80, 70]
    first = data[0]
    assert (
        first["check_id"] == SG_CHECK and first["account_id"] == "200000000001" and first["status"] == "open"
    )
    assert first["first_seen"].startswith(T0.date().isoformat()) and first["resource_id"] == ""
    assert (
        json.loads(run("export_findings", "--status", "open", "--account", "200000000001")[0])[0]["title"]
        == "Open one"
    )
    assert len(json.loads(run("export_findings", "--status", "open")[0])) == 2
    assert json.loads(run("export_findings", "--account", "200000000009")[0]) == []


def test_findings_as_json_carry_evidence_remediation_and_the_resources_named(
    findings: dict[str, Finding],
) -> None:
    account = findings["open"].account
    root = f"arn:aws:iam::{account.account_id}:root"
    named = [f"arn:aws:lambda:ap-southeast-2:{account.account_id}:function:stray", "arn:aws:s3:::stray"]
    make_finding(
        account,
        check_id="inventory.unexpected_region",
        subject=root,
        priority=95,
        evidence={
            "regions": {"ap-southeast-2": {}},
            "resources": [{"arn": a} for a in named] + [{"arn": root}],
        },
    )
    data = json.loads(run("export_findings", "--status", "open")[0])
    account_level, resource_level = data[0], data[1]
    assert account_level["check_id"] == "inventory.unexpected_region" and account_level["resources"] == named
    assert account_level["remediation"] == engine.catalogue()["inventory.unexpected_region"].remediation
    assert account_level["evidence"]["resources"][0]["arn"] == named[0]
    assert resource_level["resources"] == [findings["open"].subject]
    assert resource_level["evidence"] == findings["open"].evidence and resource_level["risk"]


def test_findings_as_csv_neutralises_formulas(findings: dict[str, Finding]) -> None:
    rows = list(csv.reader(io.StringIO(run("export_findings", "--format", "csv", "--status", "open")[0])))
    header = rows[0]
    assert header[:5] == ["check_id", "title", "severity", "priority", "status"]
    by_summary = {row[header.index("summary")]: row for row in rows[1:]}
    assert "'=2+3 evil" in by_summary
    assert any(row[header.index("arn")] == "'-arn-like" for row in rows[1:])


def test_findings_refuses_malformed_account_ids() -> None:
    with pytest.raises(CommandError, match="12-digit"):
        run("export_findings", "--account", "abc")
