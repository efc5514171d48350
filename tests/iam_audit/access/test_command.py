"""``manage.py export_access_paths``: every path from stored data, as JSON or formula-safe CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from iam_audit.graph import ROW_FIELDS
from tests.iam_audit.graph.factories import (
    IDENTITY,
    PROD,
    STAGING,
    STORY_ROLE,
    STORY_USER,
    allow,
    doc,
    inline,
    story,
    user_item,
)

from .stored import store_story

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("export_access_paths", *args, stdout=out)
    return out.getvalue()


def test_json_lists_every_path_with_hops_statements_and_conditions() -> None:
    store_story()
    rows = json.loads(_run("--format", "json"))
    [row] = [r for r in rows if r["source_arn"] == STORY_USER and r["target_account"] == STAGING]
    assert row["target_role_arn"] == STORY_ROLE and row["target_environment"] == "staging"
    assert [(h["kind"], h["name"]) for h in row["hops"]] == [
        ("group", "StagingReadOnly"),
        ("policy", "CompanyAssumeRoleStagingReadOnly"),
        ("statement", "AssumeStagingReadOnly"),
        ("assume", "CompanyReadOnly"),
    ]
    assert row["hops"][2]["statement"]["Action"] == "sts:AssumeRole"
    assert row["privilege_class"] == "read-only" and row["privilege"] == "read-only, all services"
    assert row["grants"] == ["ReadOnlyAccess"]
    assert [c["text"] for c in row["conditions"]] == ["MFA required"]


def test_csv_filters_by_target_account_and_source() -> None:
    store_story()
    text = _run("--format", "csv", "--to-account", STAGING)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(ROW_FIELDS)
    assert {r["target_account"] for r in rows} == {STAGING}
    assert rows[0]["conditions"] == "MFA required" and rows[0]["mfa_required"] == "yes"
    assert "staging:CompanyReadOnly" in rows[0]["path"]
    only_user = json.loads(_run("--from-principal", STORY_USER))
    assert {r["source_arn"] for r in only_user} == {STORY_USER}
    assert {r["target_account"] for r in only_user} == {IDENTITY, STAGING}


def test_csv_cells_are_neutralised() -> None:
    s = story()
    # IAM names may contain = + , . @ - _: a user's own access path starts with its name
    s.add(PROD, user_item(PROD, "=1+2", policies=[inline("-cmd", doc(allow("s3:GetObject")))]))
    store_story(s)
    rows = list(csv.DictReader(io.StringIO(_run("--format", "csv", "--to-account", PROD))))
    assert len(rows) == 1
    assert rows[0]["path"].startswith("'=1+2 → -cmd") and rows[0]["grants"] == "'-cmd"
    for row in rows:
        assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values())


def test_bad_arguments_are_refused() -> None:
    store_story()
    with pytest.raises(CommandError, match="12-digit"):
        _run("--to-account", "12")
    with pytest.raises(CommandError, match="No principal"):
        _run("--from-principal", "arn:aws:iam::111111111111:user/Nobody")


def test_an_empty_estate_gives_an_empty_list() -> None:
    assert json.loads(_run("--format", "json")) == []
