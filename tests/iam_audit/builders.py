"""Builders for the audit's database tests: findings and check results straight in the tables,
and stored inventory (through the real ingest) for tests that run the engine."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from accounts.models import AwsAccount
from iam_audit import priority
from iam_audit.choices import SEVERITY_ORDER, CheckState, EventKind, FindingStatus
from iam_audit.models import CheckResult, Finding, FindingEvent, finding_key
from inventory.records import GLOBAL_REGION, Coverage, Record
from inventory.services.ingest import ingest

# Midnight (UTC) a week before the tests started: inside every "last N days" view (the home page's
# trend counts 30), with room on both sides for times a test places before or after it.
T0 = dt.datetime.combine(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=7), dt.time.min, tzinfo=dt.UTC)
_counter = itertools.count(1)


def make_finding(account: AwsAccount, **fields: Any) -> Finding:
    """A finding row with sensible defaults (an open, high, internet-exposed security group)."""
    n = next(_counter)
    check_id = fields.pop("check_id", "ec2.sg_admin_ports_open")
    subject = fields.pop("subject", f"arn:aws:ec2:eu-west-1:{account.account_id}:security-group/sg-{n:08x}")
    severity = fields.pop("severity", "high")
    # the real score of the finding; a test that sets ``priority`` keeps these terms as they are
    score, terms = priority.score(severity, account.environment, fields.get("exposure", "internet"))
    values: dict[str, Any] = {
        "key": finding_key(check_id, account.account_id, subject),
        "check_id": check_id,
        "account": account,
        "subject": subject,
        "region": "eu-west-1",
        "resource_type": "ec2:security-group",
        "title": "Security group open to the internet on admin ports",
        "summary": f"sg-{n:08x} allows 0.0.0.0/0 on 22",
        "service": "EC2",
        "severity": severity,
        "severity_rank": SEVERITY_ORDER.get(severity, 4),
        "priority": score,
        "priority_explanation": terms,
        "exposure": "internet",
        "evidence": {"rule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}},
        "status": FindingStatus.OPEN,
        "first_seen": T0,
        "last_seen": T0,
    }
    values.update(fields)
    finding = Finding.objects.create(**values)
    FindingEvent.objects.create(
        finding=finding, at=values["first_seen"], kind=EventKind.OPENED, note="opened"
    )
    return finding


def set_result(
    account: AwsAccount, check_id: str, state: str, detail: str = "", *, failed: int = 0, passed: int = 0
) -> CheckResult:
    """Store the latest outcome of one check for one account."""
    counts = {"passed": passed, "failed": failed, "unknown": 0, "not_applicable": 0}
    if state == CheckState.PASS and not passed:
        counts["passed"] = 1
    if state == CheckState.FAIL and not failed:
        counts["failed"] = 1
    if state == CheckState.UNKNOWN:
        counts["unknown"] = 1
    if state == CheckState.NOT_APPLICABLE:
        counts["not_applicable"] = 1
    result, _ = CheckResult.objects.update_or_create(
        account=account,
        check_id=check_id,
        defaults={"state": state, "detail": detail, "evaluated_at": T0, **counts},
    )
    return result


def store(
    account: AwsAccount,
    region: str,
    types: Iterable[str],
    records: Iterable[Record],
    coverage: Mapping[str, Coverage] | None = None,
    at: dt.datetime = T0,
) -> None:
    """Store records as one complete collection pass (coverage OK for every type unless given)."""
    types = list(types)
    ingest(
        account,
        region,
        types,
        list(records),
        dict(coverage) if coverage is not None else {t: Coverage.OK for t in types},
        seen_at=at,
    )


def organisation_records(
    management_id: str, member_ids: Iterable[str], org_id: str = "o-testorg123"
) -> list[Record]:
    """The organisation as the organizations collector stores it from the management account."""
    records = [
        Record(
            type="organizations:organization",
            arn=f"arn:aws:organizations::{management_id}:organization/{org_id}",
            resource_id=org_id,
            name=org_id,
            region=GLOBAL_REGION,
            data={"Id": org_id, "MasterAccountId": management_id, "Roots": []},
        )
    ]
    for account_id in [management_id, *member_ids]:
        records.append(
            Record(
                type="organizations:account",
                arn=f"arn:aws:organizations::{management_id}:account/{org_id}/{account_id}",
                resource_id=account_id,
                name=f"acct-{account_id}",
                region=GLOBAL_REGION,
                data={"Id": account_id, "Status": "ACTIVE", "PolicyIds": []},
            )
        )
    return records


ORG_TYPES = (
    "organizations:organization",
    "organizations:account",
    "organizations:ou",
    "organizations:policy",
)
