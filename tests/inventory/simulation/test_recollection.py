"""Collecting an unchanged estate again records no change.

Collecting itself moves some values (the read role's ``RoleLastUsed``: it was just used; RDS's
``LatestRestorableTime``; a trail's latest delivery): they are stored with their latest value, but
they are not changes, so a second collection of the simulated estate, with nothing changed in
between, records 0 changed resources and 0 revisions.
"""

from __future__ import annotations

import pytest

from accounts.models import AwsAccount
from inventory import hooks
from inventory.aws.session import Hub
from inventory.models import Resource, ResourceRevision, RunState
from inventory.services.collect import AwsAccess, collect_account
from inventory.services.runs import create_run
from inventory.simulation.estate import Estate
from tests.inventory.simulation.support import register_accounts

pytestmark = [pytest.mark.django_db, pytest.mark.moto, pytest.mark.slow]


def _collect(account: AwsAccount, hub: Hub) -> object:
    run = collect_account(account, create_run(account), access=AwsAccess(hub), region_workers=2)
    assert run.state in (RunState.DONE, RunState.PARTIAL), (account.name, run.message, run.errors[:3])
    return run


def test_two_back_to_back_collections_of_an_unchanged_estate_record_no_change(
    estate: Estate, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hooks, "_RECEIVERS", [])  # inventory alone: no checks after each collection
    accounts = register_accounts(estate)
    for account in accounts:
        _collect(account, hub)
    read_roles = Resource.objects.filter(type="iam:role", name=estate.spec.read_role)
    first_use = {r.arn: r.data["RoleLastUsed"]["LastUsedDate"] for r in read_roles}
    assert len(first_use) == len(accounts)
    stored = Resource.objects.count()

    for account in accounts:
        run = _collect(account, hub)
        assert (run.resources_new, run.resources_changed, run.resources_deleted) == (0, 0, 0), account.name
    assert not ResourceRevision.objects.exists()
    assert Resource.objects.count() == stored

    # what moved without a change is stored with its latest value: each read role was used again
    for role in read_roles.all():
        assert role.data["RoleLastUsed"]["LastUsedDate"] > first_use[role.arn], role.arn
