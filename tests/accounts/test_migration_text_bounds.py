"""The migrations that bound free text: older over-long text is shortened, kept in the history, then checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0003_environment_guessed"), ("iam_audit", "0005_finding_not_evaluated")]
AFTER = [("accounts", "0005_text_bounds"), ("iam_audit", "0007_text_bounds")]


@pytest.fixture
def executor() -> Iterator[MigrationExecutor]:
    executor = MigrationExecutor(connection)
    yield executor
    executor = MigrationExecutor(connection)  # leave the database as the other tests expect it
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_over_long_text_is_shortened_with_a_history_entry_and_then_refused(
    executor: MigrationExecutor,
) -> None:
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Account = apps.get_model("accounts", "AwsAccount")
    History = apps.get_model("accounts", "HistoricalAwsAccount")
    Team = apps.get_model("accounts", "Team")
    TeamHistory = apps.get_model("accounts", "HistoricalTeam")
    Members = apps.get_model("accounts", "HistoricalTeam_members")
    User = apps.get_model("auth", "User")
    Finding = apps.get_model("iam_audit", "Finding")
    now = timezone.now()

    member = User.objects.create(username="member")
    team = Team.objects.create(name="Payments", description="T" * 3_000)
    team.members.add(member)
    team_record = TeamHistory.objects.create(
        id=team.pk,
        name=team.name,
        contact_email="",
        description=team.description,
        created=now,
        history_date=now,
        history_type="+",
    )
    through_id = Team.members.through.objects.get(team_id=team.pk).pk
    Members.objects.create(id=through_id, history=team_record, team_id=team.pk, user_id=member.pk)
    big = Account.objects.create(
        account_id="100000000001", name="big", description="D" * 40_000, notes="N" * 6_000
    )
    small = Account.objects.create(account_id="100000000002", name="small", description="fine")
    recorded = [f.attname for f in History._meta.concrete_fields if not f.attname.startswith("history_")]
    for account in (big, small):
        History.objects.create(
            **{name: getattr(account, name) for name in recorded}, history_date=now, history_type="+"
        )
    finding = Finding.objects.create(
        key="k" * 64,
        check_id="c",
        account_id=big.pk,
        subject="s",
        title="t",
        severity="low",
        first_seen=now,
        last_seen=now,
        status="suppressed",
        suppression_justification="J" * 2_500,
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    Account = apps.get_model("accounts", "AwsAccount")
    History = apps.get_model("accounts", "HistoricalAwsAccount")
    Team = apps.get_model("accounts", "Team")
    TeamHistory = apps.get_model("accounts", "HistoricalTeam")
    Members = apps.get_model("accounts", "HistoricalTeam_members")

    shortened = Account.objects.get(pk=big.pk)
    assert (len(shortened.description), len(shortened.notes)) == (2_000, 5_000)
    assert shortened.description == "D" * 1_999 + "…" and shortened.notes.endswith("N…")
    records = list(History.objects.filter(id=big.pk).order_by("history_date", "history_id"))
    assert [r.history_type for r in records] == ["+", "~"]
    assert len(records[0].description) == 40_000  # the full text stays in the entry before
    assert records[1].history_change_reason.startswith("Shortened to the length limit by migration 0004")
    assert records[1].history_user_id is None and records[1].description == shortened.description
    assert Account.objects.get(pk=small.pk).description == "fine"
    assert History.objects.filter(id=small.pk).count() == 1  # untouched rows get no entry

    assert Team.objects.get(pk=team.pk).description == "T" * 1_999 + "…"
    latest = TeamHistory.objects.filter(id=team.pk).latest("history_id")
    assert latest.history_type == "~"
    assert list(Members.objects.filter(history=latest).values_list("user_id", flat=True)) == [member.pk]

    Finding = apps.get_model("iam_audit", "Finding")
    assert Finding.objects.get(pk=finding.pk).suppression_justification == "J" * 1_999 + "…"

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=big.pk).update(description="D" * 2_001)
