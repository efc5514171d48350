"""The page actions: "Discover accounts" and "Test access" (security team only, POST only)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.choices import AccessStatus
from accounts.models import AwsAccount
from inventory import discovery
from inventory.aws.session import Hub
from inventory.simulation.estate import Estate
from inventory.simulation.proxy import FaultProxy
from tests.factories import AwsAccountFactory
from tests.inventory.simulation.support import make_hub

pytestmark = [pytest.mark.moto, pytest.mark.django_db]

DISCOVER = reverse("inventory:discover_accounts")


@pytest.fixture
def use_hub(monkeypatch: pytest.MonkeyPatch, hub: Hub, settings: object) -> Callable[[Hub], None]:
    """The views build their Hub from settings; point them at the simulated estate instead."""
    settings.SKYLEDGER_DISCOVERY_ROLE_ARN = ""  # type: ignore[attr-defined]

    def use(chosen: Hub) -> None:
        monkeypatch.setattr(discovery, "_hub", lambda: chosen)

    use(hub)
    return use


def messages_of(response: object) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]


def test_security_team_discovers_accounts_and_lands_on_the_list(
    client: Client, security_user: object, estate: Estate, use_hub: object
) -> None:
    client.force_login(security_user)
    response = client.post(DISCOVER)
    assert response.status_code == 302 and response.url == reverse("accounts:account_list")
    assert AwsAccount.objects.count() == len(estate.accounts)
    [message] = messages_of(response)
    assert message.startswith("Discovery done.") and f"{len(estate.accounts)} new" in message
    assert set(AwsAccount.history.values_list("history_user_id", flat=True)) == {None}


def test_discovery_failure_is_a_message_not_an_error_page(
    client: Client, security_user: object, estate: Estate, use_hub: Callable[[Hub], None]
) -> None:
    with FaultProxy(estate.endpoint_url) as proxy:
        proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")
        use_hub(make_hub(estate, proxy.url))
        client.force_login(security_user)
        response = client.post(DISCOVER)
    assert response.status_code == 302
    [message] = messages_of(response)
    assert message.startswith("Discovery failed:") and "could not be assumed" in message


@pytest.mark.parametrize("who", ["viewer_user", "owner_user"])
def test_others_may_not_discover(
    client: Client, who: str, request: pytest.FixtureRequest, use_hub: object
) -> None:
    client.force_login(request.getfixturevalue(who))
    assert client.post(DISCOVER).status_code == 403
    assert AwsAccount.objects.count() == 0


def test_anonymous_visitors_are_sent_to_log_in(client: Client, use_hub: object) -> None:
    account = AwsAccountFactory()
    for url in (DISCOVER, reverse("inventory:check_account_access", args=[account.pk])):
        response = client.post(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert AwsAccount.objects.count() == 1


def test_actions_answer_only_post(client: Client, security_user: object, use_hub: object) -> None:
    account = AwsAccountFactory()
    client.force_login(security_user)
    assert client.get(DISCOVER).status_code == 405
    assert client.get(reverse("inventory:check_account_access", args=[account.pk])).status_code == 405
    assert AwsAccount.objects.get(pk=account.pk).access_status == AccessStatus.UNKNOWN


def test_security_team_tests_access_and_returns_to_the_account(
    client: Client, security_user: object, estate: Estate, hub: Hub, use_hub: object
) -> None:
    discovery.discover_accounts(hub, discovery_role_arn="")
    account = AwsAccount.objects.get(account_id=estate.account("dev").id)
    client.force_login(security_user)
    response = client.post(reverse("inventory:check_account_access", args=[account.pk]))
    assert response.status_code == 302 and response.url == account.get_absolute_url()
    [message] = messages_of(response)
    assert message.startswith("Access OK:") and account.account_id in message
    account.refresh_from_db()
    assert account.access_status == AccessStatus.OK


def test_failed_access_shows_the_classified_reason(
    client: Client, security_user: object, estate: Estate, hub: Hub, use_hub: Callable[[Hub], None]
) -> None:
    discovery.discover_accounts(hub, discovery_role_arn="")
    account = AwsAccount.objects.get(account_id=estate.account("staging").id)
    with FaultProxy(estate.endpoint_url) as proxy:
        proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")
        use_hub(make_hub(estate, proxy.url))
        client.force_login(security_user)
        response = client.post(reverse("inventory:check_account_access", args=[account.pk]))
    assert response.url == account.get_absolute_url()
    [message] = messages_of(response)
    assert message.startswith("Access failed — role-missing:")
    account.refresh_from_db()
    assert (account.access_status, account.access_error_code) == (AccessStatus.FAILED, "role-missing")


@pytest.mark.parametrize("who", ["viewer_user", "owner_user"])
def test_others_may_not_test_access(
    client: Client, who: str, request: pytest.FixtureRequest, owner_team: object, use_hub: object
) -> None:
    account = AwsAccountFactory(owner=owner_team)  # even the owning team: checks are for the security team
    client.force_login(request.getfixturevalue(who))
    assert client.post(reverse("inventory:check_account_access", args=[account.pk])).status_code == 403
    assert AwsAccount.objects.get(pk=account.pk).access_status == AccessStatus.UNKNOWN


def test_unknown_account_is_404_for_the_security_team(
    client: Client, security_user: object, use_hub: object
) -> None:
    client.force_login(security_user)
    assert client.post(reverse("inventory:check_account_access", args=[999999])).status_code == 404


def test_others_get_403_even_for_an_unknown_account(
    client: Client, viewer_user: object, use_hub: object
) -> None:
    client.force_login(viewer_user)
    assert client.post(reverse("inventory:check_account_access", args=[999999])).status_code == 403
