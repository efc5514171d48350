"""The migration that records whether an environment was guessed: existing accounts keep working."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0002_collection_excluded_regions")]
AFTER = [("accounts", "0003_environment_guessed")]


def test_environments_discovery_chose_become_guesses_and_a_persons_choices_stay_theirs() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Account = apps.get_model("accounts", "AwsAccount")
    History = apps.get_model("accounts", "HistoricalAwsAccount")
    User = apps.get_model("auth", "User")
    person = User.objects.create(username="sec")
    now = timezone.now()

    def account(account_id: str, environment: str, discovered: bool) -> object:
        made = Account.objects.create(
            account_id=account_id,
            name=account_id,
            environment=environment,
            discovered_at=now if discovered else None,
        )
        return made

    def record(made: object, environment: str, user: object, reason: str) -> None:
        recorded = {f.attname for f in History._meta.concrete_fields}
        values = {
            f.attname: getattr(made, f.attname)
            for f in Account._meta.concrete_fields
            if f.attname in recorded
        }
        values["environment"] = environment
        History.objects.create(
            **values,
            history_date=timezone.now(),
            history_type="~",
            history_user=user,
            history_change_reason=reason,
        )

    guessed = account("100000000001", "prod", discovered=True)
    record(guessed, "prod", None, "Organizations discovery")
    corrected = account("100000000002", "identity", discovered=True)
    record(corrected, "security", None, "Organizations discovery")
    record(corrected, "identity", person, "Edited in the registry")
    management = account("100000000003", "org-root", discovered=True)
    record(management, "org-root", None, "Organizations discovery")
    registered = account("100000000004", "dev", discovered=False)
    record(registered, "dev", person, "Added in the registry")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    flags = dict(
        apps.get_model("accounts", "AwsAccount").objects.values_list("account_id", "environment_guessed")
    )
    executor = MigrationExecutor(connection)  # leave the database as the other tests expect it
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert flags == {
        "100000000001": True,  # discovery's guess, never touched by a person
        "100000000002": False,  # a person set it since
        "100000000003": False,  # the management account: AWS's fact
        "100000000004": False,  # a person registered it
    }
