"""Mask the ExternalIds findings stored before the engine masked them (core.secrets).

Evidence quoting a trust policy kept its ``sts:ExternalId`` condition values, and a summary or an
event note could name a registry ExternalId. Every stored finding, event and check result is
rewritten with them masked, as the engine now stores them. Not reversible: the values are gone
from the findings (the registry and the collected policies keep them).
"""

from typing import Any

from django.conf import settings
from django.db import migrations

from core.secrets import Redactor

CHUNK = 2000


def mask_stored_external_ids(apps: Any) -> int:
    """Mask ExternalIds in findings' evidence and summaries, events' notes and checks' details;
    returns how many rows changed."""
    AwsAccount = apps.get_model("accounts", "AwsAccount")
    Finding = apps.get_model("iam_audit", "Finding")
    FindingEvent = apps.get_model("iam_audit", "FindingEvent")
    CheckResult = apps.get_model("iam_audit", "CheckResult")
    known = set(AwsAccount.objects.exclude(external_id="").values_list("external_id", flat=True))
    known.add(getattr(settings, "SKYLEDGER_EXTERNAL_ID", "") or "")
    redactor = Redactor(known)
    changed = 0
    for model, fields in (
        (Finding, ("evidence", "summary")),
        (FindingEvent, ("note",)),
        (CheckResult, ("detail",)),
    ):
        batch = []
        for row in model.objects.only("pk", *fields).iterator(chunk_size=CHUNK):
            dirty = False
            for field in fields:
                value = getattr(row, field)
                masked = redactor.text(value) if isinstance(value, str) else redactor.data(value)
                if masked != value:
                    setattr(row, field, masked)
                    dirty = True
            if dirty:
                batch.append(row)
            if len(batch) >= CHUNK:
                model.objects.bulk_update(batch, fields)
                changed += len(batch)
                batch = []
        if batch:
            model.objects.bulk_update(batch, fields)
            changed += len(batch)
    return changed


def forwards(apps: Any, schema_editor: Any) -> None:
    mask_stored_external_ids(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_environment_guessed"),
        ("iam_audit", "0007_text_bounds"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
