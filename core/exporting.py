"""The one exporter: rows from a generator, written as CSV, JSON or XLSX, to a download or a stdout.

Every export goes through here: the list pages' ``?export=csv|xlsx`` (:func:`core.ui.object_list`),
the findings page's JSON, the access paths, checks and baseline downloads, and the
``export_findings``, ``export_inventory``, ``export_exposure`` and ``export_access_paths`` commands.

* Rows are any iterable (a generator reading the database in chunks, so nothing holds the whole
  export); for CSV and XLSX the first row is the header.
* Every CSV/XLSX cell goes through :func:`cell_value`: plain types kept, times in UTC, the rest as
  text, and text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) gets a
  leading ``'`` -- the values come from AWS and from users, so they are attacker-controlled.
* JSON is an array written one record a line (``[``, one object per line, ``]``), so it streams too.
* ExternalIds: list exports are redacted where their rows are made (:func:`core.ui.table_rows`), the
  other exports by the caller with :mod:`core.secrets` before the rows reach here.

:func:`csv_chunks`, :func:`json_chunks` and :func:`xlsx_file` make the output; :func:`csv_response`,
:func:`json_response` and :func:`xlsx_response` send it over HTTP, :func:`write_chunks` to a
management command's stdout.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any, cast

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

EXPORT_FORMATS = ("csv", "xlsx")  # what the list pages offer
EXPORT_CHUNK = 2000  # rows read from the database at a time
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_MAX = 32767  # Excel refuses longer cells
BOM = "\ufeff"  # leads a downloaded CSV so Excel reads it as UTF-8


# --- cells ---------------------------------------------------------------------------------------


def neutralise(value: Any) -> Any:
    """Make a text cell inert in a spreadsheet: prefix ``'`` when it would start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def cell_value(value: Any, for_xlsx: bool = False) -> Any:
    """One value as a spreadsheet cell: plain types kept, times in UTC, the rest as (inert) text."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value, dt.UTC)
        # Excel has no time zones: write UTC as a naive time (headers say so where it matters).
        return value.replace(tzinfo=None) if for_xlsx else value.isoformat()
    if isinstance(value, dt.date):
        return value if for_xlsx else value.isoformat()
    if isinstance(value, list | tuple | set):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, default=str, sort_keys=True)
    elif isinstance(value, Promise):
        text = str(value)
    else:
        text = str(value)
    if for_xlsx:
        text = ILLEGAL_CHARACTERS_RE.sub("", text)[:XLSX_CELL_MAX]
    return neutralise(text)


def safe_filename(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "export"
    return stem[:80]


# --- formats -------------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose ``write`` hands the line back, for streaming CSV."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(
    rows: Iterable[Sequence[Any]], *, bom: bool = False, lineterminator: str = "\r\n"
) -> Iterator[str]:
    """``rows`` (the header first) as CSV lines, every cell through :func:`cell_value`."""
    writer = csv.writer(_Echo(), lineterminator=lineterminator)
    if bom:
        yield BOM
    for row in rows:
        yield writer.writerow([cell_value(v) for v in row])


def json_chunks(records: Iterable[Mapping[str, Any]], indent: int | None = None) -> Iterator[str]:
    """``records`` as a JSON array, streamed record by record (values JSON cannot hold are written as
    text).

    Without ``indent``, one record a line. With it, the bytes ``json.dumps(list, indent=indent)``
    would give (every record pretty-printed inside the array), without building the list.
    """
    if indent is None:
        yield "["
        for n, record in enumerate(records):
            yield ("\n" if n == 0 else ",\n") + json.dumps(record, ensure_ascii=False, default=str)
        yield "\n]\n"
        return
    pad = " " * indent
    n = -1
    for n, record in enumerate(records):
        text = json.dumps(record, ensure_ascii=False, default=str, indent=indent)
        yield ("[\n" if n == 0 else ",\n") + "\n".join(pad + line for line in text.split("\n"))
    yield "[]\n" if n < 0 else "\n]\n"


def xlsx_file(rows: Iterable[Sequence[Any]], sheet_title: str = "Export") -> IO[bytes]:
    """``rows`` (the header first) in a one-sheet workbook, every cell through :func:`cell_value`.

    openpyxl's write-only mode keeps memory flat for big exports; the file is built in a temporary
    file (spilled to disk past a few MB), returned rewound.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=safe_filename(sheet_title)[:31] or "Export")
    for row in rows:
        sheet.append([cell_value(v, for_xlsx=True) for v in row])
    buffer = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # FileResponse closes it
    workbook.save(buffer)
    buffer.seek(0)
    return cast(IO[bytes], buffer)


# --- where it goes -------------------------------------------------------------------------------


def _download(chunks: Iterator[str], content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_response(filename: str, rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """Stream ``rows`` (the first is the header) as a UTF-8 CSV download with formula cells neutralised.

    A byte-order mark leads so Excel reads the file as UTF-8.
    """
    return _download(csv_chunks(rows, bom=True), "text/csv; charset=utf-8", f"{safe_filename(filename)}.csv")


def json_response(filename: str, records: Iterable[Mapping[str, Any]]) -> StreamingHttpResponse:
    """Stream ``records`` as a JSON array download (see :func:`json_chunks`)."""
    return _download(
        json_chunks(records), "application/json; charset=utf-8", f"{safe_filename(filename)}.json"
    )


def xlsx_response(filename: str, rows: Iterable[Sequence[Any]], sheet_title: str = "Export") -> FileResponse:
    """Write ``rows`` (the first is the header) to an XLSX download, formula cells neutralised."""
    return FileResponse(
        xlsx_file(rows, sheet_title),
        as_attachment=True,
        filename=f"{safe_filename(filename)}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def write_chunks(stdout: Any, chunks: Iterable[str]) -> None:
    """Write ``chunks`` to a management command's ``self.stdout`` as they come (no added line endings)."""
    for chunk in chunks:
        stdout.write(chunk, ending="")
