"""Real-browser fixtures: headless Chromium (Debian's package) driven by Playwright's sync API.

``browser_page`` is a fresh page (own cookies) whose requests can only reach the live server;
``login_as(page, user)`` logs in through the real login form. Tests skip with a reason when
Chromium is missing, unless ``REQUIRE_SERVICES=1`` (then they fail).

Every page runs under the enforced Content-Security-Policy (config/middleware.py): ``browser_page``
collects what the browser reports (``securitypolicyviolation`` events and the console's "Refused
to ..." errors) and the test fails on any violation, after its own assertions.

    @pytest.mark.browser
    @pytest.mark.django_db(transaction=True)
    def test_journey(browser_page, login_as, live_server):
        login_as(browser_page, UserFactory(username="someone"))
        browser_page.goto(live_server.url + "/accounts/")
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.factories import DEFAULT_PASSWORD

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run inside one
# unless told it is safe (it is: the loop belongs to Playwright, not to Django).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def chromium_path() -> str | None:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).exists() else None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message + " and REQUIRE_SERVICES=1")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright  # a locked dev dependency: missing is a failure

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _only_loopback(route: Any) -> None:
    # Pages must not reach anything but the live server (no CDN, no telemetry).
    if urlsplit(route.request.url).hostname in LOOPBACK or route.request.url.startswith(("data:", "blob:")):
        route.continue_()
    else:
        route.abort()


CSP_PREFIX = "skyledger-csp-violation:"
# Runs in every document before its own scripts (Playwright injects it, so the policy does not apply
# to it) and reports each violation through the console, where watch_csp collects it.
REPORT_VIOLATIONS = (
    "document.addEventListener('securitypolicyviolation', function (e) {"
    f"  console.error('{CSP_PREFIX} ' + e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline')"
    "    + ' in ' + e.documentURI + (e.sample ? ' (' + e.sample + ')' : ''));"
    "}, true);"
)


def _is_violation(text: str) -> bool:
    return text.startswith(CSP_PREFIX) or ("Content Security Policy" in text and "Refused to" in text)


def watch_csp(context: Any) -> list[str]:
    """Every Content-Security-Policy violation in ``context``'s pages, as they happen."""
    violations: list[str] = []
    context.add_init_script(REPORT_VIOLATIONS)

    def on_console(message: Any) -> None:
        if _is_violation(message.text):
            violations.append(message.text)

    context.on("console", on_console)
    return violations


def assert_no_csp_violation(violations: list[str]) -> None:
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations), pytrace=False)


@pytest.fixture
def csp_violations() -> list[str]:
    """What ``browser_page`` collected (a test may look; the fixture fails the test on any)."""
    return []


@pytest.fixture
def browser_page(browser: Any, live_server: Any, csp_violations: list[str]) -> Iterator[Any]:
    """A fresh laptop-sized page in its own context (own cookies), loopback-only; fails the test on
    any Content-Security-Policy violation."""
    context = browser.new_context(base_url=live_server.url, viewport=LAPTOP)
    context.route("**/*", _only_loopback)
    watched = watch_csp(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        csp_violations.extend(watched)
        context.close()
    assert_no_csp_violation(csp_violations)


@pytest.fixture
def login_as(live_server: Any) -> Callable[..., None]:
    """``login_as(page, user, password=DEFAULT_PASSWORD)``: log in through the login form."""

    def login(page: Any, user: Any, password: str = DEFAULT_PASSWORD) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", password)
        page.click("form button[type=submit]")
        # "commit": logged in once the next page starts arriving; the landing page (home, which
        # loads plotly.js) need not finish loading, which on a busy machine takes long.
        page.wait_for_url(lambda url: "/login/" not in url, wait_until="commit")

    return login
