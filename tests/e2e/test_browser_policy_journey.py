"""Every main page in a real browser under the enforced Content-Security-Policy: nothing refused,
charts drawn from their JSON by our static files, error pages in the layout; and the watcher that
fails the other journeys on a violation does see one."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import CollectionRun, RunState
from tests.e2e.conftest import LAPTOP, _only_loopback, watch_csp
from tests.factories import AwsAccountFactory, TeamFactory, UserFactory
from tests.iam_audit.builders import make_finding
from tests.inventory.pages.conftest import make_resource

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def estate() -> dict[str, Any]:
    team = TeamFactory(name="Payments")
    prod = AwsAccountFactory(name="payments-prod", account_id="555555555555", environment="prod", owner=team)
    dev = AwsAccountFactory(name="payments-dev", account_id="555555555556", environment="dev", owner=team)
    resource = make_resource(prod, region="eu-west-1")
    make_resource(prod, region="us-east-1", type="s3:bucket")
    make_resource(dev, region="eu-west-1")
    finding = make_finding(prod, severity="critical")
    run = CollectionRun.objects.create(account=prod, state=RunState.DONE)
    security = UserFactory(username="sofia", security=True)
    # warm the live server's process up (imports, plotly's templates): the first chart page is slow
    client = Client()
    client.force_login(security)
    client.get("/")
    return {"security": security, "prod": prod, "resource": resource, "finding": finding, "run": run}


def test_main_pages_draw_under_the_policy_with_no_violation(
    browser_page: Any, login_as: Any, live_server: Any, estate: dict[str, Any], csp_violations: list[str]
) -> None:
    page = browser_page
    page.set_default_timeout(60_000)  # pages with charts load plotly.js (4.8 MB): slow on a busy machine
    login_as(page, estate["security"])

    response = page.goto("/")
    assert response is not None
    assert response.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")
    assert "no-store" in response.headers["cache-control"]
    # home: the three inventory charts drawn from their JSON by js/charts.js, clickable
    page.locator("#chart-findings-severity.js-plotly-plot").wait_for()
    charts = page.locator(".chart-links .js-plotly-plot")
    charts.first.wait_for()
    assert charts.count() == 3
    assert (
        page.evaluate("() => document.querySelector('.chart-links .js-plotly-plot').dataset.linksWired")
        == "1"
    )
    assert page.locator("#chart-findings-severity svg.main-svg").count() >= 1

    # the report's heat map, drawn the same way
    page.goto("/inventory/report/")
    page.locator("#heatmap .js-plotly-plot svg.main-svg").first.wait_for()

    pages = [
        reverse("accounts:account_list"),
        reverse("accounts:account_detail", args=[estate["prod"].pk]),
        reverse("accounts:account_edit", args=[estate["prod"].pk]),
        reverse("accounts:team_list"),
        reverse("inventory:resource_list"),
        reverse("inventory:resource_detail", args=[estate["resource"].pk]),
        reverse("inventory:map"),
        reverse("inventory:exposed"),
        reverse("inventory:run_list"),
        reverse("inventory:run_detail", args=[estate["run"].pk]),
        reverse("iam_audit:finding_list"),
        reverse("iam_audit:finding_detail", args=[estate["finding"].pk]),
        reverse("iam_audit:check_list"),
        reverse("iam_audit:baseline"),
        reverse("iam_audit:baseline_settings"),
        reverse("iam_audit:principal_list"),
        reverse("iam_audit:trust_graph"),
    ]
    for url in pages:
        answer = page.goto(url)
        assert answer is not None and answer.status == 200, url
        page.wait_for_load_state("load")
    assert csp_violations == []

    # an error page: in the layout, a way back, no URL patterns
    answer = page.goto("/inventory/no-such-page/")
    assert answer is not None and answer.status == 404
    assert page.locator("h1").inner_text() == "There is no such page"
    assert page.locator(".topbar").count() == 1
    page.click("text=Back to the home page")
    page.wait_for_url(f"{live_server.url}/", wait_until="commit")


def test_the_watcher_sees_a_violation(browser: Any, live_server: Any, estate: dict[str, Any]) -> None:
    context = browser.new_context(base_url=live_server.url, viewport=LAPTOP)
    context.route("**/*", _only_loopback)
    violations = watch_csp(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto("/login/")
        assert violations == []
        # what an injected payload would try: an inline script and an inline style attribute
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.ran = true';"
            " document.body.appendChild(s);"
            " const d = document.createElement('div'); d.innerHTML = '<p style=\"color: red\">x</p>';"
            " document.body.appendChild(d); }"
        )
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.ran === true") is False  # the policy refused to run it
        assert any("script-src" in v for v in violations), violations
        assert any("style-src" in v for v in violations), violations
    finally:
        context.close()
