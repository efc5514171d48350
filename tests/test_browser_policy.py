"""The browser policy: an enforced Content-Security-Policy on every response, no inline script, event
handler, ``javascript:`` URL or style attribute in any template or rendered page, and no caching of
what a logged-in user is shown (pages, exports), while static files keep theirs."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from config.middleware import CONTENT_SECURITY_POLICY, PLOTLY_STYLE_ATTRIBUTES
from inventory.models import CollectionRun, RunState
from tests.factories import AwsAccountFactory
from tests.iam_audit.builders import make_finding
from tests.inventory.pages.conftest import make_resource

ROOT = Path(__file__).resolve().parent.parent
POLICY_PARTS = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    # the exact style attribute values plotly.js sets (config/middleware.py), nothing else
    "style-src-attr 'unsafe-hashes' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' "
    + " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(value.encode()).digest()).decode() + "'"
        for value in PLOTLY_STYLE_ATTRIBUTES[1:]
    ),
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
}
# what a browser would run or apply from markup, which the policy refuses
TEMPLATE_SYNTAX = re.compile(
    r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}|\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.S
)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href"}


class InlineCode(HTMLParser):
    """Collects every inline script, ``<style>`` element, ``on…`` handler, ``javascript:`` URL and
    ``style`` attribute in an HTML document (``<script type="application/json">`` is data: allowed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script_line: int | None = None
        self._script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        values = {name.lower(): (value or "") for name, value in attrs}
        for name, value in values.items():
            if name.startswith("on") and name[2:].isalpha():
                self.problems.append(f"line {line}: <{tag} {name}=...> (inline event handler)")
            if name == "style":
                self.problems.append(f"line {line}: <{tag} style=...> (inline style attribute)")
            if name in URL_ATTRIBUTES and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"line {line}: <{tag} {name}=javascript:...>")
        if tag == "style":
            self.problems.append(f"line {line}: <style> element (inline style)")
        if tag == "script" and "src" not in values and values.get("type", "").lower() != "application/json":
            self._script_line = line
            self._script_text = []

    def handle_data(self, data: str) -> None:
        if self._script_line is not None:
            self._script_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script_line is not None:
            self.problems.append(
                f"line {self._script_line}: inline <script>: {''.join(self._script_text)[:60]!r}"
            )
            self._script_line = None


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.problems


def template_files() -> list[Path]:
    folders = [
        ROOT / "templates",
        *(ROOT / app / "templates" for app in ("accounts", "inventory", "iam_audit")),
    ]
    return sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*.html"))


# --- the checker itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        "<script type='text/javascript'>x()</script>",
        '<button onclick="go()">x</button>',
        "<select ONCHANGE='this.form.submit()'></select>",
        '<a href="javascript:void(0)">x</a>',
        '<a href=" JavaScript:go()">x</a>',
        '<form action="javascript:go()"></form>',
        '<div style="height:300px"></div>',
        "<style>p { color: red }</style>",
    ],
)
def test_the_checker_finds_inline_code(html: str) -> None:
    assert inline_code(html)


def test_the_checker_allows_scripts_from_files_and_json_data() -> None:
    html = (
        '<script src="/static/js/charts.js" defer></script>'
        '<script id="f" type="application/json">{"a": "<b>"}</script>'
        '<a href="/inventory/?only=1" class="online">x</a><input name="onion">'
    )
    assert inline_code(html) == []


# --- every template --------------------------------------------------------------------------------


def test_there_are_templates_to_check() -> None:
    names = {p.name for p in template_files()}
    assert {"base.html", "home.html", "404.html", "500.html", "map.html"} <= names


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_script_handlers_or_styles(path: Path) -> None:
    # template tags and variables become a plain word, so `<a {% if x %}class="y"{% endif %}>` parses
    source = TEMPLATE_SYNTAX.sub(" x ", path.read_text())
    assert inline_code(source) == []


# --- every page --------------------------------------------------------------------------------------


@pytest.fixture
def estate(owner_team: Any) -> dict[str, Any]:
    account = AwsAccountFactory(name="payments-prod", account_id="111111111111", owner=owner_team)
    resource = make_resource(account, region="eu-west-1")
    finding = make_finding(account)
    run = CollectionRun.objects.create(account=account, state=RunState.DONE)
    return {"account": account, "resource": resource, "finding": finding, "run": run}


def main_pages(estate: dict[str, Any]) -> list[str]:
    account, team = estate["account"], estate["account"].owner
    return [
        reverse("home"),
        reverse("accounts:account_list"),
        reverse("accounts:account_detail", args=[account.pk]),
        reverse("accounts:account_history", args=[account.pk]),
        reverse("accounts:team_list"),
        reverse("accounts:team_detail", args=[team.pk]),
        reverse("inventory:resource_list"),
        reverse("inventory:resource_detail", args=[estate["resource"].pk]),
        reverse("inventory:report"),
        reverse("inventory:map"),
        reverse("inventory:exposed"),
        reverse("inventory:run_list"),
        reverse("inventory:run_detail", args=[estate["run"].pk]),
        reverse("iam_audit:finding_list"),
        reverse("iam_audit:finding_detail", args=[estate["finding"].pk]),
        reverse("iam_audit:check_list"),
        reverse("iam_audit:check_detail", args=[estate["finding"].check_id]),
        reverse("iam_audit:baseline"),
        reverse("iam_audit:principal_list"),
        reverse("iam_audit:account_access", args=[account.pk]),
        reverse("iam_audit:trust_graph"),
        "/no/such/page/",  # the 404 page too
    ]


def exports() -> list[str]:
    return [
        reverse("accounts:account_list") + "?export=csv",
        reverse("accounts:account_list") + "?export=xlsx",
        reverse("inventory:resource_list") + "?export=csv",
        reverse("iam_audit:finding_list") + "?export=json",
        reverse("iam_audit:baseline") + "?export=csv",
        reverse("iam_audit:access_paths_export"),
    ]


def assert_policy(response: Any, where: str) -> None:
    assert "Content-Security-Policy-Report-Only" not in response, where
    policy = response.get("Content-Security-Policy", "")
    assert policy == CONTENT_SECURITY_POLICY, where
    assert {part.strip() for part in policy.split(";")} == POLICY_PARTS, where


def assert_not_stored(response: Any, where: str) -> None:
    cache = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    assert {"no-store", "private"} <= cache, (where, response.get("Cache-Control"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["security_user", "owner_user", "viewer_user"])
def test_every_page_has_the_enforced_policy_no_inline_code_and_is_not_stored(
    client: Client, estate: dict[str, Any], role: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(role))
    for url in main_pages(estate):
        response = client.get(url)
        assert response.status_code == (404 if url.startswith("/no/") else 200), url
        assert_policy(response, url)
        assert_not_stored(response, url)
        assert inline_code(response.content.decode()) == [], url


@pytest.mark.django_db
def test_exports_are_not_stored(client: Client, estate: dict[str, Any], viewer_user: Any) -> None:
    client.force_login(viewer_user)
    for url in exports():
        response = client.get(url)
        assert response.status_code == 200, url
        assert_policy(response, url)
        assert_not_stored(response, url)


@pytest.mark.django_db
def test_admin_pages_have_the_policy_too(client: Client, estate: dict[str, Any]) -> None:
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    for url in (
        "/admin/",
        "/admin/accounts/awsaccount/",
        f"/admin/accounts/awsaccount/{estate['account'].pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_policy(response, url)
        assert_not_stored(response, url)


@pytest.mark.django_db
def test_a_view_that_sets_its_own_cache_control_keeps_it(
    client: Client, estate: dict[str, Any], viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    response = client.get(reverse("inventory:run_progress", args=[estate["run"].pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_the_login_page_has_the_policy(client: Client) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert_policy(response, "login")
    assert inline_code(response.content.decode()) == []
    assert client.get("/").status_code == 302  # every other page needs a login


@pytest.mark.django_db
def test_static_files_keep_their_caching_when_logged_in(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    response = client.get(f"{settings.STATIC_URL}js/charts.js")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert b"Plotly.newPlot" in b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_the_allowed_style_attributes_are_plotlys_own() -> None:
    # "", plotly.js's pixelated-image probe and its tag styles, as written in static/js/plotly.min.js
    bundle = (ROOT / "static" / "js" / "plotly.min.js").read_text()
    declarations = re.search(r"CSS_DECLARATIONS=(\[\[.*?\]\]);", bundle)
    assert declarations, "plotly.js no longer has its image-rendering probe: review the allowed styles"
    probe = "".join(f"{name}: {value}; " for name, value in json.loads(declarations.group(1)))
    tags = re.search(r"\{sup:\"font-size:70%\",[^}]*\}", bundle)
    assert tags, "plotly.js no longer has its tag styles: review the allowed styles"
    tag_styles = set(re.findall(r':"([^"]+)"', tags.group(0)))
    assert '.attr("style",""' in bundle
    assert set(PLOTLY_STYLE_ATTRIBUTES) == {"", probe} | tag_styles


def test_pages_with_plotly_link_its_style_sheets_under_the_ids_it_looks_for() -> None:
    bundle = (ROOT / "static" / "js" / "plotly.min.js").read_text()
    include = (ROOT / "templates" / "includes" / "plotly_styles.html").read_text()
    assert 'id="plotly.js-style-global" class="no-inline-styles"' in include
    assert '"plotly.js-style-"+' in bundle and 'matches(".no-inline-styles")' in bundle
    for element_id in re.findall(r'document\.getElementById\("([0-9a-f]{64})"\)', bundle):
        assert f'id="{element_id}"' in include
    for path in template_files():
        text = path.read_text()
        tag = "<script src=\"{% static 'js/plotly.min.js' %}\""
        if tag in text:
            before = text.split(tag, 1)[0]
            assert '{% include "includes/plotly_styles.html" %}' in before, path
