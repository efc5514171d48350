"""The first collection of an estate never resolves a finding it opened.

Checks that need another account's data (the organisation trail and its alarms, collected in the
management account; the organisation's SCPs and members, for the IAM graph) answer "unknown" until
that data is in, instead of failing for want of it and passing a minute later. Collected here the
way ``make demo`` does (``manage.py collect --all``: one account after the other, checks after each)
with the management account last, the order that starves the members the longest, then checked
again for the whole estate (``manage.py run_checks --all``).
"""

from __future__ import annotations

import pytest

from iam_audit import engine, graph_store
from iam_audit.choices import EventKind, FindingStatus
from iam_audit.models import CheckResult, Finding, FindingEvent
from inventory.models import RunState
from inventory.services.collect import AwsAccess, collect_account
from inventory.services.runs import create_run

pytestmark = [pytest.mark.django_db, pytest.mark.moto, pytest.mark.slow]

# what the organisation-wide checks read from the management account
ORG_TRAIL_CHECKS = ("cloudtrail.multi_region", "cloudwatch.cis_alarms")


def test_the_first_collection_never_resolves_a_finding_it_opened() -> None:
    from tests.inventory.simulation.support import make_hub, register_accounts, shared_estate

    _, estate = shared_estate()
    hub = make_hub(estate)
    accounts = register_accounts(estate, management_last=True)
    members = [a for a in accounts if a.account_id != estate.management_account_id]
    graph_store.invalidate()

    unknown_before_management: dict[str, set[str]] = {}
    for account in accounts:
        run = collect_account(account, create_run(account), access=AwsAccess(hub), region_workers=2)
        assert run.state in (RunState.DONE, RunState.PARTIAL), (account.name, run.message, run.errors[:3])
        if account.account_id != estate.management_account_id:
            # the organisation trail lives in the management account, not collected yet: unknown
            states = dict(
                CheckResult.objects.filter(account=account, check_id__in=ORG_TRAIL_CHECKS).values_list(
                    "check_id", "state"
                )
            )
            unknown_before_management[account.name] = {c for c, s in states.items() if s == "unknown"}
        assert not FindingEvent.objects.filter(kind=EventKind.RESOLVED).exists(), account.name

    assert all(set(ORG_TRAIL_CHECKS) <= v for v in unknown_before_management.values()), (
        unknown_before_management
    )
    opened = set(Finding.objects.values_list("key", flat=True))
    assert opened  # the estate has its planted mistakes

    summaries = engine.run_all()
    assert not [e for s in summaries for e in s.errors]
    resolved = Finding.objects.filter(status=FindingStatus.RESOLVED)
    assert not resolved.exists(), [(f.check_id, f.subject, f.summary) for f in resolved]
    assert not FindingEvent.objects.filter(kind=EventKind.RESOLVED).exists()
    # every finding the collection opened is still there; the organisation-wide checks now have a result
    assert opened <= set(Finding.objects.values_list("key", flat=True))
    for member in members:
        states = dict(
            CheckResult.objects.filter(account=member, check_id__in=ORG_TRAIL_CHECKS).values_list(
                "check_id", "state"
            )
        )
        assert "unknown" not in states.values(), (member.name, states)
