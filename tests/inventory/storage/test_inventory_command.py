"""``manage.py export_inventory``: resources as JSON or CSV, filtered, spreadsheet-safe."""

from __future__ import annotations

import csv
import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import AwsAccount
from inventory.records import Coverage, Record
from inventory.services.ingest import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate() -> None:
    prod = AwsAccount.objects.create(account_id="111122223333", name="prod")
    dev = AwsAccount.objects.create(account_id="444455556666", name="dev")
    evil = Record(
        "ec2:instance",
        "arn:aws:ec2:eu-west-1:111122223333:instance/i-1",
        "i-1",
        '=HYPERLINK("http://x")',
        "eu-west-1",
        {"owner": "@admin"},
        {},
    )
    gone = Record(
        "ec2:instance", "arn:aws:ec2:eu-west-1:111122223333:instance/i-2", "i-2", "old", "eu-west-1"
    )
    ok = {"ec2:instance": Coverage.OK}
    ingest(prod, "eu-west-1", ["ec2:instance"], [evil, gone], ok)
    ingest(prod, "eu-west-1", ["ec2:instance"], [evil], ok, seen_at=timezone.now() + dt.timedelta(seconds=1))
    ingest(
        dev,
        "global",
        ["iam:user"],
        [Record("iam:user", "arn:aws:iam::444455556666:user/bob", "bob", "bob", "global")],
        {"iam:user": Coverage.OK},
    )


def run(*args: str) -> str:
    out = StringIO()
    call_command("export_inventory", *args, stdout=out)
    return out.getvalue()


def test_json_lists_live_resources_with_every_column(estate: None) -> None:
    rows = json.loads(run("--format", "json"))
    assert [(r["account_id"], r["id"]) for r in rows] == [("111122223333", "i-1"), ("444455556666", "bob")]
    first = rows[0]
    assert set(first) == {
        "account_id",
        "region",
        "service",
        "type",
        "id",
        "arn",
        "name",
        "tags",
        "first_seen",
        "last_seen",
        "deleted_at",
    }
    assert first["tags"] == {"owner": "@admin"} and first["deleted_at"] is None
    assert dt.datetime.fromisoformat(first["first_seen"])


def test_filters_and_deleted_resources(estate: None) -> None:
    rows = json.loads(run("--include-deleted", "--account", "111122223333", "--type", "ec2:instance"))
    assert {r["id"]: r["deleted_at"] is not None for r in rows} == {"i-1": False, "i-2": True}
    assert json.loads(run("--type", "s3:bucket")) == []


def test_csv_cells_cannot_become_formulas(estate: None) -> None:
    rows = list(csv.DictReader(StringIO(run("--format", "csv"))))
    assert len(rows) == 2
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")'
    assert json.loads(rows[0]["tags"]) == {"owner": "@admin"}  # JSON text starts with "{": inert


def test_bad_account_id_is_refused(estate: None) -> None:
    with pytest.raises(CommandError):
        run("--account", "=1+1")
