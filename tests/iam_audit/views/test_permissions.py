"""Who may do what on the audit pages, enforced on the server: the security team triages and sets
the baseline; owners and viewers read; anonymous visitors get the login page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from iam_audit.choices import FindingStatus
from iam_audit.models import BaselineSetting, Finding, FindingEvent
from tests.iam_audit.builders import make_finding

pytestmark = pytest.mark.django_db

ROLES = ["security", "owner", "viewer", "anonymous"]


@pytest.fixture
def as_role(client: Client, security_user: Any, owner_user: Any, viewer_user: Any) -> Any:
    """Log the test client in as a role (by name); returns the client."""

    def login(role: str) -> Client:
        user = {
            "security": security_user,
            "owner": owner_user,
            "viewer": viewer_user,
            "anonymous": AnonymousUser(),
        }[role]
        if role != "anonymous":
            client.force_login(user)
        return client

    return login


@pytest.fixture
def finding(prod_account: Any) -> Finding:
    """An open finding in the account ``owner_user``'s team owns."""
    return make_finding(prod_account)


def assert_login_redirect(response: Any) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


READ_URLS = {
    "findings": lambda f: reverse("iam_audit:finding_list"),
    "findings_filtered": lambda f: reverse("iam_audit:finding_list") + "?severity=high&q=sg",
    "finding": lambda f: reverse("iam_audit:finding_detail", args=[f.pk]),
    "findings_csv": lambda f: reverse("iam_audit:finding_list") + "?export=csv",
    "findings_xlsx": lambda f: reverse("iam_audit:finding_list") + "?export=xlsx",
    "findings_json": lambda f: reverse("iam_audit:finding_list") + "?export=json",
    "checks": lambda f: reverse("iam_audit:check_list"),
    "checks_csv": lambda f: reverse("iam_audit:check_list") + "?export=csv",
    "check": lambda f: reverse("iam_audit:check_detail", args=[f.check_id]),
    "baseline": lambda f: reverse("iam_audit:baseline"),
    "baseline_csv": lambda f: reverse("iam_audit:baseline") + "?export=csv",
    "baseline_xlsx": lambda f: reverse("iam_audit:baseline") + "?export=xlsx",
    "home": lambda f: reverse("home"),
    "account_page": lambda f: reverse("accounts:account_detail", args=[f.account_id]),
    "accounts": lambda f: reverse("accounts:account_list"),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(READ_URLS))
def test_reading_is_for_every_logged_in_user_and_nobody_else(
    as_role: Any, role: str, page: str, finding: Finding
) -> None:
    response = as_role(role).get(READ_URLS[page](finding))
    if role == "anonymous":
        assert_login_redirect(response)
        assert "attachment" not in response.get("Content-Disposition", "")
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_only_the_security_team_sees_triage_controls(as_role: Any, role: str, finding: Finding) -> None:
    if role == "anonymous":
        return
    client = as_role(role)
    listing = client.get(reverse("iam_audit:finding_list")).content.decode()
    detail = client.get(reverse("iam_audit:finding_detail", args=[finding.pk])).content.decode()
    baseline = client.get(reverse("iam_audit:baseline")).content.decode()
    shown = role == "security"
    assert ('id="triage-form"' in listing) is shown
    assert ('name="ids"' in listing) is shown
    assert ("Suppress" in detail and 'name="justification"' in detail) is shown
    assert (reverse("iam_audit:baseline_settings") in baseline) is shown


def _suppress(client: Client, finding: Finding) -> Any:
    return client.post(
        reverse("iam_audit:finding_triage"),
        {"action": "suppress", "ids": [finding.pk], "reason": "accepted-risk", "justification": "bastion"},
    )


@pytest.mark.parametrize("role", ROLES)
def test_suppressing_is_for_the_security_team_only(as_role: Any, role: str, finding: Finding) -> None:
    response = _suppress(as_role(role), finding)
    finding.refresh_from_db()
    if role == "security":
        assert response.status_code == 302
        assert finding.status == FindingStatus.SUPPRESSED
        return
    if role == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == 403
    assert finding.status == FindingStatus.OPEN
    assert not FindingEvent.objects.filter(finding=finding, kind="suppressed").exists()


@pytest.mark.parametrize("role", ROLES)
def test_lifting_a_suppression_is_for_the_security_team_only(
    as_role: Any, role: str, finding: Finding, security_user: Any
) -> None:
    from iam_audit import engine

    engine.suppress([finding], user=security_user, reason="false-positive", justification="tagged")
    response = as_role(role).post(
        reverse("iam_audit:finding_triage"), {"action": "unsuppress", "ids": [finding.pk]}
    )
    finding.refresh_from_db()
    if role == "security":
        assert response.status_code == 302 and finding.status == FindingStatus.REOPENED
        return
    assert response.status_code == (302 if role == "anonymous" else 403)
    assert finding.status == FindingStatus.SUPPRESSED


@pytest.mark.parametrize("role", ROLES)
def test_triage_refuses_get(as_role: Any, role: str) -> None:
    response = as_role(role).get(reverse("iam_audit:finding_triage"))
    assert response.status_code == (302 if role == "anonymous" else 405)


@pytest.mark.parametrize("role", ROLES)
def test_baseline_settings_are_for_the_security_team_only(as_role: Any, role: str) -> None:
    client = as_role(role)
    page = client.get(reverse("iam_audit:baseline_settings"))
    save = client.post(reverse("iam_audit:baseline_settings"), {})  # every box unticked: all off
    if role == "security":
        assert page.status_code == 200 and save.status_code == 302
        assert BaselineSetting.objects.filter(enabled=False).exists()
        return
    if role == "anonymous":
        assert_login_redirect(page)
        assert_login_redirect(save)
    else:
        assert page.status_code == 403 and save.status_code == 403
    assert not BaselineSetting.objects.exists()


ODD = "<script>alert(1)</script>"


@pytest.mark.parametrize(
    "url",
    [
        "/audit/findings/?sort=nonsense&page=abc&columns=zzz",
        "/audit/findings/?account=abc&check=" + ODD + "&severity=" + ODD,
        "/audit/findings/?q=" + "x" * 5000,
        "/audit/findings/?first_seen_after=2026-13-45&region=" + ODD,
        "/audit/findings/?export=json&status=" + ODD,
        "/audit/findings/?export=pdf",
        "/audit/checks/?sort=nonsense&scope=" + ODD + "&q=" + ODD,
        "/audit/checks/?page=9999",
        "/audit/baseline/?sort=" + ODD + "&environment=" + ODD + "&q=" + ODD,
        "/audit/baseline/?export=pdf",
    ],
)
def test_odd_query_strings_never_crash_nor_echo_markup(as_role: Any, url: str, finding: Finding) -> None:
    response = as_role("viewer").get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert ODD.encode() not in body
