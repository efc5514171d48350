"""Spreadsheet import: reading files, planning, the preview/confirm flow, and all-or-nothing commits."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse

from accounts import imports, limits
from accounts.models import AwsAccount, Team
from accounts.services import history_entries
from tests.accounts.helpers import csv_bytes, xlsx_bytes
from tests.factories import AwsAccountFactory, TeamFactory

pytestmark = pytest.mark.django_db

HEADER = ["Account ID", "Name", "Description", "Owner", "Environment"]


def plan_for(data: bytes, filename: str = "accounts.csv") -> imports.ImportPlan:
    return imports.build_plan(imports.read_spreadsheet(filename, data))


def upload(client: Client, data: bytes, filename: str = "accounts.csv") -> Any:
    return client.post(reverse("accounts:import_upload"), {"file": SimpleUploadedFile(filename, data)})


def preview_and_confirm(client: Client, data: bytes, filename: str = "accounts.csv", **options: str) -> Any:
    response = upload(client, data, filename)
    assert response.status_code == 302, response.content.decode()[:2000]
    preview = client.get(reverse("accounts:import_preview"))
    assert preview.status_code == 200
    token = preview.context["form"]["token"].value()
    return client.post(reverse("accounts:import_confirm"), {"token": token, **options}, follow=True)


# --- reading files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        ["Account ID", "Name", "Owner"],
        ["account_id", "name", "team"],
        ["AWS Account ID", "Account Name", "Team"],
        ["  ACCOUNT-ID ", "NAME", "Owning team"],
    ],
)
def test_common_header_spellings_are_recognised_case_insensitively(header: list[str]) -> None:
    sheet = imports.read_spreadsheet("a.csv", csv_bytes([header, ["123456789012", "x", "Payments"]]))
    assert sheet.fields == ["account_id", "name", "owner"]


def test_missing_required_column_names_what_was_found() -> None:
    with pytest.raises(imports.ImportFileError, match=r"No column for Account ID.*found: “Name”, “Team”"):
        imports.read_spreadsheet("a.csv", csv_bytes([["Name", "Team"], ["x", "y"]]))


def test_two_columns_with_the_same_meaning_are_refused() -> None:
    with pytest.raises(imports.ImportFileError, match="Two columns mean the same thing"):
        imports.read_spreadsheet("a.csv", csv_bytes([["Account ID", "account_id", "Name"], ["1", "2", "3"]]))


def test_unknown_columns_are_listed_as_ignored_and_blank_lines_skipped() -> None:
    sheet = imports.read_spreadsheet("a.csv", b"Account ID,Name,Cost centre\n\n123456789012,x,42\n,,\n")
    assert sheet.ignored == ["Cost centre"]
    assert sheet.rows == [(3, ["123456789012", "x"])]


def test_latin1_csv_gets_a_message_that_says_how_to_save_it() -> None:
    data = csv_bytes([HEADER, ["123456789012", "Café", "Équipe", "", ""]], encoding="latin-1")
    with pytest.raises(imports.ImportFileError, match=r"not UTF-8 text \(byte 0xE9 on line 2\).*CSV UTF-8"):
        imports.read_spreadsheet("a.csv", data)


def test_utf8_with_bom_and_utf16_with_bom_are_read() -> None:
    rows = [HEADER, ["123456789012", "Café", "", "Équipe", ""]]
    for data in (b"\xef\xbb\xbf" + csv_bytes(rows), csv_bytes(rows, encoding="utf-16")):
        sheet = imports.read_spreadsheet("a.csv", data)
        assert sheet.fields[0] == "account_id"  # the BOM is not part of the first header
        assert sheet.rows[0][1][1] == "Café"


def test_tab_and_semicolon_separated_files_are_read() -> None:
    for delimiter in ("\t", ";"):
        sheet = imports.read_spreadsheet(
            "a.csv", csv_bytes([HEADER, ["123456789012", "x", "a, b", "", ""]], delimiter=delimiter)
        )
        assert sheet.rows[0][1][:3] == ["123456789012", "x", "a, b"]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a.csv", "binary data"),
        (bytes(range(256)) * 4, "a.csv", "binary data"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "Excel 97"),
        (b"PK\x03\x04garbage that is not a zip", "a.xlsx", "cannot be read"),
        (b"Account ID,Name\n", "a.xlsx", "named .xlsx but is not"),
        (b"Account ID,Name\n", "a.csv", "no rows below"),
        (b"\n\n", "a.csv", "no rows at all"),
        (b'Account ID,Name\n"123456789012,unterminated\n', "a.csv", None),  # csv module tolerates it
    ],
)
def test_hostile_or_broken_files_get_a_clear_message(data: bytes, filename: str, message: str | None) -> None:
    if message is None:
        imports.read_spreadsheet(filename, data)
        return
    with pytest.raises(imports.ImportFileError, match=message):
        imports.read_spreadsheet(filename, data)


def test_xlsx_formula_cells_are_read_as_their_text_never_evaluated() -> None:
    data = xlsx_bytes(
        [
            ["Account ID", "Name", "Description", "Notes"],
            ["123456789012", "=1+1", '=HYPERLINK("http://evil.example","click")', "@SUM(A1:A2)"],
            ["123456789013", "plus", "+cmd|' /C calc'!A0", "-1+1"],
            [123456789014, "numeric id", "", ""],
        ]
    )
    plan = plan_for(data, "a.xlsx")
    assert not plan.rejected
    by_id = {row.account_id: row.values for row in plan.creates}
    assert by_id["123456789012"]["name"] == "=1+1"
    assert by_id["123456789012"]["description"] == '=HYPERLINK("http://evil.example","click")'
    assert by_id["123456789012"]["notes"] == "@SUM(A1:A2)"
    assert by_id["123456789013"]["description"] == "+cmd|' /C calc'!A0"
    assert by_id["123456789013"]["notes"] == "-1+1"
    assert "123456789014" in by_id  # a numeric cell is read without ".0"


def test_numeric_xlsx_id_that_lost_its_leading_zero_is_rejected_with_a_hint() -> None:
    plan = plan_for(xlsx_bytes([["Account ID", "Name"], [12345678901, "lost zero"]]), "a.xlsx")
    assert plan.rejected[0].reasons == [
        "Account ID 12345678901 has 11 digits; it needs exactly 12 (if a spreadsheet dropped a leading zero, format the column as text)."
    ]


# --- planning ----------------------------------------------------------------------------------


def test_mixed_file_is_split_into_creates_updates_unchanged_and_rejected_with_reasons() -> None:
    payments = TeamFactory(name="Payments")
    AwsAccountFactory(
        account_id="100000000001", name="old-name", description="same", owner=payments, environment="prod"
    )
    AwsAccountFactory(
        account_id="100000000002", name="same", description="", owner=payments, environment="dev"
    )
    data = csv_bytes(
        [
            HEADER + ["Regions"],
            ["100000000001", "new-name", "same", "payments", "Production", ""],  # update: name only
            ["100000000002", "same", "", "Payments", "dev", ""],  # unchanged
            ["200000000001", "fresh-prod", "new", "", "", "eu-west-1 eu-west-2"],  # create, env guessed
            ["12345678901", "eleven digits", "", "", "", ""],
            ["12345678901a", "letters", "", "", "", ""],
            ["300000000003", "dup one", "", "", "", ""],
            ["300000000003", "dup two", "", "", "", ""],
            ["400000000004", "bad env", "", "", "moon", ""],
            ["500000000005", "", "no name", "", "", ""],
            ["600000000006", "bad regions", "", "", "", "eu-west-1 nowhere"],
        ]
    )
    plan = plan_for(data)
    assert [r.account_id for r in plan.updates] == ["100000000001"]
    assert [(c.label, c.old, c.new) for c in plan.updates[0].changes] == [("Name", "old-name", "new-name")]
    assert [r.account_id for r in plan.unchanged] == ["100000000002"]
    assert [r.account_id for r in plan.creates] == ["200000000001"]
    assert plan.creates[0].values["environment"] == "prod"
    assert plan.creates[0].values["allowed_regions"] == ["eu-west-1", "eu-west-2"]
    reasons = {r.line: " ".join(r.reasons) for r in plan.rejected}
    assert "has 11 digits" in reasons[5]
    assert "is not 12 digits" in reasons[6]
    assert "appears more than once in the file (rows 7, 8)" in reasons[7]
    assert "appears more than once" in reasons[8]
    assert "Unknown environment “moon”" in reasons[9]
    assert "Name is missing." in reasons[10]
    assert "Not region names: nowhere" in reasons[11]


def test_unknown_owners_are_listed_once_whatever_their_case() -> None:
    plan = plan_for(
        csv_bytes(
            [HEADER, ["100000000001", "a", "", "Data Lake", ""], ["100000000002", "b", "", "data  lake", ""]]
        )
    )
    assert plan.unknown_teams == {"Data Lake": 2}


# --- the flow through the pages ----------------------------------------------------------------


def test_good_import_creates_and_updates_with_history_by_the_importer(
    client: Client, security_user: Any
) -> None:
    payments = TeamFactory(name="Payments")
    existing = AwsAccountFactory(
        account_id="100000000001", name="payments", description="old", owner=payments
    )
    client.force_login(security_user)
    data = csv_bytes(
        [
            HEADER,
            ["100000000001", "payments", "new text", "Payments", ""],
            ["1000-0000-0002", "payments-staging", "", "Payments", "staging"],
        ]
    )
    response = preview_and_confirm(client, data)
    assert "Import done: 1 account(s) added; 1 updated." in response.content.decode()
    existing.refresh_from_db()
    assert existing.description == "new text"
    created = AwsAccount.objects.get(account_id="100000000002")
    assert (created.owner, created.environment) == (payments, "staging")
    for account in (existing, created):
        latest = account.history.latest()
        assert latest.history_change_reason == "Spreadsheet import"
        assert latest.history_user == security_user
    # The update is recorded as a change with its old and new values; the new account as a creation.
    assert existing.history.latest().history_type == "~"
    assert created.history.latest().history_type == "+"
    latest, previous = existing.history.all()[:2]
    [entry] = history_entries([latest], previous)
    assert (entry.kind, entry.reason, entry.user) == ("Changed", "Spreadsheet import", security_user.username)
    assert [(c.field, c.old, c.new) for c in entry.changes] == [("description", "old", "new text")]
    # The history page says what changed.
    page = client.get(reverse("accounts:account_history", args=[existing.pk])).content.decode()
    assert "Spreadsheet import" in page and "old" in page and "new text" in page


def test_preview_shows_field_level_changes_and_rejections_and_writes_nothing(
    client: Client, security_user: Any
) -> None:
    AwsAccountFactory(account_id="100000000001", name="payments", description="old")
    client.force_login(security_user)
    upload(
        client, csv_bytes([HEADER, ["100000000001", "payments", "new", "", ""], ["12345", "bad", "", "", ""]])
    )
    page = client.get(reverse("accounts:import_preview")).content.decode()
    assert "old" in page and "new" in page
    assert "Account ID 12345 has 5 digits" in page
    assert AwsAccount.objects.get(account_id="100000000001").description == "old"


def test_rejected_rows_block_the_import_until_the_importer_chooses_to_skip_them(
    client: Client, security_user: Any
) -> None:
    client.force_login(security_user)
    data = csv_bytes([HEADER, ["100000000001", "good", "", "", ""], ["bad-id", "bad", "", "", ""]])
    blocked = preview_and_confirm(client, data)
    assert "fix the file and upload it again, or tick this box" in blocked.content.decode()
    assert not AwsAccount.objects.exists()
    done = preview_and_confirm(client, data, skip_rejected="on")
    assert "1 rejected row(s) skipped" in done.content.decode()
    assert list(AwsAccount.objects.values_list("account_id", flat=True)) == ["100000000001"]


def test_unknown_owner_teams_are_created_only_when_the_importer_ticks_the_box(
    client: Client, security_user: Any
) -> None:
    client.force_login(security_user)
    data = csv_bytes([HEADER, ["100000000001", "a", "", "Data Lake", ""]])
    preview_and_confirm(client, data)
    assert not Team.objects.filter(name="Data Lake").exists()
    assert AwsAccount.objects.get(account_id="100000000001").owner is None

    data = csv_bytes(
        [HEADER, ["100000000001", "a", "", "Data Lake", ""], ["100000000002", "b", "", "data lake", ""]]
    )
    response = preview_and_confirm(client, data, create_teams="on")
    assert "teams created: Data Lake" in response.content.decode()
    team = Team.objects.get(name="Data Lake")
    assert set(team.accounts.values_list("account_id", flat=True)) == {"100000000001", "100000000002"}
    assert team.history.get().history_change_reason == "Spreadsheet import"


def test_a_failure_at_the_last_write_rolls_back_every_row_and_team(
    client: Client, security_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = AwsAccountFactory(account_id="100000000001", name="a", description="before")
    history_before = AwsAccount.history.count()

    def explode(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError("simulated failure while writing the last history batch")

    # The update history is the very last write: teams, new accounts and updates are all done by then.
    monkeypatch.setattr(imports, "record_update_history", explode)
    client.force_login(security_user)
    data = csv_bytes(
        [HEADER, ["100000000001", "a", "after", "", ""], ["100000000002", "b", "", "New Team", ""]]
    )
    response = preview_and_confirm(client, data, create_teams="on")
    assert "Nothing was imported" in response.content.decode()
    existing.refresh_from_db()
    assert existing.description == "before"
    assert not AwsAccount.objects.filter(account_id="100000000002").exists()
    assert not Team.objects.filter(name="New Team").exists()
    assert AwsAccount.history.count() == history_before


def test_an_account_registered_concurrently_makes_the_whole_import_fail_cleanly(security_user: Any) -> None:
    plan = plan_for(
        csv_bytes([HEADER, ["100000000001", "a", "", "New Team", ""], ["100000000002", "b", "", "", ""]])
    )
    # Someone registers one of the accounts between the plan and the commit (a real race).
    AwsAccountFactory(account_id="100000000002", name="meanwhile")
    with pytest.raises(IntegrityError):
        imports.commit_plan(plan, security_user, create_teams=True)
    assert list(AwsAccount.objects.values_list("account_id", flat=True)) == ["100000000002"]
    assert not Team.objects.filter(name="New Team").exists()


def test_commit_refuses_when_the_registry_changed_since_the_preview(
    client: Client, security_user: Any
) -> None:
    client.force_login(security_user)
    upload(client, csv_bytes([HEADER, ["100000000001", "a", "from file", "", ""]]))
    token = client.get(reverse("accounts:import_preview")).context["form"]["token"].value()
    AwsAccountFactory(account_id="100000000001", name="a", description="created meanwhile")
    response = client.post(reverse("accounts:import_confirm"), {"token": token})
    assert "The registry changed since the preview" in response.content.decode()
    assert AwsAccount.objects.get(account_id="100000000001").description == "created meanwhile"


def test_a_stale_or_forged_token_commits_nothing(client: Client, security_user: Any) -> None:
    client.force_login(security_user)
    upload(client, csv_bytes([HEADER, ["100000000001", "a", "", "", ""]]))
    client.get(reverse("accounts:import_preview"))
    response = client.post(reverse("accounts:import_confirm"), {"token": "not-the-token"}, follow=True)
    assert "no longer open" in response.content.decode()
    assert not AwsAccount.objects.exists()


def test_the_confirm_step_ignores_reposted_row_data(client: Client, security_user: Any) -> None:
    client.force_login(security_user)
    upload(client, csv_bytes([HEADER, ["100000000001", "from-file", "", "", ""]]))
    token = client.get(reverse("accounts:import_preview")).context["form"]["token"].value()
    client.post(
        reverse("accounts:import_confirm"),
        {"token": token, "rows": '[["999999999999","injected"]]', "name": "x"},
    )
    assert list(AwsAccount.objects.values_list("account_id", "name")) == [("100000000001", "from-file")]


def test_upload_errors_are_shown_on_the_form_without_a_stack_trace(
    client: Client, security_user: Any
) -> None:
    client.force_login(security_user)
    response = upload(client, "Account ID,Name\n123456789012,Café\n".encode("latin-1"))
    assert response.status_code == 200
    assert "not UTF-8 text" in response.content.decode()
    response = client.post(reverse("accounts:import_upload"), {})
    assert "This field is required." in response.content.decode()
    response = upload(client, b"")
    assert (
        "The submitted file is empty." in response.content.decode()
        or "The file is empty." in response.content.decode()
    )


def test_html_in_imported_cells_is_escaped_on_preview_list_and_detail(
    client: Client, security_user: Any
) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.force_login(security_user)
    upload(client, csv_bytes([HEADER, ["100000000001", payload, payload, payload, ""]]))
    preview = client.get(reverse("accounts:import_preview")).content.decode()
    assert "<script>alert" not in preview and "&lt;script&gt;" in preview
    preview_and_confirm(client, csv_bytes([HEADER, ["100000000001", "n", payload, "", ""]]))
    account = AwsAccount.objects.get()
    for url in (reverse("accounts:account_list") + "?columns=name,description", account.get_absolute_url()):
        page = client.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_an_exported_registry_imports_back_without_changes(client: Client, security_user: Any) -> None:
    team = TeamFactory(name="Payments")
    AwsAccountFactory(
        account_id="100000000001",
        name="a",
        description="=HYPERLINK(1)",
        owner=team,
        environment="prod",
        allowed_regions=["eu-west-1"],
    )
    AwsAccountFactory(
        account_id="100000000002",
        name="b",
        description="-1+1",
        owner=None,
        status="suspended",
        collection_enabled=False,
    )
    client.force_login(security_user)
    for fmt, name in (("csv", "export.csv"), ("xlsx", "export.xlsx")):
        exported = client.get(reverse("accounts:account_list") + f"?export={fmt}")
        plan = plan_for(
            b"".join(exported.streaming_content) if exported.streaming else exported.getvalue(), name
        )
        assert not plan.rejected and not plan.creates and not plan.updates, (fmt, plan.rejected, plan.updates)
        assert len(plan.unchanged) == 2


@pytest.mark.slow
def test_the_largest_allowed_import_plans_and_commits_every_row(security_user: Any) -> None:
    """5,000 rows (the bound), 1,000 of them updates; its time and memory are bench/imports' business."""
    TeamFactory(name="Payments")
    existing = [AwsAccount(account_id=f"{900000000000 + i}", name=f"old-{i}") for i in range(1000)]
    AwsAccount.objects.bulk_create(existing)
    rows = [HEADER] + [
        [
            f"{900000000000 + i}",
            f"acct-{i}",
            f"row {i}",
            "Payments" if i % 2 else "Team " + str(i % 7),
            "prod" if i % 3 else "dev",
        ]
        for i in range(limits.max_import_rows())
    ]
    sheet = imports.read_spreadsheet("big.csv", csv_bytes(rows))
    restored = imports.Sheet.loads(sheet.dumps())  # what the session keeps between the steps
    plan = imports.build_plan(restored)
    assert (len(plan.creates), len(plan.updates), len(plan.rejected)) == (4000, 1000, 0)
    result = imports.commit_plan(plan, security_user, create_teams=True)
    assert (result.created, result.updated) == (4000, 1000)
    assert AwsAccount.objects.count() == 5_000
    assert AwsAccount.history.filter(history_change_reason="Spreadsheet import").count() == 5_000
    assert Team.objects.count() == 8


def test_an_environment_from_the_file_is_a_persons_and_a_guessed_one_is_recorded_as_a_guess(
    client: Client, security_user: Any
) -> None:
    guessed_before = AwsAccountFactory(account_id="100000000009", name="corp", environment="prod")
    AwsAccount.objects.filter(pk=guessed_before.pk).update(environment_guessed=True)
    client.force_login(security_user)
    data = csv_bytes(
        [
            HEADER,
            ["100000000003", "payments-prod", "", "", ""],  # no environment: guessed from the name
            ["100000000004", "corp-directory", "", "", "identity"],  # the file says: a person's
            ["100000000009", "corp", "", "", "identity"],  # an update setting it: a person's now
        ]
    )
    preview_and_confirm(client, data)
    guessed = AwsAccount.objects.get(account_id="100000000003")
    assert (guessed.environment, guessed.environment_guessed) == ("prod", True)
    chosen = AwsAccount.objects.get(account_id="100000000004")
    assert chosen.is_designated_identity and not chosen.environment_guessed
    guessed_before.refresh_from_db()
    assert guessed_before.is_designated_identity
