"""An account owner's journey through the registry in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import AwsAccount
from tests.e2e.conftest import PHONE
from tests.factories import AwsAccountFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def estate() -> dict[str, Any]:
    payments = TeamFactory(name="Payments")
    platform = TeamFactory(name="Platform")
    owner = UserFactory(username="olivia", teams=[payments])
    mine = AwsAccountFactory(
        name="payments-prod",
        account_id="555555555555",
        environment="prod",
        owner=payments,
        description="Card processing",
    )
    AwsAccountFactory(name="payments-dev", account_id="555555555556", environment="dev", owner=payments)
    theirs = AwsAccountFactory(
        name="platform-prod",
        account_id="666666666666",
        environment="prod",
        owner=platform,
        description="Shared CI",
        access_status="failed",
        access_message="AccessDenied: not authorized to perform sts:AssumeRole",
    )
    return {"owner": owner, "mine": mine, "theirs": theirs}


def test_owner_filters_edits_own_account_sees_history_and_cannot_touch_another_team(
    browser_page: Any, login_as: Any, live_server: Any, estate: dict[str, Any]
) -> None:
    page = browser_page
    mine, theirs = estate["mine"], estate["theirs"]
    login_as(page, estate["owner"])

    page.goto("/accounts/")
    assert page.locator("table tbody tr").count() == 3
    page.screenshot(path="/tmp/accounts.png", full_page=True)

    # Filter: production accounts only, then narrow with the search box.
    page.click("details.dropdown >> nth=0")
    page.check("input[name=environment][value=prod]")
    page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r"environment=prod"))
    assert sorted(page.locator("table tbody tr td:first-child a").all_inner_texts()) == [
        "payments-prod",
        "platform-prod",
    ]
    page.fill("input[name=q]", "card")
    page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r"q=card"))
    assert page.locator("table tbody tr td:first-child a").all_inner_texts() == ["payments-prod"]

    # Edit the own account's description.
    page.click("text=payments-prod")
    page.click("a:has-text('Edit')")
    assert page.locator("#id_name").count() == 0  # owners do not get the security fields
    page.fill("#id_description", "Card processing and refunds <b>not bold</b>")
    page.fill("#id_change_reason", "Scope review")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"**{mine.get_absolute_url()}")
    assert "Card processing and refunds <b>not bold</b>" in page.locator(".facts").first.inner_text()

    # The history shows who changed what, old → new, and why.
    page.click("a:has-text('History')")
    entry = page.locator(".history-entry").first
    text = entry.inner_text()
    assert "olivia" in text and "Scope review" in text
    assert entry.locator("td.old").first.inner_text() == "Card processing"
    assert entry.locator("td.new").first.inner_text() == "Card processing and refunds <b>not bold</b>"

    # Another team's account: visible, with its failed access reason, but no edit button ...
    page.goto(theirs.get_absolute_url())
    assert "not authorized to perform sts:AssumeRole" in page.inner_text("body")
    assert page.locator("a:has-text('Edit')").count() == 0
    assert page.locator(f"a[href='/accounts/{theirs.pk}/edit/']").count() == 0

    # ... and a forged POST with a valid session and CSRF token is refused and changes nothing.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}/accounts/{theirs.pk}/edit/",
        form={"csrfmiddlewaretoken": token, "description": "pwned"},
        headers={"Referer": f"{live_server.url}{theirs.get_absolute_url()}"},
    )
    assert response.status == 403
    assert "CSRF" not in response.text()  # refused by the role check, not by CSRF
    theirs.refresh_from_db()
    assert theirs.description == "Shared CI"
    assert theirs.history.count() == 1


def test_registry_fits_a_phone_with_the_table_scrolling_sideways(
    browser_page: Any, login_as: Any, estate: dict[str, Any]
) -> None:
    page = browser_page
    page.set_viewport_size(PHONE)
    login_as(page, estate["owner"])
    page.goto(
        "/accounts/?columns="
        + ",".join(
            ["name", "account_id", "environment", "owner", "status", "access", "description", "updated"]
        )
    )
    # The page itself never scrolls sideways; the table does, inside its wrapper.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    # Navigation collapses behind the menu toggle.
    assert not page.locator("nav.mainnav").is_visible()
    page.click("label.nav-toggle-label")
    assert page.locator("nav.mainnav").is_visible()
    page.click("label.nav-toggle-label")
    page.screenshot(path="/tmp/accounts-phone.png", full_page=True)
    assert AwsAccount.objects.count() == 3
