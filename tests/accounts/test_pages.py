"""Account and team pages: editing with history, panels, optional action buttons, teams."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AwsAccount, Team
from core import panels as panel_registry
from tests.factories import AwsAccountFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_edit_writes_history_with_who_what_and_why(
    client: Client, owner_user: Any, own_account: AwsAccount
) -> None:
    client.force_login(owner_user)
    response = client.post(
        reverse("accounts:account_edit", args=[own_account.pk]),
        {
            "description": "Card processing and refunds",
            "notes": "Runs in eu-west-1 only",
            "change_reason": "PCI scope review",
        },
    )
    assert response.status_code == 302
    latest = own_account.history.latest()
    assert latest.history_user == owner_user
    assert latest.history_change_reason == "PCI scope review"
    page = client.get(reverse("accounts:account_history", args=[own_account.pk])).content.decode()
    assert "PCI scope review" in page and "owner" in page
    assert "Card processing</td>" in page.replace("\n", "") or "Card processing" in page
    assert "Card processing and refunds" in page
    assert "eu-west-1" in page


def test_edit_without_a_reason_records_a_default_one(
    client: Client, security_user: Any, own_account: AwsAccount
) -> None:
    client.force_login(security_user)
    data = {
        "account_id": own_account.account_id,
        "name": "renamed",
        "environment": "prod",
        "status": "active",
        "owner": own_account.owner_id,
        "collection_enabled": "on",
    }
    client.post(reverse("accounts:account_edit", args=[own_account.pk]), data)
    assert own_account.history.latest().history_change_reason == "Edited in the registry"
    entries = client.get(reverse("accounts:account_history", args=[own_account.pk])).context["entries"]
    changes = {c.label: (c.old, c.new) for c in entries[0].changes}
    assert changes["Name"] == ("payments-prod", "renamed")
    assert changes["Environment"] == ("Development", "Production")
    assert changes["Description"] == ("Card processing", "—")  # the form cleared it


def test_an_unchanged_save_records_nothing(client: Client, owner_user: Any, own_account: AwsAccount) -> None:
    client.force_login(owner_user)
    response = client.post(
        reverse("accounts:account_edit", args=[own_account.pk]),
        {"description": "Card processing"},
        follow=True,
    )
    assert "Nothing changed." in response.content.decode()
    assert own_account.history.count() == 1


def test_edit_form_shows_clear_validation_messages(
    client: Client, security_user: Any, own_account: AwsAccount
) -> None:
    client.force_login(security_user)
    response = client.post(
        reverse("accounts:account_edit", args=[own_account.pk]),
        {
            "account_id": "12345678901",
            "name": "",
            "environment": "moon",
            "status": "active",
            "allowed_regions": "eu-west-1 atlantis",
            "read_role": "arn:aws:iam::123456789012:user/bob",
            "contact_email": "not-an-email",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "exactly 12 digits" in errors["account_id"][0]
    assert set(errors) >= {"name", "environment", "allowed_regions", "read_role", "contact_email"}
    own_account.refresh_from_db()
    assert own_account.account_id == "555555555555"


def test_deleted_accounts_keep_a_readable_history(
    client: Client, security_user: Any, own_account: AwsAccount
) -> None:
    client.force_login(security_user)
    pk = own_account.pk
    client.post(reverse("accounts:account_delete", args=[pk]))
    page = client.get(reverse("accounts:account_history", args=[pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "has been deleted" in text and "Deleted from the registry" in text
    assert client.get(reverse("accounts:account_history", args=[987654])).status_code == 404


def test_history_is_paginated_and_diffs_across_page_boundaries(client: Client, viewer_user: Any) -> None:
    account = AwsAccountFactory(description="v0")
    for i in range(1, 60):
        account.description = f"v{i}"
        account.save()
    client.force_login(viewer_user)
    page1 = client.get(reverse("accounts:account_history", args=[account.pk])).context
    page2 = client.get(reverse("accounts:account_history", args=[account.pk]) + "?page=2").context
    assert len(page1["entries"]) == 50 and len(page2["entries"]) == 10
    last_of_page1 = page1["entries"][-1]
    assert [(c.old, c.new) for c in last_of_page1.changes] == [("v9", "v10")]
    assert page2["entries"][-1].kind == "Created"


def _panel_context(request: Any, account: AwsAccount) -> dict[str, Any]:
    return {"greeting": f"<b>{account.name}</b>"}


def _broken_panel(request: Any, account: AwsAccount) -> dict[str, Any]:
    raise RuntimeError("boom")


@pytest.fixture
def registered_panels(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, settings: Any) -> None:
    (tmp_path / "panel_test.html").write_text(
        '<p class="test-panel">{{ greeting }} for {{ account.account_id }}</p>'
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]
    monkeypatch.setattr(panel_registry, "_PANELS", {})
    panel_registry.register_panel(
        panel_registry.Panel("later", "Later", "panel_test.html", _panel_context, order=200)
    )
    panel_registry.register_panel(
        panel_registry.Panel("first", "First", "panel_test.html", _panel_context, order=10)
    )
    panel_registry.register_panel(
        panel_registry.Panel("broken", "Broken", "panel_test.html", _broken_panel, order=50)
    )


def test_registered_panels_render_in_order_with_their_context_and_a_broken_one_does_not_break_the_page(
    client: Client, viewer_user: Any, own_account: AwsAccount, registered_panels: None
) -> None:
    client.force_login(viewer_user)
    response = client.get(own_account.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index('id="panel-first"') < html.index('id="panel-broken"') < html.index('id="panel-later"')
    assert html.count("&lt;b&gt;payments-prod&lt;/b&gt; for 555555555555") == 2  # escaped panel data
    assert "The “Broken” panel could not be shown" in html


@pytest.mark.parametrize("route_exists", [True, False])
def test_action_buttons_appear_for_security_only_once_their_routes_exist(
    client: Client,
    security_user: Any,
    viewer_user: Any,
    own_account: AwsAccount,
    monkeypatch: pytest.MonkeyPatch,
    route_exists: bool,
) -> None:
    import accounts.views as views

    monkeypatch.setattr(
        views,
        "url_or_none",
        lambda name, *args: f"/fake/{name}/{'/'.join(map(str, args))}" if route_exists else None,
    )
    client.force_login(security_user)
    detail = client.get(own_account.get_absolute_url()).content.decode()
    listing = client.get(reverse("accounts:account_list")).content.decode()
    assert ("Test access" in detail) is route_exists
    assert (f"/fake/inventory:check_account_access/{own_account.pk}" in detail) is route_exists
    assert ("Discover accounts" in listing) is route_exists
    client.force_login(viewer_user)
    assert "Test access" not in client.get(own_account.get_absolute_url()).content.decode()
    assert "Discover accounts" not in client.get(reverse("accounts:account_list")).content.decode()


def test_security_creates_a_team_with_members_and_names_ignore_case(
    client: Client, security_user: Any
) -> None:
    alice = UserFactory(username="alice")
    TeamFactory(name="Payments")
    client.force_login(security_user)
    clash = client.post(reverse("accounts:team_create"), {"name": "  payments "})
    assert "already exists" in clash.content.decode()
    response = client.post(
        reverse("accounts:team_create"),
        {"name": "Data  Lake", "members": [alice.pk], "contact_email": "data@example.com"},
    )
    team = Team.objects.get(name="Data Lake")
    assert response["Location"] == team.get_absolute_url()
    assert list(team.members.all()) == [alice]
    page = client.get(team.get_absolute_url()).content.decode()
    assert "alice" in page and "data@example.com" in page


def test_team_page_lists_its_accounts_and_members(
    client: Client, viewer_user: Any, owner_user: Any, own_account: AwsAccount
) -> None:
    client.force_login(viewer_user)
    page = client.get(own_account.owner.get_absolute_url()).content.decode()
    assert "payments-prod" in page and "owner" in page
    assert reverse("accounts:team_edit", args=[own_account.owner_id]) not in page


def test_team_list_counts_accounts_and_members(
    client: Client, viewer_user: Any, owner_user: Any, own_account: AwsAccount
) -> None:
    AwsAccountFactory(owner=own_account.owner)
    client.force_login(viewer_user)
    rows = {
        row.record.name: row.record
        for row in client.get(reverse("accounts:team_list")).context["table"].paginated_rows
    }
    assert (rows["Payments"].account_count, rows["Payments"].member_count) == (2, 1)


def test_home_and_navigation_link_to_the_registry(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    html = client.get(reverse("home")).content.decode()
    assert reverse("accounts:account_list") in html


def test_team_history_shows_who_changed_fields_and_members_and_outlives_the_team(
    client: Client, security_user: Any, viewer_user: Any
) -> None:
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    client.force_login(security_user)
    client.post(
        reverse("accounts:team_create"),
        {"name": "Data", "members": [alice.pk], "description": "<script>alert(1)</script>"},
    )
    team = Team.objects.get(name="Data")
    client.post(
        reverse("accounts:team_edit", args=[team.pk]),
        {"name": "Data", "members": [bob.pk], "description": "Lakes", "change_reason": "re-org"},
    )
    history_url = reverse("accounts:team_history", args=[team.pk])

    client.force_login(viewer_user)  # history is readable by everyone logged in
    assert history_url in client.get(team.get_absolute_url()).content.decode()
    response = client.get(history_url)
    entries = response.context["entries"]
    assert entries[-1].kind == "Created" and entries[-1].user == security_user.get_username()
    assert {c.label: c.new for c in entries[-1].changes}["Name"] == "Data"
    changes = [(c.label, c.old, c.new) for e in entries for c in e.changes if e.kind == "Changed"]
    assert ("Description", "<script>alert(1)</script>", "Lakes") in changes
    # the form sets members after saving the team: each membership change is an entry of its own
    members = [(old, new) for label, old, new in changes if label == "Members"]
    assert members == [("—", "bob"), ("alice", "—"), ("—", "alice")]  # newest first
    assert "re-org" in {e.reason for e in entries}
    page = response.content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    # a member whose user is deleted, then the team itself: the history stays readable
    bob.delete()
    client.force_login(security_user)
    client.post(reverse("accounts:team_delete", args=[team.pk]))
    client.force_login(viewer_user)
    after = client.get(history_url)
    assert after.status_code == 200 and "has been deleted" in after.content.decode()
    assert after.context["entries"][0].kind == "Deleted"
    assert any("(deleted user #" in c.new for e in after.context["entries"] for c in e.changes)
    assert client.get(reverse("accounts:team_history", args=[team.pk + 1000])).status_code == 404


def test_team_history_needs_a_login_and_its_queries_do_not_grow_with_it(
    client: Client, viewer_user: Any, django_assert_max_num_queries: Any
) -> None:
    team = TeamFactory()
    url = reverse("accounts:team_history", args=[team.pk])
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(viewer_user)
    with django_assert_max_num_queries(20) as first:
        client.get(url)
    for i in range(60):  # more than a history page
        user = UserFactory(username=f"member-{i}")
        team.members.add(user)
        team.description = f"v{i}"
        team.save()
    with django_assert_max_num_queries(len(first.captured_queries) + 1):  # + the usernames
        response = client.get(url)
    assert response.status_code == 200 and len(response.context["entries"]) == 50
