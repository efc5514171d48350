"""A viewer's journey through the inventory in a real browser: filter, search, open a resource, read the report."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.factories import DEFAULT_PASSWORD, AwsAccountFactory, TeamFactory, UserFactory
from tests.inventory.pages.conftest import XSS, make_resource

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def estate() -> dict[str, Any]:
    team = TeamFactory(name="Payments")
    prod = AwsAccountFactory(
        name="payments-prod",
        account_id="555555555555",
        environment="prod",
        owner=team,
        allowed_regions=["eu-west-1"],
    )
    dev = AwsAccountFactory(name="payments-dev", account_id="555555555556", environment="dev", owner=team)
    api = make_resource(
        prod,
        type="ec2:instance",
        name="api-1",
        region="eu-west-1",
        resource_id="i-0api",
        tags={"team": "payments", "note": XSS},
        data={"InstanceId": "i-0api", "State": {"Name": "running", "Code": 16}, "InstanceType": "t3.small"},
    )
    make_resource(prod, type="s3:bucket", name="payments-logs", region="eu-west-1")
    make_resource(prod, type="ec2:instance", name="forgotten", region="ap-south-1")
    make_resource(dev, type="ec2:vpc", name="dev-vpc", region="us-east-1")
    make_resource(dev, type="iam:role", name="deployer", region="global")
    return {"viewer": UserFactory(username="vera"), "api": api, "prod": prod}


def test_viewer_filters_resources_opens_one_and_reads_the_report(
    browser_page: Any, live_server: Any, estate: dict[str, Any]
) -> None:
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    # Pages with charts load plotly.js (4.8 MB) before drawing; on a busy machine that alone can
    # take longer than the fixture's 15 s.
    page.set_default_navigation_timeout(60_000)

    # Log in through the form, asking for the resource list straight away.
    page.goto("/inventory/resources/")
    page.wait_for_url(re.compile(r"/login/\?next=/inventory/resources/"))
    page.fill("#id_username", "vera")
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/inventory/resources/$"))
    assert page.locator("table tbody tr").count() == 5

    # Filter by type: EC2 instances only.
    page.select_option("select[name=type]", "ec2:instance")
    page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r"type=ec2%3Ainstance"))
    assert sorted(page.locator("table tbody tr td:first-child a").all_inner_texts()) == ["api-1", "forgotten"]

    # Search: a pasted ARN finds its resource; an account id offers that account's filter, which
    # keeps the type chosen above.
    page.fill("#id_q", estate["api"].arn)
    page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r"q=arn"))
    assert page.locator("table tbody tr td:first-child a").all_inner_texts() == ["api-1"]
    page.fill("#id_q", "555555555555")
    page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r"q=555555555555"))
    assert "is account payments-prod (555555555555)" in page.locator(".search-hint").inner_text()
    page.click(".search-hint a")
    page.wait_for_url(re.compile(rf"[?&]account_id={estate['prod'].pk}(&|$)"))
    assert "type=ec2%3Ainstance" in page.url and "q=" not in page.url
    assert page.locator("#id_q").input_value() == ""
    assert sorted(page.locator("table tbody tr td:first-child a").all_inner_texts()) == ["api-1", "forgotten"]

    # Open one: its tags (HTML shown as text, never run) and its metadata as JSON.
    page.click("table tbody a:has-text('api-1')")
    page.wait_for_url(f"**{estate['api'].get_absolute_url()}")
    tags = page.locator("#tags").inner_text()
    assert "team" in tags and "payments" in tags and XSS in tags
    state = page.locator("details.meta-entry[data-key=State]")
    assert not state.locator("pre").is_visible()
    state.locator("summary").click()
    assert '"Name": "running"' in state.locator("pre").inner_text()
    page.click("summary:has-text('All metadata as JSON')")
    assert '"InstanceType": "t3.small"' in page.locator("#raw-json").inner_text()
    assert page.locator("#resource-arn").inner_text() == estate["api"].arn

    # The report: the heat map is drawn by plotly from our static files, and the stray region shows.
    page.goto("/inventory/report/")
    heatmap = page.locator("#heatmap .js-plotly-plot")
    heatmap.wait_for(timeout=60_000)
    assert heatmap.locator("svg.main-svg").count() >= 1
    assert heatmap.locator(".hm image, .heatmaplayer").count() >= 1  # the heat-map layer is drawn
    assert "ap-south-1" in page.locator("#unexpected").inner_text()

    # A click on a cell opens the filtered list: the middle of the top-left cell (the busiest
    # region, the first service), away from the gaps between cells.
    columns, rows = page.evaluate(
        "() => { const t = document.querySelector('#heatmap .js-plotly-plot').data[0];"
        " return [t.x.length, t.y.length]; }"
    )
    box = heatmap.locator(".nsewdrag").first.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / columns / 2, box["y"] + box["height"] / rows / 2)
    page.wait_for_url(re.compile(r"/inventory/resources/\?region=eu-west-1&service=ec2"))
    assert page.locator("table tbody tr").count() >= 1
    assert dialogs == []  # nothing from the payloads ran
