"""Graph findings through the check engine: stored as findings with the graph checks' metadata."""

from __future__ import annotations

import datetime as dt

import pytest

from iam_audit import engine, graph_store
from iam_audit.checks.base import Status
from iam_audit.choices import CheckState, FindingStatus
from iam_audit.graph import GRAPH_CHECKS
from iam_audit.graph.findings import EXTERNAL_PATH, REACH_CRITICAL
from iam_audit.models import CheckResult, Finding
from tests.iam_audit.graph.factories import (
    ADMINISTRATOR_ACCESS,
    IDENTITY,
    MGMT,
    OPS,
    OUTSIDE,
    PROD,
    STAGING,
    allow,
    aws_policy_arn,
    doc,
    inline,
    managed,
    policy_item,
    role_item,
    root,
    story,
    trust,
    user_item,
)

from .stored import T0, collect_iam, collect_org, org_records, store_story

pytestmark = pytest.mark.django_db

PROD_ADMIN = f"arn:aws:iam::{PROD}:role/ProdAdmin"
OPERATOR = f"arn:aws:iam::{IDENTITY}:user/operator"
VENDOR = f"arn:aws:iam::{PROD}:role/VendorAudit"


def _risky_story():  # noqa: ANN202
    s = story()
    s.add(
        IDENTITY,
        user_item(
            IDENTITY,
            "operator",
            policies=[inline("AssumeProdAdmin", doc(allow("sts:AssumeRole", PROD_ADMIN)))],
            console=True,
        ),
    )
    s.add(
        PROD,
        policy_item(PROD, "AdministratorAccess", ADMINISTRATOR_ACCESS, aws=True),
        *[i for i in s.items[STAGING] if i.type == "iam:policy"],
        role_item(
            PROD,
            "ProdAdmin",
            trust(root(IDENTITY)),
            attached=[managed("AdministratorAccess", aws_policy_arn("AdministratorAccess"))],
            last_used="2026-11-27T00:00:00+00:00",
        ),
        role_item(
            PROD,
            "VendorAudit",
            trust(root(OUTSIDE), condition={"StringEquals": {"sts:ExternalId": "vendor-42"}}),
            attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
            last_used="2026-11-27T00:00:00+00:00",
        ),
    )
    return s


def test_results_are_filed_under_the_subject_account_with_passes_and_unknowns() -> None:
    store_story(_risky_story(), skip=[OPS])
    results = graph_store.graph_results_by_account(now=T0)
    assert set(results) >= {IDENTITY, STAGING, PROD, OPS}
    reach = results[IDENTITY][REACH_CRITICAL]
    assert [r.subject for r in reach] == [OPERATOR] and reach[0].status is Status.FAIL
    assert [r.subject for r in results[PROD][EXTERNAL_PATH]] == [VENDOR]
    # staging: collected, nothing fails there
    assert [r.status for r in results[STAGING][REACH_CRITICAL]] == [Status.PASS]
    # operations: IAM never collected
    assert all(r[0].status is Status.UNKNOWN for r in results[OPS].values())
    assert set(results[OPS]) == set(GRAPH_CHECKS)


def test_run_all_stores_graph_findings_with_their_titles_and_severities() -> None:
    accounts = store_story(_risky_story(), skip=[OPS])
    engine.run_all(now=T0)
    reach = Finding.objects.get(check_id=REACH_CRITICAL)
    meta = GRAPH_CHECKS[REACH_CRITICAL]
    assert reach.account == accounts[IDENTITY] and reach.subject == OPERATOR
    assert reach.title == meta.title and reach.severity == str(meta.severity) and reach.service == "IAM"
    assert reach.status == FindingStatus.OPEN
    assert "operator can reach" in reach.summary and "administrator" in reach.summary
    assert reach.evidence["path_count"] >= 1 and reach.resource is not None
    external = Finding.objects.get(check_id=EXTERNAL_PATH)
    assert external.account == accounts[PROD] and external.subject == VENDOR
    assert external.title == GRAPH_CHECKS[EXTERNAL_PATH].title and external.severity == "high"
    assert "ExternalId" in external.summary
    assert external.exposure == "external"
    assert CheckResult.objects.get(account=accounts[OPS], check_id=REACH_CRITICAL).state == CheckState.UNKNOWN
    assert (
        CheckResult.objects.get(account=accounts[STAGING], check_id=REACH_CRITICAL).state == CheckState.PASS
    )

    # the next collection drops the operator's policy: the finding resolves
    s = _risky_story()
    s.edit(OPERATOR, UserPolicyList=[])
    collect_iam(accounts[IDENTITY], s.items[IDENTITY], at=T0 + dt.timedelta(hours=6))
    engine.run_all(now=T0 + dt.timedelta(hours=6))
    assert Finding.objects.get(check_id=REACH_CRITICAL).status == FindingStatus.RESOLVED
    assert Finding.objects.get(check_id=EXTERNAL_PATH).status == FindingStatus.OPEN


def test_failed_iam_collection_leaves_graph_findings_as_they_were() -> None:
    accounts = store_story(_risky_story(), skip=[OPS])
    engine.run_all(now=T0)
    assert Finding.objects.get(check_id=REACH_CRITICAL).status == FindingStatus.OPEN
    # identity's next IAM pass fails: the stored items stay, coverage says failed -> unknown
    collect_iam(accounts[IDENTITY], [], at=T0 + dt.timedelta(hours=1), ok=False)
    engine.run_all(now=T0 + dt.timedelta(hours=1))
    assert (
        CheckResult.objects.get(account=accounts[IDENTITY], check_id=REACH_CRITICAL).state == CheckState.FAIL
    )
    assert Finding.objects.get(check_id=REACH_CRITICAL).status == FindingStatus.OPEN


def test_graph_checks_are_check_objects_in_the_catalogue() -> None:
    checks = graph_store.graph_checks()
    assert [c.id for c in checks] == list(GRAPH_CHECKS)
    assert all(
        c.title == GRAPH_CHECKS[c.id].title and c.severity == GRAPH_CHECKS[c.id].severity for c in checks
    )
    catalogue = engine.catalogue()
    assert all(c.id in catalogue for c in checks)


def test_checks_page_lists_the_graph_checks(client, viewer_user) -> None:  # noqa: ANN001
    from django.urls import reverse

    client.force_login(viewer_user)
    html = client.get(reverse("iam_audit:check_list")).content.decode()
    for check_id in GRAPH_CHECKS:
        assert check_id in html


def test_graph_failures_wait_for_the_organisation_then_stay() -> None:
    """Before the management account's turn, the graph knows no SCP and no member list: what fails
    then could pass once they are in, so it is unknown (never opened then resolved); after, it fails."""
    accounts = store_story(_risky_story(), skip=[OPS], with_org=False)
    results = graph_store.graph_results_by_account(now=T0)
    reach = results[IDENTITY][REACH_CRITICAL]
    assert [r.status for r in reach] == [Status.UNKNOWN]
    assert "organizations:organization" in reach[0].summary and MGMT in reach[0].summary
    # what passes, passes (no organisation can make a failure of it)
    assert [r.status for r in results[STAGING][REACH_CRITICAL]] == [Status.PASS]
    engine.run_all(now=T0)
    assert not Finding.objects.filter(check_id=REACH_CRITICAL).exists()
    assert (
        CheckResult.objects.get(account=accounts[IDENTITY], check_id=REACH_CRITICAL).state
        == CheckState.UNKNOWN
    )

    collect_org(accounts[MGMT], org_records(), T0 + dt.timedelta(minutes=1))
    engine.run_all(now=T0 + dt.timedelta(minutes=1))
    assert Finding.objects.get(check_id=REACH_CRITICAL).status == FindingStatus.OPEN
