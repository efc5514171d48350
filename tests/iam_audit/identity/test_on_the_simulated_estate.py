"""The identity account on a fresh discovery of the simulated organisation, whose identity account is
called "corp-directory": guesses designate nothing, the check waits for the security team, the
account list and home page ask for it and suggest the right account, and designating it settles it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import Environment
from accounts.models import AwsAccount
from accounts.services import guess_environment
from iam_audit import identity
from iam_audit.checks.base import REGISTRY, Status, evaluate
from iam_audit.snapshots import build, org_context_for_estate
from inventory.aws.session import Hub
from inventory.collectors import base
from inventory.discovery import discover_accounts
from inventory.models import RunState
from inventory.services.collect import AwsAccess, collect_account
from inventory.services.runs import create_run
from inventory.simulation.estate import Estate

pytestmark = [pytest.mark.django_db, pytest.mark.moto, pytest.mark.slow]


@pytest.fixture
def discovered(estate: Estate, hub: Hub) -> dict[str, AwsAccount]:
    """A fresh discovery, then every account's IAM and the organisation collected."""
    discover_accounts(hub, read_role=estate.spec.read_role, discovery_role_arn="")
    collectors = base.collectors(lambda c: c.service in {"iam", "organizations"})
    accounts = {}
    for key, info in estate.accounts.items():
        account = AwsAccount.objects.get(account_id=info.id)
        account.allowed_regions = list(estate.spec.regions)
        account.save(update_fields=["allowed_regions"])
        run = collect_account(
            account, create_run(account), access=AwsAccess(hub), collectors=collectors, region_workers=1
        )
        assert run.state == RunState.DONE, (key, run.message, run.errors)
        accounts[key] = account
    return accounts


def _outside_identity(account: AwsAccount) -> Any:
    account.refresh_from_db()
    org = org_context_for_estate().for_account(account.account_id)
    snap, _ = build(account, org=org)
    [result] = list(evaluate(REGISTRY["iam.user_outside_identity"], snap))
    return result


def test_no_user_is_outside_an_identity_account_until_the_security_team_designates_one(
    estate: Estate, discovered: dict[str, AwsAccount], client: Client, security_user: Any, viewer_user: Any
) -> None:
    directory = discovered["identity"]
    assert directory.name == "corp-directory"
    # discovery guessed every environment from names (the identity account reads as "security"), and
    # said so; only the management account's is AWS's fact
    assert (
        directory.environment == guess_environment("corp-directory", "Root/Security") == Environment.SECURITY
    )
    assert all(a.environment_guessed for k, a in discovered.items() if k != "org-root")
    assert not discovered["org-root"].environment_guessed

    results = {key: _outside_identity(a) for key, a in discovered.items()}
    assert not [k for k, r in results.items() if r.status == Status.FAIL]
    assert results["identity"].status == Status.UNKNOWN
    assert "No identity account is designated" in results["identity"].summary
    with_users = {k for k, r in results.items() if r.status == Status.UNKNOWN}
    assert "identity" in with_users and all(
        results[k].status == Status.PASS for k in set(results) - with_users
    )

    # the suggestion: the account holding the most users, trusted by other accounts' roles
    suggested = identity.suggestion()
    assert suggested is not None and suggested.account.pk == directory.pk
    assert suggested.users >= 5 and suggested.trusted_by >= len(estate.accounts) - 2

    # everyone sees the prompt; only the security team gets the button, and only it may use it
    client.force_login(viewer_user)
    for url in (reverse("accounts:account_list"), reverse("home")):
        body = client.get(url).content.decode()
        assert "No identity account is designated" in body and "corp-directory" in body
        assert reverse("accounts:designate_identity", args=[directory.pk]) not in body
    assert "guessed from the name" in client.get(reverse("accounts:account_list")).content.decode()
    designate = reverse("accounts:designate_identity", args=[directory.pk])
    assert client.post(designate).status_code == 403
    directory.refresh_from_db()
    assert directory.environment == Environment.SECURITY and directory.environment_guessed

    client.force_login(security_user)
    assert designate in client.get(reverse("accounts:account_list")).content.decode()
    assert client.post(designate).status_code == 302
    directory.refresh_from_db()
    assert directory.is_designated_identity
    assert directory.history.first().history_change_reason == "Designated as the identity account"
    assert "No identity account is designated" not in client.get(reverse("home")).content.decode()

    assert _outside_identity(directory).status == Status.NOT_APPLICABLE
    after = {key: _outside_identity(a).status for key, a in discovered.items() if key != "identity"}
    assert set(after.values()) <= {Status.PASS, Status.FAIL}
    assert {k for k, s in after.items() if s == Status.FAIL} == {k for k in with_users if k != "identity"}
