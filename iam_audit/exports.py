"""Findings as records for automation: ``manage.py export_findings --format json`` and the page's JSON export.

One definition for both, so a script sees what a person sees on the finding page: the check's
evidence, its remediation and references, and the resources the finding is about. A resource
finding is about its subject; an account-level finding (the subject is the account) is about
every resource its evidence names, listed under ``resources`` so a script need not know each
check's evidence layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from core.secrets import everyone
from iam_audit import engine
from iam_audit.models import Finding

# (record key, ORM path) of the flat columns, in the order they are written
COLUMNS = (
    ("check_id", "check_id"),
    ("title", "title"),
    ("severity", "severity"),
    ("priority", "priority"),
    ("status", "status"),
    ("account_id", "account__account_id"),
    ("account_name", "account__name"),
    ("region", "region"),
    ("resource_id", "resource__resource_id"),
    ("arn", "subject"),
    ("summary", "summary"),
    ("first_seen", "first_seen"),
    ("last_seen", "last_seen"),
)
TIMES = ("first_seen", "last_seen")
EXPORT_CHUNK = 2000
MAX_NAMED = 10_000  # ARNs listed per finding (evidence is bounded already; this is a backstop)


def named_arns(evidence: Any, account_id: str = "") -> list[str]:
    """Every resource ARN in ``evidence`` (any depth), in first-seen order, without the account root."""
    found: dict[str, None] = {}
    root = f":iam::{account_id}:root" if account_id else None
    stack = [evidence]
    while stack and len(found) < MAX_NAMED:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list | tuple):
            stack.extend(reversed(list(value)))
        elif isinstance(value, str) and value.startswith("arn:") and not (root and value.endswith(root)):
            found.setdefault(value, None)
    return list(found)


def finding_records(queryset: QuerySet[Finding]) -> Iterator[dict[str, Any]]:
    """One JSON-ready dict per finding of ``queryset`` (in its order), streamed from the database.

    Adds to the flat columns: ``evidence``, ``remediation``, ``risk``, ``references`` (from the check
    catalogue) and ``resources`` (see the module docstring). ExternalIds are masked in the
    evidence and summary (findings stored before the engine masked them may still hold one).
    """
    catalogue = engine.catalogue()
    redactor = everyone()  # evidence never carries an ExternalId, whoever asks (core.secrets)
    paths = [path for _, path in COLUMNS]
    rows = queryset.values_list(*paths, "evidence", "resource_id")
    for values in rows.iterator(chunk_size=EXPORT_CHUNK):
        record: dict[str, Any] = {name: value for (name, _), value in zip(COLUMNS, values, strict=False)}
        evidence, resource_pk = values[len(COLUMNS)], values[len(COLUMNS) + 1]
        for key in TIMES:
            record[key] = record[key].isoformat() if record[key] else None
        record["resource_id"] = record["resource_id"] or ""
        check = catalogue.get(record["check_id"])
        record["evidence"] = redactor.data(evidence) if evidence is not None else {}
        record["summary"] = redactor.text(record["summary"] or "")
        record["remediation"] = check.remediation if check else ""
        record["risk"] = check.risk if check else ""
        record["references"] = list(check.references) if check else []
        subject = str(record["arn"] or "")
        own = [subject] if subject.startswith("arn:") and not subject.endswith(":root") else []
        if resource_pk is not None:
            record["resources"] = own
        else:
            named = named_arns(record["evidence"], record["account_id"] or "")
            record["resources"] = own + [arn for arn in named if arn not in own]
        yield record
