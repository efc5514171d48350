"""The permission matrix: every role against every registry action, enforced on the server."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from accounts.models import AwsAccount, Team
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["security", "owner_of_this", "owner_of_other", "viewer", "anonymous"]


@pytest.fixture
def as_role(
    client: Client, security_user: Any, owner_user: Any, other_owner_user: Any, viewer_user: Any
) -> Any:
    """Log the test client in as a role (by name); returns the client."""

    def login(role: str) -> Client:
        user = {
            "security": security_user,
            "owner_of_this": owner_user,
            "owner_of_other": other_owner_user,
            "viewer": viewer_user,
            "anonymous": AnonymousUser(),
        }[role]
        if role != "anonymous":
            client.force_login(user)
        return client

    return login


def assert_login_redirect(response: Any) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


READ_EXPECTED = {"security": 200, "owner_of_this": 200, "owner_of_other": 200, "viewer": 200}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "action", ["list", "view", "history", "export_csv", "export_xlsx", "team_list", "team_view"]
)
def test_reading_is_for_every_logged_in_user_and_nobody_else(
    as_role: Any, role: str, action: str, own_account: AwsAccount
) -> None:
    url = {
        "list": reverse("accounts:account_list"),
        "view": reverse("accounts:account_detail", args=[own_account.pk]),
        "history": reverse("accounts:account_history", args=[own_account.pk]),
        "export_csv": reverse("accounts:account_list") + "?export=csv",
        "export_xlsx": reverse("accounts:account_list") + "?export=xlsx&environment=dev",
        "team_list": reverse("accounts:team_list"),
        "team_view": reverse("accounts:team_detail", args=[own_account.owner_id]),
    }[action]
    response = as_role(role).get(url)
    if role == "anonymous":
        assert_login_redirect(response)
        assert "attachment" not in response.get("Content-Disposition", "")
    else:
        assert response.status_code == READ_EXPECTED[role]


EDIT_ALLOWED = {"security": True, "owner_of_this": True, "owner_of_other": False, "viewer": False}


@pytest.mark.parametrize("role", ROLES)
def test_edit_page_opens_only_for_security_and_the_owning_team(
    as_role: Any, role: str, own_account: AwsAccount
) -> None:
    response = as_role(role).get(reverse("accounts:account_edit", args=[own_account.pk]))
    if role == "anonymous":
        assert_login_redirect(response)
    else:
        assert response.status_code == (200 if EDIT_ALLOWED[role] else 403)


@pytest.mark.parametrize("role", ROLES)
def test_edit_post_changes_the_account_only_for_security_and_the_owning_team(
    as_role: Any, role: str, own_account: AwsAccount
) -> None:
    response = as_role(role).post(
        reverse("accounts:account_edit", args=[own_account.pk]),
        {
            "description": "rewritten",
            "contact_email": "",
            "notes": "",
            "allowed_regions": "",
            "account_id": own_account.account_id,
            "name": own_account.name,
            "environment": own_account.environment,
            "status": own_account.status,
            "owner": own_account.owner_id or "",
            "collection_enabled": "on",
        },
    )
    own_account.refresh_from_db()
    if role == "anonymous":
        assert_login_redirect(response)
        assert own_account.description == "Card processing"
    elif EDIT_ALLOWED[role]:
        assert response.status_code == 302
        assert own_account.description == "rewritten"
    else:
        assert response.status_code == 403
        assert own_account.description == "Card processing"
        assert own_account.history.count() == 1  # only the creation


def test_owner_edits_only_the_descriptive_fields(
    client: Client, owner_user: Any, own_account: AwsAccount
) -> None:
    client.force_login(owner_user)
    form = client.get(reverse("accounts:account_edit", args=[own_account.pk])).context["form"]
    assert set(form.fields) == {"description", "contact_email", "notes", "change_reason"}

    response = client.post(
        reverse("accounts:account_edit", args=[own_account.pk]),
        # security fields posted with their current values (an old page saved again) are no change
        {
            "description": "owner note",
            "allowed_regions": "",
            "collection_enabled": "on",
            "name": own_account.name,
        },
    )
    assert response.status_code == 302
    own_account.refresh_from_db()
    assert own_account.description == "owner note"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("allowed_regions", "eu-west-1"),
        ("collection_excluded_regions", "ap-southeast-2"),
        ("account_id", "999999999999"),
        ("name", "renamed"),
        ("environment", "sandbox"),
        ("status", "closed"),
        ("read_role", "arn:aws:iam::999999999999:role/Evil"),
        ("collection_enabled", ""),
    ],
)
def test_owner_post_changing_a_security_field_gets_403_and_changes_nothing(
    client: Client, owner_user: Any, own_account: AwsAccount, field: str, value: str
) -> None:
    before = AwsAccount.objects.filter(pk=own_account.pk).values().get()
    client.force_login(owner_user)
    response = client.post(
        reverse("accounts:account_edit", args=[own_account.pk]), {"description": "owner note", field: value}
    )
    assert response.status_code == 403
    assert AwsAccount.objects.filter(pk=own_account.pk).values().get() == before
    assert own_account.history.count() == 1  # only the creation


def test_security_edits_allowed_regions_and_the_regions_not_collected(
    client: Client, security_user: Any, own_account: AwsAccount
) -> None:
    client.force_login(security_user)
    response = client.post(
        reverse("accounts:account_edit", args=[own_account.pk]),
        {
            "account_id": own_account.account_id,
            "name": own_account.name,
            "environment": own_account.environment,
            "status": own_account.status,
            "owner": own_account.owner_id,
            "collection_enabled": "on",
            "allowed_regions": "eu-west-1, eu-central-1",
            "collection_excluded_regions": "ap-east-1",
        },
    )
    assert response.status_code == 302
    own_account.refresh_from_db()
    assert own_account.allowed_regions == ["eu-west-1", "eu-central-1"]
    assert own_account.collection_excluded_regions == ["ap-east-1"]
    page = client.get(own_account.get_absolute_url()).content.decode()
    assert "eu-west-1, eu-central-1" in page and "ap-east-1" in page


@pytest.mark.parametrize("role", ROLES)
def test_only_security_creates_accounts(as_role: Any, role: str) -> None:
    client = as_role(role)
    get = client.get(reverse("accounts:account_create"))
    post = client.post(
        reverse("accounts:account_create"),
        {
            "account_id": "121212121212",
            "name": "new",
            "environment": "dev",
            "status": "active",
            "collection_enabled": "on",
        },
    )
    created = AwsAccount.objects.filter(account_id="121212121212").exists()
    if role == "anonymous":
        assert_login_redirect(get)
        assert_login_redirect(post)
        assert not created
    elif role == "security":
        assert (get.status_code, post.status_code, created) == (200, 302, True)
    else:
        assert (get.status_code, post.status_code, created) == (403, 403, False)


@pytest.mark.parametrize("role", ROLES)
def test_only_security_deletes_accounts(as_role: Any, role: str, own_account: AwsAccount) -> None:
    client = as_role(role)
    url = reverse("accounts:account_delete", args=[own_account.pk])
    get = client.get(url)
    post = client.post(url)
    exists = AwsAccount.objects.filter(pk=own_account.pk).exists()
    if role == "anonymous":
        assert_login_redirect(get)
        assert_login_redirect(post)
        assert exists
    elif role == "security":
        assert (get.status_code, post.status_code, exists) == (200, 302, False)
    else:
        assert (get.status_code, post.status_code, exists) == (403, 403, True)


@pytest.mark.parametrize("role", ROLES)
def test_only_security_imports(as_role: Any, role: str, own_account: AwsAccount) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = as_role(role)
    get = client.get(reverse("accounts:import_upload"))
    upload = SimpleUploadedFile("a.csv", b"Account ID,Name\n343434343434,imported\n", content_type="text/csv")
    post = client.post(reverse("accounts:import_upload"), {"file": upload})
    preview = client.get(reverse("accounts:import_preview"))
    confirm = client.post(reverse("accounts:import_confirm"), {"token": "forged"})
    if role == "anonymous":
        for response in (get, post, preview, confirm):
            assert_login_redirect(response)
    elif role == "security":
        assert (get.status_code, post.status_code, preview.status_code) == (200, 302, 200)
    else:
        assert [r.status_code for r in (get, post, preview, confirm)] == [403, 403, 403, 403]
    assert not AwsAccount.objects.filter(account_id="343434343434").exists()


@pytest.mark.parametrize("role", ROLES)
def test_only_security_creates_edits_and_deletes_teams(
    as_role: Any, role: str, own_account: AwsAccount
) -> None:
    client = as_role(role)
    team = own_account.owner
    create = client.post(reverse("accounts:team_create"), {"name": "Forged team"})
    edit = client.post(reverse("accounts:team_edit", args=[team.pk]), {"name": "Renamed"})
    delete = client.post(reverse("accounts:team_delete", args=[team.pk]))
    team_names = set(Team.objects.values_list("name", flat=True))
    if role == "security":
        assert [create.status_code, edit.status_code, delete.status_code] == [302, 302, 302]
        assert "Forged team" in team_names and "Renamed" not in team_names  # renamed, then deleted
        own_account.refresh_from_db()
        assert own_account.owner_id is None
    else:
        if role == "anonymous":
            for response in (create, edit, delete):
                assert_login_redirect(response)
        else:
            assert [create.status_code, edit.status_code, delete.status_code] == [403, 403, 403]
        assert "Forged team" not in team_names and team.name in team_names


def test_buttons_follow_the_same_rules_as_the_server(
    client: Client,
    owner_user: Any,
    viewer_user: Any,
    security_user: Any,
    own_account: AwsAccount,
    other_account: AwsAccount,
) -> None:
    edit_own = reverse("accounts:account_edit", args=[own_account.pk])
    edit_other = reverse("accounts:account_edit", args=[other_account.pk])
    client.force_login(owner_user)
    assert edit_own in client.get(own_account.get_absolute_url()).content.decode()
    page = client.get(other_account.get_absolute_url()).content.decode()
    assert edit_other not in page
    assert reverse("accounts:account_delete", args=[other_account.pk]) not in page
    assert (
        reverse("accounts:import_upload") not in client.get(reverse("accounts:account_list")).content.decode()
    )
    client.force_login(viewer_user)
    assert edit_own not in client.get(own_account.get_absolute_url()).content.decode()
    client.force_login(security_user)
    page = client.get(other_account.get_absolute_url()).content.decode()
    assert edit_other in page and reverse("accounts:account_delete", args=[other_account.pk]) in page


def test_inactive_security_member_is_not_security(client: Client) -> None:
    user = UserFactory(username="gone", security=True, is_active=False)
    client.force_login(user)  # force_login bypasses the active check; the role check must not
    assert client.get(reverse("accounts:account_create")).status_code in (302, 403)


@pytest.mark.parametrize(
    ("flags", "allowed"),
    [({"is_staff": True}, False), ({"is_staff": True, "is_superuser": True}, True), ({}, False)],
)
def test_django_admin_is_for_superusers_only(client: Client, flags: dict[str, bool], allowed: bool) -> None:
    user = UserFactory(username="adm", **flags)
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
    change = client.get(reverse("admin:accounts_awsaccount_changelist"))
    assert (change.status_code == 200) is allowed


@pytest.mark.parametrize("role", ROLES)
def test_only_security_designates_the_identity_account(
    as_role: Any, role: str, own_account: AwsAccount
) -> None:
    AwsAccount.objects.filter(pk=own_account.pk).update(environment="security", environment_guessed=True)
    client = as_role(role)
    url = reverse("accounts:designate_identity", args=[own_account.pk])
    get = client.get(url)
    post = client.post(url)
    own_account.refresh_from_db()
    if role == "anonymous":
        assert_login_redirect(post)
    elif role == "security":
        assert get.status_code == 405 and post.status_code == 302
        assert own_account.is_designated_identity
        return
    else:
        assert post.status_code == 403
    assert (own_account.environment, own_account.environment_guessed) == ("security", True)


def test_the_security_teams_form_makes_a_guessed_environment_its_own(
    client: Client, security_user: Any, own_account: AwsAccount
) -> None:
    AwsAccount.objects.filter(pk=own_account.pk).update(environment_guessed=True)
    client.force_login(security_user)
    url = reverse("accounts:account_edit", args=[own_account.pk])
    data = {
        "account_id": own_account.account_id,
        "name": own_account.name,
        "status": "active",
        "collection_enabled": "on",
        "owner": own_account.owner_id,
    }
    client.post(url, {**data, "environment": own_account.environment, "notes": "unrelated"})
    own_account.refresh_from_db()
    assert own_account.environment_guessed  # saving other fields confirms nothing
    page = client.get(reverse("accounts:account_detail", args=[own_account.pk])).content.decode()
    assert "guessed from the name" in page
    client.post(url, {**data, "environment": "identity"})
    own_account.refresh_from_db()
    assert own_account.is_designated_identity
