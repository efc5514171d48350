"""The one exporter (core.exporting): the bytes each format writes, streamed, formula cells inert."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management.base import OutputWrapper
from openpyxl import load_workbook

from core.exporting import (
    BOM,
    csv_chunks,
    csv_response,
    json_chunks,
    json_response,
    write_chunks,
    xlsx_response,
)

RECORDS: list[dict[str, Any]] = [
    {"name": '=HYPERLINK("x")', "n": 3, "when": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)},
    {"name": 'ünïcode, "quoted"\nline', "n": None, "when": None, "tags": {"b": 1, "a": [1, 2]}},
]


def one_at_a_time(items: list[Any], seen: list[int]) -> Iterator[Any]:
    for n, item in enumerate(items):
        seen.append(n)
        yield item


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("records", [RECORDS, []])
def test_json_is_what_json_dumps_writes(records: list[dict[str, Any]], indent: int | None) -> None:
    text = "".join(json_chunks(records, indent=indent))
    assert json.loads(text) == json.loads(json.dumps(records, default=str))
    if indent is not None:  # byte for byte what the exposure command wrote with json.dumps(indent=2)
        assert text == json.dumps(records, indent=indent, ensure_ascii=False, default=str) + "\n"
    else:  # one record a line, as the findings, inventory and access paths exports always were
        lines = text.split("\n")
        assert lines[0] == "[" and lines[-2:] == ["]", ""]
        assert len(lines) == len(records) + 3


def test_json_streams_record_by_record() -> None:
    seen: list[int] = []
    chunks = json_chunks(one_at_a_time(RECORDS, seen))
    assert next(chunks) == "["
    assert seen == []
    next(chunks)
    assert seen == [0]


@pytest.mark.parametrize("terminator", ["\r\n", "\n"])
def test_csv_neutralises_formulas_and_matches_the_csv_module(terminator: str) -> None:
    rows = [["name", "n", "when"], *([r["name"], r["n"], r["when"]] for r in RECORDS)]
    text = "".join(csv_chunks(rows, lineterminator=terminator))
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator=terminator)
    writer.writerow(["name", "n", "when"])
    writer.writerow(['\'=HYPERLINK("x")', 3, "2026-01-02T03:04:00+00:00"])
    writer.writerow(['ünïcode, "quoted"\nline', "", ""])
    assert text == expected.getvalue()


def test_the_csv_download_leads_with_a_bom_and_streams() -> None:
    response = csv_response("a b/c", [["h"], ["@SUM(1)"]])
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="a-b-c.csv"'
    body = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    assert body == BOM + "h\r\n'@SUM(1)\r\n"


def test_the_json_download() -> None:
    response = json_response("findings 1", RECORDS)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="findings-1.json"'
    body = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    assert json.loads(body)[0]["name"] == RECORDS[0]["name"]  # JSON keeps the text as it is


def test_the_xlsx_download_neutralises_formulas() -> None:
    response = xlsx_response("x", [["name"], ["=1+1"], ["-2"]], sheet_title="Sheet")
    data = b"".join(response.streaming_content)  # type: ignore[arg-type]
    sheet = load_workbook(io.BytesIO(data)).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["name", "'=1+1", "'-2"]


def test_write_chunks_adds_no_line_endings() -> None:
    out = io.StringIO()
    write_chunks(OutputWrapper(out), ["a", "b\n", "c"])
    assert out.getvalue() == "ab\nc"
