"""Access checks: the read role of every simulated account, and classified failures through a proxy."""

from __future__ import annotations

import pytest

from accounts.choices import AccessStatus
from accounts.models import AwsAccount
from inventory.aws.session import Hub
from inventory.discovery import check_account_access, check_accounts_access, discover_accounts
from inventory.simulation.estate import Estate
from inventory.simulation.proxy import FaultProxy
from tests.inventory.simulation.support import make_hub

pytestmark = [pytest.mark.moto, pytest.mark.django_db]


@pytest.fixture
def registry(estate: Estate, hub: Hub) -> list[AwsAccount]:
    discover_accounts(hub, discovery_role_arn="")
    return list(AwsAccount.objects.order_by("account_id"))


def test_every_simulated_account_is_reachable_and_recorded_ok(
    estate: Estate, hub: Hub, registry: list[AwsAccount]
) -> None:
    history = AwsAccount.history.count()
    results = check_accounts_access(registry, hub, workers=4)
    assert [r.error for _, r in results] == [None] * len(estate.accounts)
    for account, result in results:
        assert result.identity_arn.startswith(
            f"arn:aws:sts::{account.account_id}:assumed-role/{estate.spec.read_role}/"
        )
        assert set(estate.spec.regions) <= set(result.regions)  # no allow-list here: every enabled region
    for account in AwsAccount.objects.all():
        assert account.access_status == AccessStatus.OK
        assert account.access_checked_at is not None
        assert (account.access_error_code, account.access_message) == ("", "")
    assert AwsAccount.history.count() == history  # a check is not an edit


def test_a_role_that_cannot_be_assumed_is_recorded_with_its_reason(
    estate: Estate, registry: list[AwsAccount]
) -> None:
    account = next(a for a in registry if a.account_id == estate.account("sandbox").id)
    updated, history = account.updated, AwsAccount.history.count()
    with FaultProxy(estate.endpoint_url) as proxy:
        proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied", times=1)
        result = check_account_access(account, make_hub(estate, proxy.url))
    assert not result.ok and result.error is not None
    account.refresh_from_db()
    assert account.access_status == AccessStatus.FAILED
    assert account.access_error_code == "role-missing"
    assert "could not be assumed" in account.access_message
    assert account.updated == updated and AwsAccount.history.count() == history


def test_with_an_external_id_the_failure_names_the_external_id(
    estate: Estate, registry: list[AwsAccount]
) -> None:
    account = next(a for a in registry if a.account_id == estate.account("prod").id)
    account.external_id = "wrong-id"
    account.save()
    with FaultProxy(estate.endpoint_url) as proxy:
        proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied", times=1)
        check_account_access(account, make_hub(estate, proxy.url))
        sent = proxy.seen("sts", "AssumeRole")[0].params
    account.refresh_from_db()
    assert account.access_error_code == "external-id-mismatch"
    assert sent["ExternalId"] == "wrong-id" and sent["RoleArn"] == estate.read_role_arn(account.account_id)


def test_a_later_success_clears_the_recorded_failure(
    estate: Estate, hub: Hub, registry: list[AwsAccount]
) -> None:
    account = registry[0]
    with FaultProxy(estate.endpoint_url) as proxy:
        proxy.add_rule(service="sts", operation="AssumeRole", status=400, code="Throttling")
        failed = check_account_access(account, make_hub(estate, proxy.url, max_attempts=1))
    assert failed.error is not None and failed.error.kind.value == "throttled"
    assert check_account_access(account, hub).ok
    account.refresh_from_db()
    assert (account.access_status, account.access_error_code, account.access_message) == (
        AccessStatus.OK,
        "",
        "",
    )
