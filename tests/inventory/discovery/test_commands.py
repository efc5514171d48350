"""``manage.py discover_accounts`` and ``manage.py check_access``: output and exit status."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.choices import AccessStatus
from accounts.models import AwsAccount
from inventory import discovery
from inventory.aws.session import Hub
from inventory.simulation.estate import Estate
from inventory.simulation.proxy import FaultProxy
from tests.inventory.simulation.support import make_hub

pytestmark = [pytest.mark.moto, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _estate_hub(monkeypatch: pytest.MonkeyPatch, hub: Hub, settings: object) -> None:
    settings.SKYLEDGER_DISCOVERY_ROLE_ARN = ""  # type: ignore[attr-defined]
    monkeypatch.setattr(discovery, "_hub", lambda: hub)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_discover_accounts_prints_what_changed_and_is_quiet_the_second_time(estate: Estate) -> None:
    first = run("discover_accounts")
    assert (
        f"Organization {estate.organization_id}: {len(estate.accounts)} new, 0 updated, 0 unchanged." in first
    )
    assert f"  + {estate.account('prod').id} created" in first
    second = run("discover_accounts", "--quiet")
    assert (
        second.strip()
        == f"Organization {estate.organization_id}: 0 new, 0 updated, {len(estate.accounts)} unchanged."
    )


def test_discover_accounts_exits_non_zero_with_the_reason(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FaultProxy(estate.endpoint_url) as proxy:
        proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")
        monkeypatch.setattr(discovery, "_hub", lambda: make_hub(estate, proxy.url))
        with pytest.raises(CommandError, match=r"Discovery failed \(role-missing\)"):
            run("discover_accounts")


def test_check_access_reports_every_account_ok(estate: Estate) -> None:
    run("discover_accounts")
    output = run("check_access")
    assert output.count("\nok ") + output.startswith("ok ") == len(estate.accounts)
    assert f"{len(estate.accounts)} of {len(estate.accounts)} accounts reachable." in output
    assert set(AwsAccount.objects.values_list("access_status", flat=True)) == {AccessStatus.OK}


def test_check_access_of_one_account_fails_non_zero_and_records_it(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("discover_accounts")
    sandbox = estate.account("sandbox").id
    with FaultProxy(estate.endpoint_url) as proxy:
        proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")
        monkeypatch.setattr(discovery, "_hub", lambda: make_hub(estate, proxy.url))
        out = io.StringIO()
        with pytest.raises(CommandError, match="0 of 1 accounts reachable"):
            call_command("check_access", "--account", sandbox, stdout=out)
    assert f"FAILED  {sandbox} sandbox: role-missing:" in out.getvalue()
    statuses = dict(AwsAccount.objects.values_list("account_id", "access_status"))
    assert statuses.pop(sandbox) == AccessStatus.FAILED
    assert set(statuses.values()) == {AccessStatus.UNKNOWN}  # only the one asked for


def test_check_access_refuses_accounts_not_in_the_registry() -> None:
    with pytest.raises(CommandError, match="Not in the registry: 999999999999"):
        run("check_access", "--account", "999999999999")
