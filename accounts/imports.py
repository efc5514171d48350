"""Spreadsheet import of the registry: read a CSV/XLSX, plan the changes, commit all or nothing.

The flow has three steps, each callable without a request:

1. :func:`read_spreadsheet` turns uploaded bytes into a :class:`Sheet` (header mapping plus rows
   of plain text) or raises :class:`ImportFileError` with a message for people.
2. :func:`build_plan` validates every row against the registry as it is now and returns an
   :class:`ImportPlan`: rows to create, rows to update (with old → new per field), unchanged rows,
   rejected rows with reasons, and owner teams the registry does not know.
3. :func:`commit_plan` writes the plan in one transaction with bulk operations and history records
   ("Spreadsheet import"); any failure rolls everything back.

Between preview and confirm the view keeps the :class:`Sheet` (not the plan) server-side and plans
again at confirm time, so the commit always reflects the registry as it is then.

Cells are only ever text to us: XLSX formulas are read as their formula text and never evaluated,
and a leading ``'`` that our own export added to neutralise a formula is removed again.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts.choices import AccountStatus, Environment
from accounts.forms import normalise_account_id, parse_regions
from accounts.limits import (
    ACCOUNT_NAME_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    EXTERNAL_ID_MAX,
    IMPORT_MAX_BLANK_ROWS,
    IMPORT_MAX_COLUMNS,
    IMPORT_MAX_LINE_CHARS,
    IMPORT_MAX_TEXT_CHARS,
    NOTES_MAX,
    ORG_UNIT_MAX,
    READ_ROLE_MAX,
    TEAM_NAME_MAX,
    XLSX_MAX_MEMBERS,
    XLSX_MAX_RATIO,
    XLSX_MAX_UNCOMPRESSED,
    XLSX_RATIO_MIN_SIZE,
    max_import_rows,
    max_upload_bytes,
    size_text,
    too_long_message,
)
from accounts.models import ACCOUNT_ID_RE, AwsAccount, Team, validate_read_role
from accounts.services import choice_value, environment_choices_text, guess_environment, status_choices_text

CHANGE_REASON = "Spreadsheet import"
MAX_COLUMNS = IMPORT_MAX_COLUMNS  # the other bounds: accounts.limits
BATCH_SIZE = 500

# Field → (label, header spellings). Headers match case-insensitively, ignoring spaces and punctuation.
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "account_id": (
        "Account ID",
        ("accountid", "awsaccountid", "accountnumber", "awsaccountnumber", "awsaccount", "id", "awsid"),
    ),
    "name": ("Name", ("name", "accountname", "awsaccountname", "alias", "accountalias", "displayname")),
    "description": ("Description", ("description", "desc", "purpose")),
    "owner": ("Owner", ("owner", "team", "ownerteam", "owningteam", "ownedby", "ownername", "teamname")),
    "environment": ("Environment", ("environment", "env", "stage", "tier")),
    "email": ("AWS account email", ("email", "accountemail", "awsaccountemail", "rootemail", "emailaddress")),
    "contact_email": ("Contact email", ("contactemail", "contact", "owneremail", "teamemail")),
    "read_role": (
        "Read role",
        ("role", "readrole", "rolename", "rolearn", "iamrole", "readrolearn", "readrolename"),
    ),
    "external_id": ("ExternalId", ("externalid",)),
    "org_unit": ("OU", ("ou", "orgunit", "organisationalunit", "organizationalunit", "oupath")),
    "status": ("Status", ("status", "accountstatus")),
    "allowed_regions": ("Allowed regions", ("regions", "allowedregions")),
    "collection_enabled": ("Collection", ("collection", "collectionenabled", "collect")),
    "notes": ("Notes", ("notes", "note", "comments", "comment")),
}
REQUIRED_COLUMNS = ("account_id", "name")
HEADER_ALIASES = {alias: field for field, (_label, aliases) in COLUMNS.items() for alias in aliases}
TRUE_WORDS = {"yes", "y", "true", "1", "on", "enabled", "x"}
FALSE_WORDS = {"no", "n", "false", "0", "off", "disabled"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(Exception):
    """The file cannot be read as a registry spreadsheet; the message is for the person importing."""


# --- step 1: read --------------------------------------------------------------------------------


@dataclasses.dataclass
class Sheet:
    """The useful content of an uploaded file: which fields its columns hold, and the rows as text."""

    filename: str
    fields: list[str]  # the registry field each kept column maps to
    headers: list[str]  # the header text of those columns, as written in the file
    ignored: list[str]  # headers we did not understand
    rows: list[tuple[int, list[str]]]  # (line or row number in the file, one text per field)
    # Cells longer than their column's bound: (row number, field, length). Their rows are rejected;
    # the rows keep only the first characters of such a cell.
    overlong: list[tuple[int, str, int]] = dataclasses.field(default_factory=list)

    def dumps(self) -> str:
        """A compact, compressed text form to keep in the session between preview and confirm."""
        raw = json.dumps(dataclasses.asdict(self), separators=(",", ":")).encode()
        return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")

    @classmethod
    def loads(cls, text: str) -> Sheet:
        data = json.loads(zlib.decompress(base64.b64decode(text)))
        data["rows"] = [(int(n), [str(v) for v in values]) for n, values in data["rows"]]
        data["overlong"] = [(int(n), str(f), int(length)) for n, f, length in data.get("overlong", [])]
        return cls(**data)


def _normalise_header(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _cell_text(value: Any) -> str:
    """An XLSX cell as text: numbers without a spurious ".0", dates in ISO form, formulas as written."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    text = getattr(value, "text", None)  # openpyxl ArrayFormula keeps its formula in .text
    return str(text if isinstance(text, str) else value)


def _clean_text(value: str) -> str:
    """Trim, drop NULs, and undo the ``'`` our export puts before formula-looking text."""
    value = value.replace("\x00", "").strip()
    if value.startswith("'") and value[1:2] and value[1:].startswith(FORMULA_STARTS):
        value = value[1:]
    return value


def _stream_size(stream: BinaryIO) -> int:
    position = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return size


def _bad_utf8(stream: BinaryIO) -> tuple[int, int]:
    """The first byte that is not UTF-8 and its line number, reading the file again in chunks."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes of the file before the current chunk
    lines = 1
    while chunk := stream.read(65536):
        pending = decoder.getstate()[0]
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            data = pending + chunk
            return data[exc.start], lines + data[: exc.start].count(b"\n")
        lines += chunk.count(b"\n")
        offset += len(chunk)
    return 0, lines


def _csv_rows(stream: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV, read line by line from the uploaded file (never the whole text at once)."""
    stream.seek(0)
    head = stream.read(65536)
    stream.seek(0)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export: UTF-16 with a byte-order mark is unambiguous, so read it.
        encoding = "utf-16"
    elif b"\x00" in head:
        raise ImportFileError(
            "This does not look like a CSV file: it contains binary data (or UTF-16 text without a "
            "byte-order mark). Upload a CSV saved as UTF-8, or an XLSX workbook."
        )
    else:
        encoding = "utf-8-sig"
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    line_number = 0

    def lines() -> Iterator[str]:
        nonlocal line_number
        while line := text.readline(IMPORT_MAX_LINE_CHARS + 1):
            line_number += 1
            if len(line.rstrip("\r\n")) > IMPORT_MAX_LINE_CHARS:
                raise ImportFileError(
                    f"Line {line_number:,} is longer than {IMPORT_MAX_LINE_CHARS:,} characters; no registry "
                    "row is that long. Check that this is the right file."
                )
            yield line

    try:
        first_line = ""
        for line in lines():
            if line.strip():
                first_line = line
                break
        # Excel writes ";" in locales with a decimal comma, and tabs for "Unicode text".
        delimiter = max([",", ";", "\t"], key=first_line.count)
        text.seek(0)
        line_number = 0
        reader = csv.reader(lines(), delimiter=delimiter)
        try:
            for row in reader:
                yield line_number, row
        except csv.Error as exc:
            raise ImportFileError(f"The CSV cannot be parsed near line {line_number:,}: {exc}.") from exc
    except UnicodeDecodeError as exc:
        if encoding == "utf-16":
            raise ImportFileError("The file starts like UTF-16 text but is not valid UTF-16.") from exc
        byte, bad_line = _bad_utf8(stream)
        raise ImportFileError(
            f"The file is not UTF-8 text (byte 0x{byte:02X} on line {bad_line:,}); it was probably "
            "saved as Latin-1/Windows-1252. In Excel choose “CSV UTF-8 (comma delimited)”, or upload "
            "the XLSX workbook instead."
        ) from exc
    finally:
        if not stream.closed:
            text.detach()  # leave the uploaded file open: it belongs to the request


XLSX_CONTENT_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
OTHER_OFFICE_TYPES = {
    b"wordprocessingml": "a Word document",
    b"presentationml": "a PowerPoint presentation",
    b"ms-visio": "a Visio drawing",
}


def _check_workbook_archive(stream: BinaryIO) -> None:
    """Refuse zip bombs, macros and zips that are not workbooks, before anything is decompressed.

    Only the zip's directory is read here (and ``[Content_Types].xml``, once its declared size is
    known to be small). Python's zipfile never returns more than a member declares, so the declared
    sizes bound what openpyxl can expand later.
    """
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(UNREADABLE_XLSX) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > XLSX_MAX_MEMBERS:
            raise ImportFileError(
                f"The workbook holds {len(infos):,} parts; a spreadsheet of accounts has a few dozen at most "
                f"(limit {XLSX_MAX_MEMBERS:,}). Save the sheet alone as a new workbook, or as CSV UTF-8."
            )
        total = sum(info.file_size for info in infos)
        if total > XLSX_MAX_UNCOMPRESSED:
            raise ImportFileError(
                f"The workbook expands to {size_text(total)} when unpacked; an import takes at most "
                f"{size_text(XLSX_MAX_UNCOMPRESSED)} unpacked. Split it into smaller files."
            )
        for info in infos:
            if info.file_size > XLSX_RATIO_MIN_SIZE and info.file_size > XLSX_MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise ImportFileError(
                    f"The workbook part “{info.filename[:80]}” expands {info.file_size // max(info.compress_size, 1):,} "
                    f"times (from {size_text(info.compress_size)} to {size_text(info.file_size)}); a real "
                    f"spreadsheet expands less than {XLSX_MAX_RATIO} times. The file was refused unread."
                )
        names = {info.filename.lower(): info for info in infos}
        content_types = names.get("[content_types].xml")
        if content_types is None or content_types.file_size > 1024 * 1024:
            raise ImportFileError(
                "The file is a zip archive but not an XLSX workbook. Upload a workbook (.xlsx) or CSV UTF-8."
            )
        declared = archive.read(content_types).lower()
    if any(name.endswith("vbaproject.bin") for name in names) or b"macroenabled" in declared:
        raise ImportFileError(
            "The workbook contains macros (.xlsm); they are never run here, and such files are not "
            "accepted. Save it as “Excel Workbook (.xlsx)” or as CSV UTF-8."
        )
    if XLSX_CONTENT_TYPE not in declared:
        kind = next((what for marker, what in OTHER_OFFICE_TYPES.items() if marker in declared), None)
        raise ImportFileError(
            f"The file is {kind or 'an Office file but not an Excel workbook'}, not a spreadsheet. "
            "Upload a workbook (.xlsx) or CSV UTF-8."
        )


UNREADABLE_XLSX = (
    "The file looks like an XLSX workbook but cannot be read (it may be damaged, encrypted or "
    "not really a workbook). Save it again from your spreadsheet program, or upload CSV UTF-8."
)


def _xlsx_rows(stream: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """The rows of the first worksheet, streamed (openpyxl's read-only mode), as text."""
    from openpyxl import load_workbook

    _check_workbook_archive(stream)
    stream.seek(0)
    try:
        # data_only=False: a formula cell gives its formula text; nothing is ever evaluated.
        workbook = load_workbook(stream, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types on malformed archives
        raise ImportFileError(UNREADABLE_XLSX) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise ImportFileError("The workbook has no worksheet.")
        # One column past the bound, so a row using it is refused; cells further right are never read.
        for number, row in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1), start=1):
            yield number, [_cell_text(value) for value in row]
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(
            "The workbook cannot be read past a damaged part; save it again and retry."
        ) from exc
    finally:
        workbook.close()


# The most characters one cell of each column may hold: the registry's bound for the field, or what
# any sensible value of the column needs. A longer cell rejects its row, naming row and column.
CELL_LIMITS: dict[str, int] = {
    "account_id": 40,
    "name": ACCOUNT_NAME_MAX,
    "description": DESCRIPTION_MAX,
    "owner": TEAM_NAME_MAX,
    "environment": 40,
    "email": EMAIL_MAX,
    "contact_email": EMAIL_MAX,
    "read_role": READ_ROLE_MAX,
    "external_id": EXTERNAL_ID_MAX,
    "org_unit": ORG_UNIT_MAX,
    "status": 40,
    "allowed_regions": 2_000,
    "collection_enabled": 20,
    "notes": NOTES_MAX,
}
HEADER_SHOWN = 60  # characters of a header kept to show on the preview


def read_spreadsheet(filename: str, data: bytes | BinaryIO) -> Sheet:
    """Read an uploaded CSV or XLSX into a :class:`Sheet`; :class:`ImportFileError` says what is wrong.

    ``data`` is the file's bytes or a seekable binary file (an upload). It is read row by row and
    reading stops at the first bound it passes (size, rows, columns, line length, total text); only
    the cells of the columns the registry knows are kept, each at most its column's bound
    (:data:`CELL_LIMITS`; a longer cell is noted in ``Sheet.overlong`` and rejects its row).
    """
    stream: BinaryIO = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    size = _stream_size(stream)
    limit = max_upload_bytes()
    if size > limit:
        raise ImportFileError(
            f"The file is {size_text(size)}; an import takes at most {size_text(limit)}. "
            "Split it into smaller files."
        )
    stream.seek(0)
    magic = stream.read(4)
    stream.seek(0)
    if magic == b"\xd0\xcf\x11\xe0":
        raise ImportFileError(
            "This is an old Excel 97–2003 (.xls) file or a password-protected workbook; save it as "
            ".xlsx without a password, or as CSV UTF-8."
        )
    if magic == b"PK\x03\x04":
        source: Iterator[tuple[int, list[str]]] = _xlsx_rows(stream)
    elif filename.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError("The file is named .xlsx but is not an XLSX workbook.")
    else:
        source = _csv_rows(stream)
    with contextlib.closing(iter(source)) as rows_in_file:  # type: ignore[type-var]
        return _read_rows(filename, rows_in_file)


@dataclasses.dataclass
class _Header:
    """A file's first row: its titles, the registry fields it names (at which positions), the rest."""

    titles: list[str]
    fields: list[str]
    positions: list[int]
    ignored: list[str]


def _row_width(number: int, raw: list[str]) -> int:
    """How many columns of ``raw`` hold something (trailing blank cells do not count)."""
    width = len(raw)
    while width and not raw[width - 1].strip():
        width -= 1
    if width > MAX_COLUMNS:
        raise ImportFileError(
            f"Row {number:,} has a value in column {width:,}; a registry file has at most "
            f"{MAX_COLUMNS} columns. Remove the extra columns, or check that this is the right file."
        )
    return width


def _read_header(raw: list[str], width: int) -> _Header:
    """The header row: which registry field each title names; refuses duplicates and missing columns."""
    header = _Header([_clean_text(value) for value in raw[:width]], [], [], [])
    seen: dict[str, str] = {}
    for position, title in enumerate(header.titles):
        field = HEADER_ALIASES.get(_normalise_header(title))
        if field is None:
            if title:
                header.ignored.append(_short(title, HEADER_SHOWN))
            continue
        if field in seen:
            raise ImportFileError(
                f"Two columns mean the same thing ({COLUMNS[field][0]}): “{_short(seen[field])}” and "
                f"“{_short(title)}”. Remove one of them."
            )
        seen[field] = title
        header.fields.append(field)
        header.positions.append(position)
    missing = [COLUMNS[f][0] for f in REQUIRED_COLUMNS if f not in header.fields]
    if missing:
        found = ", ".join(f"“{_short(t)}”" for t in header.titles if t) or "none"
        raise ImportFileError(
            f"No column for {' and '.join(missing)}. The first row must hold the column names "
            f"(e.g. Account ID, Name, Description, Owner); found: {found}."
        )
    return header


def _row_cells(
    header: _Header, number: int, raw: list[str], width: int, overlong: list[tuple[int, str, int]]
) -> list[str]:
    """One text per field of a data row; a cell over its column's bound is noted in ``overlong``."""
    cells: list[str] = []
    for field, position in zip(header.fields, header.positions, strict=True):
        text = _clean_text(raw[position]) if position < width else ""
        cell_limit = CELL_LIMITS[field]
        if len(text) > cell_limit:
            overlong.append((number, field, len(text)))
            text = text[:cell_limit]  # kept only to show the row; the row is rejected
        cells.append(text)
    return cells


def _read_rows(filename: str, source: Iterator[tuple[int, list[str]]]) -> Sheet:
    """The :class:`Sheet` of a file's rows (see :func:`read_spreadsheet`)."""
    max_rows = max_import_rows()
    header: _Header | None = None
    rows: list[tuple[int, list[str]]] = []
    overlong: list[tuple[int, str, int]] = []
    kept_chars = 0
    blank = 0
    for number, raw in source:
        width = _row_width(number, raw)
        if not width:
            blank += 1
            if blank > IMPORT_MAX_BLANK_ROWS:
                raise ImportFileError(
                    f"The file has more than {IMPORT_MAX_BLANK_ROWS:,} blank rows (reached at row {number:,}); "
                    "remove them, or check that this is the right file."
                )
            continue
        if header is None:
            header = _read_header(raw, width)
            continue
        if len(rows) >= max_rows:
            raise ImportFileError(
                f"The file has more than {max_rows:,} accounts (row {number:,} is one too many); an import "
                f"takes at most {max_rows:,} rows. Split it into smaller files."
            )
        cells = _row_cells(header, number, raw, width, overlong)
        kept_chars += sum(len(text) for text in cells)
        if kept_chars > IMPORT_MAX_TEXT_CHARS:
            raise ImportFileError(
                f"The file holds more than {IMPORT_MAX_TEXT_CHARS:,} characters of registry text (reached "
                f"at row {number:,}); split it into smaller files."
            )
        rows.append((number, cells))
    if header is None:
        raise ImportFileError("The file has no rows at all.")
    if not rows:
        raise ImportFileError("The file has column names but no rows below them.")
    return Sheet(
        filename=filename[:200],
        fields=header.fields,
        headers=[_short(header.titles[p], HEADER_SHOWN) for p in header.positions],
        ignored=header.ignored,
        rows=rows,
        overlong=overlong,
    )


# --- step 2: plan -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Change:
    """One field of one row: old → new, as display text."""

    field: str
    label: str
    old: str
    new: str


@dataclasses.dataclass
class PlannedRow:
    """A valid row: the typed values it sets, the owner it names (None: not given)."""

    line: int
    account_id: str
    name: str
    values: dict[str, Any]
    owner: str | None
    pk: int | None = None
    changes: list[Change] = dataclasses.field(default_factory=list)
    environment_guessed: bool = False  # a new account without an environment cell: guessed from its name


@dataclasses.dataclass
class RejectedRow:
    line: int
    account_id: str
    name: str
    reasons: list[str]


@dataclasses.dataclass
class ImportPlan:
    """What an import would do, row by row."""

    creates: list[PlannedRow]
    updates: list[PlannedRow]
    unchanged: list[PlannedRow]
    rejected: list[RejectedRow]
    unknown_teams: dict[str, int]  # team name as first written → rows naming it
    sheet: Sheet

    @property
    def has_work(self) -> bool:
        return bool(self.creates or self.updates)

    def fingerprint(self) -> str:
        """A digest of everything the preview showed, to notice a registry that changed since."""
        payload = {
            "c": [
                (r.line, r.account_id, sorted((k, str(v)) for k, v in r.values.items()), r.owner)
                for r in self.creates
            ],
            "u": [(r.line, r.pk, [dataclasses.astuple(c) for c in r.changes]) for r in self.updates],
            "r": [(r.line, r.reasons) for r in self.rejected],
            "t": sorted(self.unknown_teams.items()),
        }
        return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_account_id(raw: str) -> tuple[str, str | None]:
    value = normalise_account_id(raw)
    if not value:
        return value, "Account ID is missing."
    if ACCOUNT_ID_RE.match(value):
        return value, None
    if value.isascii() and value.isdigit():
        hint = (
            " (if a spreadsheet dropped a leading zero, format the column as text)" if len(value) < 12 else ""
        )
        return value, f"Account ID {value} has {len(value)} digits; it needs exactly 12{hint}."
    return value, f"Account ID “{_short(raw)}” is not 12 digits."


def _parse_row(
    fields: list[str], cells: list[str], overlong: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], str | None, list[str]]:
    """Typed values for the non-empty cells of one row, the owner name, and the reasons it is invalid.

    ``overlong``: the fields whose cell was longer than its bound (the row is rejected for that;
    their clipped text is not judged again).
    """
    values: dict[str, Any] = {}
    owner: str | None = None
    reasons: list[str] = []
    for field, text in zip(fields, cells, strict=True):
        if field in {"account_id", "name"} or field in overlong or not text:
            continue  # empty cells leave the registry's value as it is
        if field == "owner":
            owner = " ".join(text.split())
            if len(owner) > 100:
                reasons.append("Owner team name is longer than 100 characters.")
        elif field == "environment":
            env = choice_value(Environment, text)
            if env is None:
                reasons.append(
                    f"Unknown environment “{_short(text)}” (use one of: {environment_choices_text()})."
                )
            values["environment"] = env
        elif field == "status":
            status = choice_value(AccountStatus, text)
            if status is None:
                reasons.append(f"Unknown status “{_short(text)}” (use one of: {status_choices_text()}).")
            values["status"] = status
        elif field in {"email", "contact_email"}:
            try:
                validate_email(text)
            except ValidationError:
                reasons.append(f"{COLUMNS[field][0]} “{_short(text)}” is not an email address.")
            values[field] = text
        elif field == "read_role":
            try:
                validate_read_role(text)
            except ValidationError:
                reasons.append(f"Read role “{_short(text)}” is neither a role name nor a role ARN.")
            values[field] = text
        elif field == "allowed_regions":
            regions, bad = parse_regions(text)
            if bad:
                reasons.append(f"Not region names: {', '.join(_short(b, 20) for b in bad[:5])}.")
            values[field] = regions
        elif field == "collection_enabled":
            word = text.lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                reasons.append(f"Collection “{_short(text)}” is not yes or no.")
            values[field] = word in TRUE_WORDS
        else:  # free text, bounded when the file was read (Sheet.overlong)
            values[field] = text
    return values, owner, reasons


def _display(field: str, value: Any, team_names: dict[int, str]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if field == "owner":
        return team_names.get(value, str(value)) if isinstance(value, int) else f"{value} (new team)"
    if field == "environment":
        return str(Environment(value).label) if value in Environment.values else str(value)
    if field == "status":
        return str(AccountStatus(value).label) if value in AccountStatus.values else str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


# one row of the file, parsed: (line, account ID, name, typed values, owner named, why it is invalid)
_Parsed = tuple[int, str, str, dict[str, Any], str | None, list[str]]


def _parse_sheet(sheet: Sheet) -> tuple[list[_Parsed], dict[str, list[int]]]:
    """Every row parsed on its own (no database), and the lines each valid account ID is on."""
    ids_seen: dict[str, list[int]] = defaultdict(list)
    parsed: list[_Parsed] = []
    id_pos = sheet.fields.index("account_id")
    name_pos = sheet.fields.index("name")
    header_of = dict(zip(sheet.fields, sheet.headers, strict=True))
    too_long: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for line, field, length in sheet.overlong:
        too_long[line].append((field, length))
    for line, cells in sheet.rows:
        cut = too_long.get(line, [])
        cut_fields = frozenset(field for field, _length in cut)
        account_id, id_problem = _check_account_id(cells[id_pos])
        name = " ".join(cells[name_pos].split())
        values, owner, reasons = _parse_row(sheet.fields, cells, cut_fields)
        if id_problem and "account_id" not in cut_fields:
            reasons.insert(0, id_problem)
        elif not id_problem:
            ids_seen[account_id].append(line)
        if not name and "name" not in cut_fields:
            reasons.insert(0, "Name is missing.")
        for field, length in reversed(cut):
            reasons.insert(
                0,
                f"Row {line:,}, column “{header_of[field]}”: "
                + too_long_message(COLUMNS[field][0], CELL_LIMITS[field], length),
            )
        parsed.append((line, account_id, name, values, owner, reasons))
    return parsed, ids_seen


def _accounts_by_id(ids: list[str]) -> dict[str, AwsAccount]:
    existing: dict[str, AwsAccount] = {}
    for start in range(0, len(ids), 900):  # stay under SQLite's parameter limit
        for account in AwsAccount.objects.filter(account_id__in=ids[start : start + 900]):
            existing[account.account_id] = account
    return existing


class _Owners:
    """Owner team names resolved to the registry's teams; unknown names counted (first spelling kept)."""

    def __init__(self) -> None:
        self.teams = {team.name.lower(): team for team in Team.objects.all()}
        self.names = {team.pk: team.name for team in self.teams.values()}
        self.unknown: Counter[str] = Counter()
        self.spelling: dict[str, str] = {}

    def resolve(self, owner: str) -> int | str:
        """The team's pk, or for an unknown team its name (resolved, or dropped, at commit)."""
        team = self.teams.get(owner.lower())
        if team is not None:
            return team.pk
        key = owner.lower()
        self.unknown[key] += 1
        self.spelling.setdefault(key, owner)
        return self.spelling[key]

    def unknown_teams(self) -> dict[str, int]:
        return {self.spelling[key]: count for key, count in self.unknown.items()}


def _plan_new(row: PlannedRow, team_names: dict[int, str]) -> None:
    """A new account: its environment guessed when the file gave none; every value is a change."""
    if "environment" not in row.values:
        row.values["environment"] = guess_environment(row.name, row.values.get("org_unit", ""))
        row.environment_guessed = True
    row.changes = [
        Change(field, COLUMNS[field][0], "—", _display(field, value, team_names))
        for field, value in row.values.items()
        if field != "name"
    ]


def _plan_update(row: PlannedRow, current: AwsAccount, team_names: dict[int, str]) -> None:
    """An account in the registry: the changes are the values that differ from its record."""
    row.pk = current.pk
    for field, new in row.values.items():
        old = current.owner_id if field == "owner" else getattr(current, field)
        if old != new:
            row.changes.append(
                Change(
                    field,
                    COLUMNS[field][0],
                    _display(field, old, team_names),
                    _display(field, new, team_names),
                )
            )


def build_plan(sheet: Sheet) -> ImportPlan:
    """Validate every row of ``sheet`` against the registry now; a constant number of queries per 1000 rows."""
    parsed, ids_seen = _parse_sheet(sheet)
    existing = _accounts_by_id(list(ids_seen))
    owners = _Owners()
    plan = ImportPlan(creates=[], updates=[], unchanged=[], rejected=[], unknown_teams={}, sheet=sheet)
    for line, account_id, name, values, owner, reasons in parsed:
        lines = ids_seen.get(account_id, [])
        if len(lines) > 1:
            reasons.append(
                f"Account ID {account_id} appears more than once in the file (rows {', '.join(map(str, lines[:6]))})."
            )
        if reasons:
            plan.rejected.append(RejectedRow(line=line, account_id=account_id, name=name, reasons=reasons))
            continue
        row = PlannedRow(
            line=line, account_id=account_id, name=name, values={"name": name, **values}, owner=owner
        )
        if owner is not None:
            row.values["owner"] = owners.resolve(owner)
        current = existing.get(account_id)
        if current is None:
            _plan_new(row, owners.names)
            plan.creates.append(row)
        else:
            _plan_update(row, current, owners.names)
            (plan.updates if row.changes else plan.unchanged).append(row)
    plan.unknown_teams = owners.unknown_teams()
    return plan


# --- step 3: commit ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    teams_created: list[str]
    skipped: int


def record_update_history(accounts: list[AwsAccount], user: Any, when: dt.datetime) -> None:
    """History records for updated accounts (what ``bulk_update_with_history`` does after its update).

    Recorded as changes ("~"), so the history reads "Changed" with each field's old → new value
    (against the account's previous record), not as a second creation.
    """
    AwsAccount.history.bulk_history_create(
        accounts,
        batch_size=BATCH_SIZE,
        update=True,
        default_user=user,
        default_change_reason=CHANGE_REASON,
        default_date=when,
    )


def _create_teams(plan: ImportPlan, user: Any) -> tuple[list[str], dict[str, int]]:
    """Create the plan's unknown teams (those not made meanwhile): their names, and every name's pk."""
    existing = {t.name.lower(): t.pk for t in Team.objects.filter(name__in=list(plan.unknown_teams))}
    new_teams = [Team(name=name) for name in plan.unknown_teams if name.lower() not in existing]
    made = bulk_create_with_history(
        new_teams, Team, batch_size=BATCH_SIZE, default_user=user, default_change_reason=CHANGE_REASON
    )
    return [t.name for t in made], {**existing, **{t.name.lower(): t.pk for t in made}}


def _create_accounts(
    plan: ImportPlan, user: Any, owner_id: Callable[[Any], int | None], now: dt.datetime
) -> list[AwsAccount]:
    new_accounts = []
    for row in plan.creates:
        values = dict(row.values)
        owner = owner_id(values.pop("owner")) if "owner" in values else None
        new_accounts.append(
            AwsAccount(
                account_id=row.account_id,
                owner_id=owner,
                created=now,
                updated=now,
                environment_guessed=row.environment_guessed,
                **values,
            )
        )
    bulk_create_with_history(
        new_accounts,
        AwsAccount,
        batch_size=BATCH_SIZE,
        default_user=user,
        default_change_reason=CHANGE_REASON,
    )
    return new_accounts


def _changed_columns(row: PlannedRow, owner_id: Callable[[Any], int | None]) -> dict[str, Any]:
    """The columns a planned update writes (an unknown team that is not created keeps the owner)."""
    changed: dict[str, Any] = {}
    for change in row.changes:
        value = row.values[change.field]
        if change.field == "owner":
            value = owner_id(value)
            if value is None:
                continue
            changed["owner_id"] = value
        else:
            changed[change.field] = value
    if "environment" in changed:
        changed["environment_guessed"] = False  # the file's environment column: a person's
    return changed


def _update_accounts(
    plan: ImportPlan, owner_id: Callable[[Any], int | None], now: dt.datetime
) -> list[AwsAccount]:
    """Write the plan's updates (rows locked); returns the accounts that changed."""
    by_pk = {row.pk: row for row in plan.updates if row.pk is not None}  # updates are existing rows
    accounts = []
    pks = list(by_pk)
    for start in range(0, len(pks), 900):
        for account in AwsAccount.objects.select_for_update().filter(pk__in=pks[start : start + 900]):
            changed = _changed_columns(by_pk[account.pk], owner_id)
            if changed:
                changed["updated"] = now
                # One UPDATE of just the changed columns per account: linear, unlike Django's
                # bulk_update, whose CASE WHEN per field grows slow with big batches (it took
                # most of a 10k-row import), and it never rewrites columns the file did not set.
                AwsAccount.objects.filter(pk=account.pk).update(**changed)
                for name, value in changed.items():
                    setattr(account, name, value)
                accounts.append(account)
    return accounts


def commit_plan(plan: ImportPlan, user: Any, *, create_teams: bool) -> ImportResult:
    """Write ``plan`` in one transaction: new teams (if asked), new accounts, updated accounts.

    Each written account and team gets a history record by ``user`` with the reason
    "Spreadsheet import". Rows naming an unknown team get no owner unless ``create_teams``.
    Any exception leaves the database as it was.
    """
    now = timezone.now()
    with transaction.atomic():
        team_ids: dict[str, int] = {}
        created_teams: list[str] = []
        if create_teams and plan.unknown_teams:
            created_teams, team_ids = _create_teams(plan, user)

        def owner_id(value: Any) -> int | None:
            if isinstance(value, int):
                return value
            return team_ids.get(str(value).lower())

        new_accounts = _create_accounts(plan, user, owner_id, now)
        accounts = _update_accounts(plan, owner_id, now)
        if accounts:
            record_update_history(accounts, user, now)
    return ImportResult(
        created=len(new_accounts),
        updated=len(accounts),
        teams_created=created_teams,
        skipped=len(plan.rejected),
    )
