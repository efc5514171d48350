"""How much text people may write, and how big an uploaded spreadsheet may be: every bound in one place.

The models (validators and database CHECK constraints), the forms (the same message everywhere) and
the spreadsheet import (a rejected row naming the row and column) all read these numbers. Nothing is
ever cut silently: text over a bound is refused with a message that says the bound and the length.

Upload bounds that an operator may want to move are settings (``SKYLEDGER_IMPORT_MAX_BYTES``,
``SKYLEDGER_IMPORT_MAX_ROWS``); see :func:`max_upload_bytes` and :func:`max_import_rows`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# --- free text people write ---------------------------------------------------------------------

ACCOUNT_NAME_MAX = 100
TEAM_NAME_MAX = 100
DESCRIPTION_MAX = 2_000  # an account's or a team's description
NOTES_MAX = 5_000  # an account's notes
ORG_UNIT_MAX = 300  # an OU path
READ_ROLE_MAX = 600  # a role name (64) or a role ARN with its path
EXTERNAL_ID_MAX = 1_224  # AWS's own limit for sts:AssumeRole ExternalId
EMAIL_MAX = 254  # RFC 5321 (Django's EmailField default)
CHANGE_REASON_MAX = 100  # "Reason for the change" (django-simple-history's column is 100)
JUSTIFICATION_MAX = 2_000  # a finding's suppression justification (and its triage event's note)

# Characters of one old or new value a history entry shows (older records may predate the bounds).
HISTORY_VALUE_SHOWN = 500
# Characters of one value the import preview shows per changed field.
PREVIEW_VALUE_SHOWN = 300

# --- spreadsheet import ------------------------------------------------------------------------

IMPORT_MAX_BYTES_DEFAULT = 5 * 1024 * 1024
IMPORT_MAX_ROWS_DEFAULT = 5_000
IMPORT_MAX_BLANK_ROWS = 10_000  # blank rows cost nothing to write and time to read
IMPORT_MAX_COLUMNS = 60  # the registry has 14 columns; exports from other tools add a few
# A physical CSV line: the longest legitimate row (every field at its bound, quoted) is ~12,000.
IMPORT_MAX_LINE_CHARS = 100_000
# XLSX is a zip: refuse it before anything decompresses when its members declare more than this
# in total, one member expands more than XLSX_MAX_RATIO times, or it has too many members.
XLSX_MAX_UNCOMPRESSED = 50 * 1024 * 1024
XLSX_MAX_RATIO = 100
XLSX_RATIO_MIN_SIZE = 1024 * 1024  # tiny members (styles, empty sheets) compress well legitimately
XLSX_MAX_MEMBERS = 200
# The text an import keeps between preview and confirm (the mapped cells of every row): a 5 MB CSV
# holds at most 5 million characters; shared strings could make an XLSX repeat one cell endlessly.
IMPORT_MAX_TEXT_CHARS = 10_000_000


def max_upload_bytes() -> int:
    return int(getattr(settings, "SKYLEDGER_IMPORT_MAX_BYTES", IMPORT_MAX_BYTES_DEFAULT))


def max_import_rows() -> int:
    return int(getattr(settings, "SKYLEDGER_IMPORT_MAX_ROWS", IMPORT_MAX_ROWS_DEFAULT))


def size_text(n_bytes: int) -> str:
    """A byte count as people read it: "5 MB", "2.5 MB", "300 kB"."""
    if n_bytes >= 1024 * 1024:
        value = n_bytes / (1024 * 1024)
        return f"{value:,.1f} MB".replace(".0 MB", " MB")
    if n_bytes >= 1024:
        return f"{n_bytes / 1024:,.0f} kB"
    return f"{n_bytes:,} bytes"


def too_long_message(label: str, limit: int, length: int) -> str:
    """The one message for text over its bound, in forms, models and imports."""
    return f"{label} is at most {limit:,} characters (you entered {length:,})."


@deconstructible
class MaxCharsValidator:
    """Like Django's MaxLengthValidator, with a message that names the field and both numbers."""

    code = "max_length"

    def __init__(self, limit: int, label: str) -> None:
        self.limit = limit
        self.label = label

    def __call__(self, value: Any) -> None:
        length = len(value) if value is not None else 0
        if length > self.limit:
            raise ValidationError(
                too_long_message(self.label, self.limit, length),
                code=self.code,
                params={"limit_value": self.limit, "show_value": length},
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MaxCharsValidator) and (self.limit, self.label) == (other.limit, other.label)

    def __hash__(self) -> int:
        return hash((self.limit, self.label))


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis and the full length, for display only."""
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 1, 0)]}… ({len(text):,} characters)"
