"""The security team triages a finding in a real browser; a viewer sees no triage controls and a forged
POST from the viewer's session is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from iam_audit.choices import FindingStatus
from iam_audit.models import Finding
from tests.factories import AwsAccountFactory, TeamFactory, UserFactory
from tests.iam_audit.builders import make_finding

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def estate() -> dict[str, Any]:
    team = TeamFactory(name="Payments")
    prod = AwsAccountFactory(name="payments-prod", account_id="555555555555", environment="prod", owner=team)
    dev = AwsAccountFactory(name="payments-dev", account_id="555555555556", environment="dev", owner=team)
    critical = make_finding(
        prod,
        severity="critical",
        check_id="s3.public_policy",
        title="Bucket policy allows anyone",
        summary="bucket <b>exports</b> lets Principal '*' read objects",
        subject="arn:aws:s3:::exports",
        evidence={"statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}},
    )
    make_finding(prod, severity="high", priority=120)
    make_finding(dev, severity="low", priority=10, title="Low one")
    security = UserFactory(username="sofia", security=True)
    # Warm this process up (imports, plotly's templates) so the live server's first page after
    # logging in (the home page, with charts) loads within the browser's timeout on a busy machine.
    client = Client()
    client.force_login(security)
    client.get("/")
    return {
        "security": security,
        "viewer": UserFactory(username="victor"),
        "critical": critical,
    }


def test_security_filters_opens_and_suppresses_a_finding_that_then_shows_as_suppressed(
    browser_page: Any, login_as: Any, live_server: Any, estate: dict[str, Any]
) -> None:
    page = browser_page
    critical: Finding = estate["critical"]
    login_as(page, estate["security"])

    page.goto("/audit/findings/")
    assert page.locator("table tbody tr").count() == 3
    # filter: critical only
    severity = page.locator("details.dropdown", has=page.locator("input[name=severity]")).locator("summary")
    severity.click()
    page.check("input[name=severity][value=critical]")
    severity.click()  # close the drop-down again
    page.click("form.filters button:has-text('Apply')")
    page.wait_for_url(re.compile(r"severity=critical"))
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    assert "bucket <b>exports</b> lets Principal" in rows.first.inner_text()  # shown as text, not markup

    # open it: evidence as JSON, the priority explained, the history
    page.click("table tbody a:has-text('Bucket policy allows anyone')")
    page.wait_for_url(f"**{critical.get_absolute_url()}")
    assert '"Principal": "*"' in page.locator("#evidence pre").first.inner_text()
    explanation = page.locator(".priority-explanation").inner_text()
    assert (
        explanation
        == f"severity critical 100 × environment prod 1.5 + exposure internet 30 = {critical.priority}"
    )
    page.screenshot(path="/tmp/finding.png", full_page=True)

    # suppress it with a justification
    page.select_option("#triage select[name=reason]", "accepted-risk")
    page.fill("#triage textarea[name=justification]", "Public website assets; reviewed with the owners")
    page.click("#triage button:has-text('Suppress')")
    page.wait_for_url(f"**{critical.get_absolute_url()}")
    assert "Suppressed 1 finding" in page.locator(".messages").inner_text()
    assert "Suppressed" in page.locator(".page-head .badge").nth(1).inner_text()
    history = page.locator("#history").inner_text()
    assert "sofia" in history and "Public website assets" in history

    # gone from the default list, there under "suppressed"
    page.goto("/audit/findings/")
    assert "Bucket policy allows anyone" not in page.locator("table").inner_text()
    page.goto("/audit/findings/?status=suppressed")
    assert page.locator("table tbody tr").count() == 1
    assert "Bucket policy allows anyone" in page.locator("table").inner_text()
    critical.refresh_from_db()
    assert critical.status == FindingStatus.SUPPRESSED and critical.suppressed_by == estate["security"]


def test_security_suppresses_several_findings_from_the_list(
    browser_page: Any, login_as: Any, estate: dict[str, Any]
) -> None:
    page = browser_page
    login_as(page, estate["security"])
    page.goto("/audit/findings/?environment=prod")
    page.check("th input.select-all")
    assert page.locator(".selected-count").inner_text() == "2"
    page.select_option("#triage-form select[name=reason]", "false-positive")
    page.fill("#triage-form textarea[name=justification]", "Scanner test fixtures")
    page.click("#triage-form button:has-text('Suppress selected')")
    page.wait_for_url(re.compile(r"environment=prod"))
    assert "Suppressed 2 findings" in page.locator(".messages").inner_text()
    assert page.locator("table tbody tr td").first.inner_text() == "No findings match these filters."
    assert Finding.objects.filter(status=FindingStatus.SUPPRESSED).count() == 2


def test_a_viewer_sees_no_triage_controls_and_a_forged_post_is_refused(
    browser_page: Any, login_as: Any, live_server: Any, estate: dict[str, Any]
) -> None:
    page = browser_page
    critical: Finding = estate["critical"]
    login_as(page, estate["viewer"])
    page.goto("/audit/findings/")
    assert page.locator("table tbody tr").count() == 3
    assert page.locator("#triage-form").count() == 0
    assert page.locator("input[name=ids]").count() == 0
    page.goto(critical.get_absolute_url())
    assert page.locator("#triage").count() == 0
    assert page.locator("button:has-text('Suppress')").count() == 0

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}/audit/findings/triage/",
        form={
            "csrfmiddlewaretoken": token,
            "action": "suppress",
            "ids": str(critical.pk),
            "reason": "accepted-risk",
            "justification": "forged",
        },
        headers={"Referer": f"{live_server.url}{critical.get_absolute_url()}"},
    )
    assert response.status == 403
    assert "CSRF" not in response.text()  # refused by the role check, not by CSRF
    critical.refresh_from_db()
    assert critical.status == FindingStatus.OPEN
    assert not critical.events.filter(kind="suppressed").exists()
