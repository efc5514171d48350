"""A security engineer asks "who can reach staging, and how?" in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache

from iam_audit import graph_store
from tests.factories import UserFactory
from tests.iam_audit.access.stored import store_story
from tests.iam_audit.graph.factories import IDENTITY, STAGING, STORY_USER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def estate() -> Any:
    graph_store.invalidate()
    cache.clear()
    accounts = store_story()
    yield accounts
    graph_store.invalidate()
    cache.clear()


def test_staging_access_page_shows_the_developer_path_and_leads_to_the_principal(
    browser_page: Any, login_as: Any, live_server: Any, estate: Any
) -> None:
    page = browser_page
    page.set_default_timeout(
        45_000
    )  # the machine running the suite may be busy: pages, not waits, are tested
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login_as(page, UserFactory(username="sam", security=True))

    # from the IAM section to the staging account's access page
    page.goto("/audit/iam/")
    assert page.locator("nav.mainnav a.active").inner_text() == "IAM"
    assert page.locator("table tbody tr").count() == 3  # Developer, its group, the staging role
    page.goto(f"/audit/iam/accounts/{estate[STAGING].pk}/")
    heading = page.locator("h1").inner_text()
    assert "Who can reach staging" in heading

    group = page.locator("section.access-group", has_text="CompanyReadOnly").first
    assert "read-only, all services" in group.locator("h2").inner_text()
    # identity as a whole (the role trusts its root), with the developer holding sts:AssumeRole today
    whole = group.locator(f'li.path[title^="{IDENTITY} →"]')
    assert "sts:AssumeRole held today by Developer" in whole.locator("[data-holders]").inner_text()
    path = group.locator('li.path[title^="Developer →"]')
    chain = path.inner_text()
    for part in (
        "Developer",
        "StagingReadOnly",
        "CompanyAssumeRoleStagingReadOnly",
        "AssumeStagingReadOnly",
        "CompanyReadOnly",
        "ReadOnlyAccess",
    ):
        assert part in chain, part
    assert (
        chain.index("StagingReadOnly")
        < chain.index("CompanyAssumeRoleStagingReadOnly")
        < chain.index("ReadOnlyAccess")
    )
    assert path.locator(".cond-mfa").inner_text() == "MFA required"
    page.screenshot(path="/tmp/iam-account-access.png", full_page=True)

    # click through to the principal page
    path.locator("a", has_text="Developer").click()
    page.wait_for_url(re.compile(r"/audit/iam/principals/\d+/$"))
    assert page.locator("#principal-arn").inner_text() == STORY_USER
    assert page.locator("#groups a", has_text="StagingReadOnly").count() == 1
    paths = page.locator("#paths")
    assert "CompanyReadOnly" in paths.inner_text() and "MFA required" in paths.inner_text()
    assert "CompanyAssumeRoleStagingReadOnly" in page.locator("#policies").inner_text()
    page.screenshot(path="/tmp/iam-principal.png", full_page=True)

    # the trust graph draws (plotly from our static files) and links the accounts; a name with
    # quotes, an ampersand and markup is drawn as the very text people typed
    odd_name = 'Stg "blue" & <b>x</b>'
    estate[STAGING].name = odd_name
    estate[STAGING].save()
    graph_store.invalidate()
    cache.clear()
    page.goto("/audit/iam/trust/")
    page.wait_for_selector("#trust-graph .main-svg")
    assert page.locator("#trust-graph .scatterlayer .trace").count() >= 2
    drawn = page.locator("#trust-graph .main-svg").first.text_content() or ""
    assert odd_name in drawn and "&quot;" not in drawn and "&amp;" not in drawn
    assert page.locator("#trust-graph svg b").count() == 0  # the markup stayed text
    page.screenshot(path="/tmp/iam-trust.png", full_page=True)
    assert errors == []
