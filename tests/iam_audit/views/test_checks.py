"""The checks catalogue: metadata from code, estate counts from the stored results, filters, detail."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from iam_audit import engine
from iam_audit.choices import FindingStatus
from tests.accounts.helpers import read_csv
from tests.factories import AwsAccountFactory
from tests.iam_audit.builders import make_finding, set_result

pytestmark = pytest.mark.django_db

SG = "ec2.sg_admin_ports_open"


@pytest.fixture
def viewer(client: Client, viewer_user: Any) -> Client:
    client.force_login(viewer_user)
    return client


def table_rows(response: Any) -> dict[str, dict[str, Any]]:
    return {row.record["id"]: row.record for row in response.context["table"].page.object_list}


def test_the_catalogue_lists_every_check_with_its_metadata(viewer: Client) -> None:
    response = viewer.get(reverse("iam_audit:check_list"))
    rows = table_rows(response)
    catalogue = engine.catalogue()
    assert set(rows) == set(catalogue)
    root = rows["iam.root_mfa"]
    assert root["severity"] == "critical" and root["scope"] == "account" and "CIS 1.4" in root["cis"]
    assert rows["org.member"]["baseline"] is True and rows[SG]["baseline"] is False
    body = response.content.decode()
    assert reverse("iam_audit:check_detail", args=[SG]) in body


def test_the_catalogue_counts_subjects_and_accounts_across_the_estate(viewer: Client) -> None:
    a, b, c = (AwsAccountFactory() for _ in range(3))
    set_result(a, SG, "fail", failed=3, passed=2)
    set_result(b, SG, "pass", passed=4)
    set_result(c, SG, "unknown", "Not evaluated: data not collected for ec2:security-group")
    make_finding(a)
    make_finding(a)
    make_finding(a, status=FindingStatus.RESOLVED)
    with CaptureQueriesContext(connection) as ctx:
        response = viewer.get(reverse("iam_audit:check_list"))
    row = table_rows(response)[SG]
    assert (row["failing"], row["passing"], row["unknown"]) == (3, 6, 1)
    assert (row["accounts_failing"], row["accounts_unknown"]) == (1, 1)
    assert row["open_findings"] == 2
    assert sum("iam_audit_checkresult" in q["sql"] for q in ctx.captured_queries) == 1  # one aggregate
    untouched = table_rows(response)["iam.root_mfa"]
    assert (untouched["failing"], untouched["passing"], untouched["unknown"]) == (0, 0, 0)


@pytest.mark.parametrize(
    ("query", "inside", "outside"),
    [
        ("service=S3", "s3.public_policy", SG),
        ("severity=critical", "iam.root_mfa", "vpc.flow_logs"),
        ("scope=resource", SG, "iam.root_mfa"),
        ("baseline=true", "org.member", SG),
        ("baseline=false", SG, "org.member"),
        ("q=flow+logs", "vpc.flow_logs", SG),
        ("state=failing", SG, "iam.root_mfa"),
        ("state=unknown", "guardduty.enabled", SG),
    ],
)
def test_the_catalogue_filters(viewer: Client, query: str, inside: str, outside: str) -> None:
    account = AwsAccountFactory()
    set_result(account, SG, "fail")
    set_result(account, "guardduty.enabled", "unknown")
    rows = table_rows(viewer.get(reverse("iam_audit:check_list") + "?" + query))
    assert inside in rows and outside not in rows


def test_the_catalogue_sorts_and_exports(viewer: Client) -> None:
    response = viewer.get(reverse("iam_audit:check_list") + "?sort=severity")
    first = next(iter(response.context["table"].page.object_list)).record
    assert first["severity"] == "critical"
    exported = read_csv(
        b"".join(viewer.get(reverse("iam_audit:check_list") + "?export=csv").streaming_content)
    )
    assert exported[0][:3] == ["Check", "Title", "Service"]
    assert len(exported) - 1 == len(engine.catalogue())


def test_the_check_page_shows_description_risk_remediation_references_and_where_it_fails(
    viewer: Client,
) -> None:
    failing = AwsAccountFactory(name="shop-prod", environment="prod")
    unknown = AwsAccountFactory(name="data-dev")
    passing = AwsAccountFactory(name="clean-dev")
    set_result(failing, SG, "fail", "sg-1 allows 0.0.0.0/0 on 22", failed=2)
    set_result(unknown, SG, "unknown", "Not evaluated: data not collected for ec2:security-group")
    set_result(passing, SG, "pass")
    response = viewer.get(reverse("iam_audit:check_detail", args=[SG]))
    body = response.content.decode()
    check = engine.catalogue()[SG]
    assert check.title in body and check.risk[:40] in body
    assert "shop-prod" in body and "sg-1 allows 0.0.0.0/0 on 22" in body
    assert "data-dev" in body and "data not collected" in body
    assert "clean-dev" not in body
    assert any(r.startswith("CIS") for r in check.references) and "CIS" in body
    assert f"check={SG}" in body and f"account={failing.pk}" in body


def test_graph_checks_have_pages_too(viewer: Client) -> None:
    from iam_audit.graph import GRAPH_CHECKS

    check_id = next(iter(GRAPH_CHECKS))
    assert viewer.get(reverse("iam_audit:check_detail", args=[check_id])).status_code == 200


def test_an_unknown_check_is_404(viewer: Client) -> None:
    assert viewer.get(reverse("iam_audit:check_detail", args=["no.such_check"])).status_code == 404
    assert viewer.get("/audit/checks/%3Cscript%3E/").status_code == 404
