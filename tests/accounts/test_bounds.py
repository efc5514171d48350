"""Bounded input: text fields (model, form, database), uploads and imports, and what history shows."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import imports, limits
from accounts.forms import AwsAccountForm, OwnerAccountForm, TeamForm
from accounts.models import AwsAccount, Team
from accounts.views import IMPORT_SESSION_KEY
from iam_audit.forms import TriageForm
from iam_audit.models import Finding
from tests.accounts.helpers import csv_bytes, xlsx_bytes
from tests.factories import AwsAccountFactory, TeamFactory
from tests.iam_audit.builders import make_finding

pytestmark = pytest.mark.django_db

HEADER = ["Account ID", "Name", "Description", "Notes"]


def too_long(label: str, limit: int, length: int) -> str:
    return f"{label} is at most {limit:,} characters (you entered {length:,})."


# --- model and database -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "label", "limit"),
    [("description", "Description", limits.DESCRIPTION_MAX), ("notes", "Notes", limits.NOTES_MAX)],
)
def test_account_text_over_its_bound_fails_validation_with_the_message(
    field: str, label: str, limit: int
) -> None:
    account = AwsAccountFactory()
    setattr(account, field, "x" * (limit + 1))
    with pytest.raises(ValidationError) as raised:
        account.full_clean()
    assert raised.value.message_dict[field] == [too_long(label, limit, limit + 1)]
    setattr(account, field, "x" * limit)
    account.full_clean()  # exactly at the bound is fine


@pytest.mark.parametrize(
    ("model", "field", "limit"),
    [
        (AwsAccount, "description", limits.DESCRIPTION_MAX),
        (AwsAccount, "notes", limits.NOTES_MAX),
        (Team, "description", limits.DESCRIPTION_MAX),
        (Finding, "suppression_justification", limits.JUSTIFICATION_MAX),
    ],
)
def test_the_database_refuses_over_long_text_that_skips_validation(
    model: Any, field: str, limit: int
) -> None:
    account = AwsAccountFactory()
    obj = {AwsAccount: account, Team: TeamFactory(), Finding: make_finding(account)}[model]
    model.objects.filter(pk=obj.pk).update(**{field: "y" * limit})  # at the bound: accepted
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=obj.pk).update(**{field: "y" * (limit + 1)})
    obj.refresh_from_db()
    assert len(getattr(obj, field)) == limit


# --- forms ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form_class", "field", "label", "limit"),
    [
        (AwsAccountForm, "description", "Description", limits.DESCRIPTION_MAX),
        (AwsAccountForm, "notes", "Notes", limits.NOTES_MAX),
        (AwsAccountForm, "name", "Name", limits.ACCOUNT_NAME_MAX),
        (AwsAccountForm, "org_unit", "Organisational unit", limits.ORG_UNIT_MAX),
        (AwsAccountForm, "external_id", "ExternalId", limits.EXTERNAL_ID_MAX),
        (AwsAccountForm, "change_reason", "Reason for the change", limits.CHANGE_REASON_MAX),
        (OwnerAccountForm, "description", "Description", limits.DESCRIPTION_MAX),
        (OwnerAccountForm, "notes", "Notes", limits.NOTES_MAX),
        (TeamForm, "description", "Description", limits.DESCRIPTION_MAX),
        (TeamForm, "name", "Name", limits.TEAM_NAME_MAX),
    ],
)
def test_every_form_text_field_names_its_bound_and_the_length_entered(
    form_class: Any, field: str, label: str, limit: int
) -> None:
    data = {"account_id": "123456789012", "name": "acct", "environment": "dev", "status": "active"}
    form = form_class({**data, field: "z" * (limit * 20)})
    assert not form.is_valid()
    assert form.errors[field] == [too_long(label, limit, limit * 20)]
    assert form.fields[field].widget.attrs["maxlength"] == str(limit)  # the browser stops typing too


def test_triage_justification_is_bounded_with_the_same_message() -> None:
    form = TriageForm({"action": "suppress", "reason": "accepted-risk", "justification": "j" * 40_000})
    assert not form.is_valid()
    assert form.errors["justification"] == [too_long("Justification", limits.JUSTIFICATION_MAX, 40_000)]


def test_an_owner_posting_a_40k_description_gets_the_message_and_nothing_is_saved(
    client: Client, owner_user: Any, own_account: Any
) -> None:
    client.force_login(owner_user)
    response = client.post(
        reverse("accounts:account_edit", args=[own_account.pk]),
        {"description": "d" * 40_000, "contact_email": "", "notes": ""},
    )
    assert response.status_code == 200
    assert "Description is at most 2,000 characters (you entered 40,000)." in response.content.decode()
    own_account.refresh_from_db()
    assert own_account.description == "Card processing"
    assert own_account.history.count() == 1  # the creation only


# --- history display --------------------------------------------------------------------------


def test_history_shows_old_over_long_values_shortened_with_an_ellipsis(
    client: Client, viewer_user: Any
) -> None:
    account = AwsAccountFactory(description="short")
    # A record from before the bounds: history tables have no CHECK, the text stays there in full.
    latest = account.history.latest()
    latest.pk = None
    latest.history_id = None
    latest.description = "H" * 40_000
    latest.history_date = timezone.now()
    latest.history_type = "~"
    latest.save()
    client.force_login(viewer_user)
    for url in (reverse("accounts:account_history", args=[account.pk]), account.get_absolute_url()):
        page = client.get(url).content.decode()
        assert "H" * limits.HISTORY_VALUE_SHOWN not in page
        assert "H" * (limits.HISTORY_VALUE_SHOWN - 1) + "… (40,000 characters)" in page


# --- import: cells ----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [csv_bytes, xlsx_bytes])
def test_an_over_long_cell_rejects_its_row_naming_row_and_column_and_nothing_is_truncated(make: Any) -> None:
    rows = [
        HEADER,
        ["111111111111", "fine", "ok", ""],
        ["222222222222", "long description", "D" * 20_000, ""],  # Excel's own cell limit is 32,767
        ["333333333333", "long notes", "", "N" * 5_001],
    ]
    sheet = imports.read_spreadsheet("a.xlsx" if make is xlsx_bytes else "a.csv", make(rows))
    assert max(len(cell) for _, cells in sheet.rows for cell in cells) <= limits.NOTES_MAX  # kept bounded
    plan = imports.build_plan(imports.Sheet.loads(sheet.dumps()))
    assert [r.account_id for r in plan.creates] == ["111111111111"]
    reasons = {r.account_id: r.reasons for r in plan.rejected}
    assert reasons == {
        "222222222222": ["Row 3, column “Description”: " + too_long("Description", 2_000, 20_000)],
        "333333333333": ["Row 4, column “Notes”: " + too_long("Notes", 5_000, 5_001)],
    }


def test_bad_cells_in_every_bounded_column_are_reported_once_each() -> None:
    rows = [
        ["Account ID", "Name", "Owner", "OU", "Read role", "Contact email"],
        ["123456789012", "n" * 101, "t" * 101, "o" * 301, "r" * 601, "c" * 255],
    ]
    plan = imports.build_plan(imports.read_spreadsheet("a.csv", csv_bytes(rows)))
    (rejected,) = plan.rejected
    assert rejected.reasons == [
        "Row 2, column “Name”: " + too_long("Name", 100, 101),
        "Row 2, column “Owner”: " + too_long("Owner", 100, 101),
        "Row 2, column “OU”: " + too_long("OU", 300, 301),
        "Row 2, column “Read role”: " + too_long("Read role", 600, 601),
        "Row 2, column “Contact email”: " + too_long("Contact email", 254, 255),
    ]


def test_a_rejected_over_long_row_blocks_the_import_and_writes_nothing(
    client: Client, security_user: Any
) -> None:
    client.force_login(security_user)
    data = csv_bytes([HEADER, ["111111111111", "a", "ok", ""], ["222222222222", "b", "D" * 3000, ""]])
    assert (
        client.post(
            reverse("accounts:import_upload"), {"file": SimpleUploadedFile("a.csv", data)}
        ).status_code
        == 302
    )
    stored = client.session[IMPORT_SESSION_KEY]["sheet"]
    assert len(stored) < 2_000  # the session keeps the bounded, compressed cells, not the file
    preview = client.get(reverse("accounts:import_preview"))
    assert "Row 3, column “Description”: Description is at most 2,000 characters (you entered 3,000)." in (
        preview.content.decode()
    )
    token = preview.context["form"]["token"].value()
    response = client.post(reverse("accounts:import_confirm"), {"token": token})
    assert "Some rows are rejected" in response.content.decode()
    assert not AwsAccount.objects.exists()


# --- import: files ----------------------------------------------------------------------------


def test_an_upload_over_the_size_bound_is_refused_with_the_bound_and_nothing_is_kept(
    client: Client, security_user: Any, settings: Any
) -> None:
    settings.SKYLEDGER_IMPORT_MAX_BYTES = 64 * 1024
    client.force_login(security_user)
    data = csv_bytes([HEADER] + [[f"{100000000000 + i}", f"acct-{i}", "x" * 100, ""] for i in range(1_000)])
    assert len(data) > 64 * 1024
    response = client.post(reverse("accounts:import_upload"), {"file": SimpleUploadedFile("a.csv", data)})
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert len(errors) == 1 and errors[0].startswith("The file is larger than 64 kB (the upload was ")
    assert errors[0].endswith("an import takes at most 64 kB. Split it into smaller files.")
    assert IMPORT_SESSION_KEY not in client.session
    assert not AwsAccount.objects.exists()
    # The same bound holds for bytes handed to the reader directly.
    with pytest.raises(
        imports.ImportFileError, match=r"^The file is 1\d\d kB; an import takes at most 64 kB"
    ):
        imports.read_spreadsheet("a.csv", data)


def test_too_many_rows_are_refused_at_the_first_row_past_the_bound(
    client: Client, security_user: Any, settings: Any
) -> None:
    settings.SKYLEDGER_IMPORT_MAX_ROWS = 10
    rows = [HEADER] + [[f"{100000000000 + i}", f"acct-{i}", "", ""] for i in range(11)]
    with pytest.raises(imports.ImportFileError) as raised:
        imports.read_spreadsheet("a.csv", csv_bytes(rows))
    assert str(raised.value) == (
        "The file has more than 10 accounts (row 12 is one too many); an import takes at most 10 rows. "
        "Split it into smaller files."
    )
    imports.read_spreadsheet("a.csv", csv_bytes(rows[:11]))  # exactly 10 is fine
    client.force_login(security_user)
    response = client.post(
        reverse("accounts:import_upload"), {"file": SimpleUploadedFile("a.xlsx", xlsx_bytes(rows))}
    )
    assert "row 12 is one too many" in response.context["form"].errors["file"][0]
    assert IMPORT_SESSION_KEY not in client.session
    assert not AwsAccount.objects.exists()


def test_a_value_past_the_last_allowed_column_is_refused_naming_row_and_column() -> None:
    wide = ["123456789012", "n"] + [""] * (limits.IMPORT_MAX_COLUMNS - 2) + ["extra"]
    trailing_blanks = ["123456789013", "m"] + [""] * 200  # empty cells past the bound are harmless
    for make in (csv_bytes, xlsx_bytes):
        assert imports.read_spreadsheet("a", make([["Account ID", "Name"], trailing_blanks])).rows
        with pytest.raises(
            imports.ImportFileError, match=r"^Row 3 has a value in column 61; .* at most 60 columns"
        ):
            imports.read_spreadsheet("a", make([["Account ID", "Name"], trailing_blanks, wide]))


def test_an_endless_csv_line_and_endless_blank_rows_stop_the_read() -> None:
    line = b"Account ID,Name\n123456789012," + b"x" * (limits.IMPORT_MAX_LINE_CHARS + 10) + b"\n"
    with pytest.raises(imports.ImportFileError, match=r"^Line 2 is longer than 100,000 characters"):
        imports.read_spreadsheet("a.csv", line)
    blanks = b"Account ID,Name\n" + b",\n" * (limits.IMPORT_MAX_BLANK_ROWS + 1) + b"123456789012,x\n"
    with pytest.raises(imports.ImportFileError, match=r"more than 10,000 blank rows"):
        imports.read_spreadsheet("a.csv", blanks)


def test_the_text_kept_between_preview_and_confirm_is_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(imports, "IMPORT_MAX_TEXT_CHARS", 5_000)
    rows = [HEADER] + [[f"{100000000000 + i}", f"a{i}", "d" * 1_000, ""] for i in range(10)]
    with pytest.raises(
        imports.ImportFileError, match=r"more than 5,000 characters of registry text \(reached at row 6\)"
    ):
        imports.read_spreadsheet("a.csv", csv_bytes(rows))


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _workbook_members() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes([["Account ID", "Name"], ["123456789012", "x"]]))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def nothing_decompressed(monkeypatch: Any) -> list[str]:
    """Fails the test if openpyxl is reached; lists the zip members anything opened."""
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, *args, **kwargs)

    def no_openpyxl(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("openpyxl must not see a refused file")

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    monkeypatch.setattr("openpyxl.load_workbook", no_openpyxl)
    return opened


def test_a_zip_bomb_workbook_is_refused_from_its_directory_without_decompressing(
    nothing_decompressed: list[str],
) -> None:
    members = _workbook_members()
    members["xl/worksheets/sheet1.xml"] = b"<row>" + b"0" * (
        60 * 1024 * 1024
    )  # 60 MB of one byte: ~60 kB zipped
    data = _zip(members)
    assert len(data) < 200 * 1024
    nothing_decompressed.clear()
    with pytest.raises(
        imports.ImportFileError,
        match=r"^The workbook expands to 60 MB when unpacked; an import takes at most 50 MB",
    ):
        imports.read_spreadsheet("bomb.xlsx", data)
    assert nothing_decompressed == []


def test_a_member_expanding_too_many_times_is_refused_unread(nothing_decompressed: list[str]) -> None:
    members = _workbook_members()
    members["xl/sharedStrings.xml"] = b" " * (4 * 1024 * 1024)  # 4 MB under the total, but ~1000:1
    data = _zip(members)
    nothing_decompressed.clear()
    with pytest.raises(
        imports.ImportFileError, match=r"“xl/sharedStrings.xml” expands \d[\d,]* times .* less than 100 times"
    ):
        imports.read_spreadsheet("bomb.xlsx", data)
    assert nothing_decompressed == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"xl/vbaProject.bin": b"\x00" * 100}, "contains macros"),
        ("macro-content-type", "contains macros"),
        ("word", "is a Word document"),
        ("no-content-types", "a zip archive but not an XLSX workbook"),
    ],
)
def test_macros_and_other_zip_files_are_refused_before_openpyxl(
    change: Any, message: str, nothing_decompressed: list[str]
) -> None:
    members = _workbook_members()
    types = members["[Content_Types].xml"]
    if isinstance(change, dict):
        members.update(change)
    elif change == "macro-content-type":
        members["[Content_Types].xml"] = types.replace(
            b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
        )
    elif change == "word":
        members["[Content_Types].xml"] = types.replace(
            b"spreadsheetml.sheet.main+xml", b"wordprocessingml.document.main+xml"
        )
    else:
        del members["[Content_Types].xml"]
    data = _zip(members)
    nothing_decompressed.clear()
    with pytest.raises(imports.ImportFileError, match=message):
        imports.read_spreadsheet("a.xlsx", data)
    assert set(nothing_decompressed) <= {"[Content_Types].xml"}


def test_a_plain_workbook_still_reads_after_the_archive_checks() -> None:
    sheet = imports.read_spreadsheet("a.xlsx", _zip(_workbook_members()))
    assert sheet.rows == [(2, ["123456789012", "x"])]
