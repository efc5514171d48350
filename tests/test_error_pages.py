"""Error pages (400, 403, 404, 500, CSRF failure): in the site's layout, a way back, nothing of the
code or the URL patterns; 500 needs neither the database nor the request; a 403 is one log line."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse

import config.urls
from config import views as config_views
from tests.factories import AwsAccountFactory

pytestmark = pytest.mark.django_db

ROLES = ["security_user", "owner_user", "viewer_user"]
LEAKS = (
    "Traceback",
    "URLconf",
    "urlpatterns",
    "Using the URLconf",
    "DEBUG = True",
    "Request Method",
    "Django",
)


def boom(request: Any) -> Any:
    raise RuntimeError("secret internals: password=hunter2")


def forbidden(request: Any, name: str = "") -> Any:
    raise PermissionDenied("You do not have permission to do that.")


# this module is also a URLconf (pytest.mark.urls): the site, a failing view and a refusing one
urlpatterns = [
    *config.urls.urlpatterns,
    path("boom/", boom),
    path("forbidden/", forbidden),
    path("forbidden/<str:name>/", forbidden),
]
handler500 = config.urls.handler500


def in_layout(page: str, logged_in: bool) -> None:
    assert '<link rel="stylesheet" href="/static/css/app.css">' in page
    assert '<a class="btn primary" href="/">Back to the home page</a>' in page
    assert ('class="topbar"' in page) is logged_in  # the navigation, for someone logged in
    for leak in LEAKS:
        assert leak not in page, leak


@pytest.mark.parametrize("role", ROLES)
def test_404_in_the_layout_for_every_role(client: Client, role: str, request: pytest.FixtureRequest) -> None:
    user = request.getfixturevalue(role)
    client.force_login(user)
    response = client.get("/accounts/999999/")
    assert response.status_code == 404
    page = response.content.decode()
    in_layout(page, logged_in=True)
    assert "There is no such page" in page and "<code>/accounts/999999/</code>" in page
    assert user.get_username() in page  # the top bar shows who is logged in


def test_404_for_a_path_no_url_matches_lists_no_patterns(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    response = client.get("/inventory/nothing-here/<script>alert(1)</script>")
    assert response.status_code == 404
    page = response.content.decode()
    in_layout(page, logged_in=True)
    assert "resources/" not in page.split("There is no such page", 1)[1]  # no URL pattern listed
    assert "<script>alert" not in page


def test_404_for_someone_not_logged_in(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    in_layout(response.content.decode(), logged_in=False)


@pytest.mark.parametrize("role", ["owner_user", "viewer_user"])
def test_403_says_who_can_do_it_in_the_layout(
    client: Client, role: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(role)
    account = AwsAccountFactory(account_id="222222222222")  # no owner: only the security team edits it
    client.force_login(user)
    response = client.get(reverse("accounts:account_edit", args=[account.pk]))
    assert response.status_code == 403
    page = response.content.decode()
    in_layout(page, logged_in=True)
    assert "You are not allowed to do this" in page
    assert "Changes are for the security team" in page and "ask the security team" in page
    assert f"You are logged in as {user.get_username()}." in page


@pytest.mark.urls(__name__)
def test_403_for_the_security_team_names_its_membership(client: Client, security_user: Any) -> None:
    client.force_login(security_user)
    response = client.get("/forbidden/")
    assert response.status_code == 403
    page = response.content.decode()
    in_layout(page, logged_in=True)
    assert "You are logged in as sec, a member of the security team." in page


def test_400_in_the_layout(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    response = client.get("/", HTTP_HOST="evil.example.com")  # not in ALLOWED_HOSTS: SuspiciousOperation
    assert response.status_code == 400
    page = response.content.decode()
    assert "This request could not be understood" in page
    assert '<a class="btn primary" href="/">Back to the home page</a>' in page
    assert "evil.example.com" not in page and "ALLOWED_HOSTS" not in page


def test_csrf_failure_page_in_the_layout(viewer_user: Any, owner_team: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer_user)
    response = client.post(reverse("logout"))
    assert response.status_code == 403
    page = response.content.decode()
    in_layout(page, logged_in=True)
    assert "This form could not be accepted" in page and "reload the page" in page


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("role", ROLES)
def test_500_in_the_layout_without_internals(role: str, request: pytest.FixtureRequest) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(request.getfixturevalue(role))
    response = client.get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    in_layout(page, logged_in=False)  # rendered without the request: no user, no navigation
    assert "Something went wrong on our side" in page
    assert "hunter2" not in page and "RuntimeError" not in page


def test_500_needs_no_database_and_no_context_processor(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(request: Any) -> dict[str, Any]:
        raise RuntimeError("context processor failed")

    monkeypatch.setattr("accounts.context_processors.roles", broken)
    with CaptureQueriesContext(connection) as queries:
        response = config_views.server_error(RequestFactory().get("/boom/"))
    assert response.status_code == 500 and len(queries) == 0
    in_layout(response.content.decode(), logged_in=False)


def test_500_falls_back_to_a_plain_page_when_the_layout_fails(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_template(name: str) -> Any:
        raise OSError("template folder unreadable")

    monkeypatch.setattr(config_views.loader, "get_template", no_template)
    response = config_views.server_error(RequestFactory().get("/boom/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page and 'href="/"' in page
    assert "unreadable" not in page
    assert "could not be rendered" in caplog.text


# --- logging -------------------------------------------------------------------------------------------


def refused(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "status_code", None) == 403]


def test_a_403_is_logged_as_one_line_with_who_and_what(
    client: Client, viewer_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    account = AwsAccountFactory(account_id="333333333333")
    client.force_login(viewer_user)
    url = reverse("accounts:account_edit", args=[account.pk])
    with caplog.at_level(logging.WARNING):
        assert client.post(url, {"description": "mine now"}).status_code == 403
    (record,) = refused(caplog)
    assert record.name == "django.request" and record.levelno == logging.WARNING
    assert record.exc_info is None and record.exc_text is None
    line = logging.Formatter("%(levelname)s %(name)s %(message)s").format(record)
    assert "\n" not in line and "Traceback" not in line
    assert url in line and "user 'viewer'" in line and f"(id {viewer_user.pk})" in line and "(POST)" in line
    assert line.startswith("WARNING django.request Forbidden (Permission denied): ")


@pytest.mark.urls(__name__)
def test_a_403_with_a_newline_in_the_path_stays_one_line(
    client: Client, viewer_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client.force_login(viewer_user)
    with caplog.at_level(logging.WARNING):
        assert client.get("/forbidden/a%0AWARNING%20fake%20line/").status_code == 403
    (record,) = refused(caplog)
    message = record.getMessage()
    assert "\n" not in message and "/forbidden/a\\nWARNING fake line/" in message and "(GET)" in message


def test_a_csrf_refusal_is_one_line_too(viewer_user: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer_user)
    with caplog.at_level(logging.WARNING):
        assert client.post(reverse("logout")).status_code == 403
    (record,) = refused(caplog)
    assert record.name == "django.security.csrf" and record.exc_info is None
    message = record.getMessage()
    assert message.startswith("Forbidden (CSRF") and "/logout/" in message and "user 'viewer'" in message


def test_other_log_lines_are_left_alone(
    client: Client, viewer_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client.force_login(viewer_user)
    with caplog.at_level(logging.WARNING):
        client.get("/no/such/page/")
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Not Found: /no/such/page/"


@pytest.mark.parametrize("role", ROLES)
def test_405_in_the_layout_keeps_status_and_allow(
    client: Client, role: str, request: pytest.FixtureRequest
) -> None:
    """Opening an action that only takes POST as a link shows a page, not a blank one."""
    client.force_login(request.getfixturevalue(role))
    account = AwsAccountFactory()
    response = client.get(reverse("accounts:designate_identity", args=[account.pk]))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    in_layout(page, logged_in=True)
    assert "does not take a GET request" in page and "that takes POST" in page
