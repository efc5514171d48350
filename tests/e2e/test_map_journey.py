"""The network map in a real browser: plotly draws it from our static files, the exposed node
stands out, and clicking it opens the resource's page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache

from inventory.models import Resource
from tests.factories import AwsAccountFactory, UserFactory
from tests.inventory.maps.conftest import HTML_NAME, WEB_ARN, network, store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Pixel position of the node whose customdata is ``arn``, from plotly's own axes.
NODE_POSITION = """
(arn) => {
  const gd = document.getElementById("network-map");
  for (const trace of gd._fullData) {
    const keys = trace.customdata || [];
    const i = keys.indexOf(arn);
    if (i < 0 || trace.mode.indexOf("markers") < 0) continue;
    const box = gd.getBoundingClientRect();
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    return {x: box.left + xa._offset + xa.l2p(trace.x[i]), y: box.top + ya._offset + ya.l2p(trace.y[i]),
            colour: trace.marker.color[i]};
  }
  return null;
}
"""


def test_click_the_exposed_node_on_the_map_and_land_on_its_resource_page(
    browser_page: Any, login_as: Any, live_server: Any
) -> None:
    cache.clear()
    account = AwsAccountFactory(account_id="111122223333", name="shop-prod", environment="prod")
    store(account, network(web_tags={"Name": HTML_NAME}))
    web = Resource.objects.get(arn=WEB_ARN)
    page = browser_page
    page.set_default_timeout(60_000)  # the home page after login loads plotly.js: slow on a busy machine
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    login_as(page, UserFactory(username="viewer"))

    page.goto(f"/inventory/map/?account={account.pk}")
    page.wait_for_selector("#network-map[data-ready='1'] svg.main-svg")
    assert page.locator("#network-map svg.main-svg").count() >= 1
    # the name from AWS is shown as text, never run
    assert HTML_NAME in page.locator(".map-exposed").inner_text()
    page.screenshot(path="/tmp/map.png", full_page=True)

    node = page.evaluate(NODE_POSITION, WEB_ARN)
    assert node is not None
    assert node["colour"] == "#d62728"  # exposed nodes are drawn red
    page.mouse.move(node["x"], node["y"])
    page.wait_for_selector(".hoverlayer .hovertext")
    assert "exposed to the internet" in (page.locator(".hoverlayer").text_content() or "")
    page.mouse.click(node["x"], node["y"])
    page.wait_for_url(re.compile(rf"/inventory/resources/{web.pk}/$"))
    assert alerts == []

    # the exposed list's link leads to the same page (the keyboard way)
    page.goto(f"/inventory/map/?account={account.pk}")
    page.click("a[data-exposed-link]")
    page.wait_for_url(re.compile(rf"/inventory/resources/{web.pk}/$"))

    # the Exposed page lists it with the way in; the account page's panel counts it
    page.goto("/inventory/exposed/")
    row = page.locator("table tbody tr")
    assert row.count() == 1 and "tcp/22, tcp/443" in row.inner_text() and "acl-default" in row.inner_text()
    page.screenshot(path="/tmp/exposed.png", full_page=True)
    page.goto(account.get_absolute_url())
    panel = page.locator("#panel-exposure").inner_text()
    assert "1 way in to 1 resource" in panel and "Network path 1" in panel
    assert alerts == []


def test_estate_treemap_draws_and_links_into_the_inventory(
    browser_page: Any, login_as: Any, live_server: Any
) -> None:
    cache.clear()
    account = AwsAccountFactory(account_id="111122223333", name="shop-prod", environment="prod")
    store(account, network())
    page = browser_page
    page.set_default_timeout(60_000)
    login_as(page, UserFactory(username="viewer"))
    page.goto("/inventory/map/")
    page.wait_for_selector("#estate-treemap[data-ready='1'] svg.main-svg")
    page.locator("#estate-treemap g.slice").first.wait_for()
    page.click("#estate-treemap g.slice >> nth=0", force=True)
    link = page.locator("[data-treemap-link]")
    page.wait_for_function(
        "() => document.querySelector('[data-treemap-link]').textContent.startsWith('Open shop-prod')"
    )
    link.click()
    page.wait_for_url(re.compile(rf"/inventory/resources/\?account_id={account.pk}"))
