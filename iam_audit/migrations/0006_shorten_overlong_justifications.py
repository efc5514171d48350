"""Shorten suppression justifications longer than the new bound (2,000), before the CHECK is added.

The full text stays where the suppression was recorded: the finding's "suppressed" event keeps it in
its note. Chosen over a CHECK on new writes only for the reasons given in accounts' migration 0004.
"""

from django.db import migrations
from django.db.models.functions import Length

LIMIT = 2000  # copied: a migration must keep meaning what it meant


def shorten_overlong(apps, schema_editor):
    Finding = apps.get_model("iam_audit", "Finding")
    overlong = Finding.objects.annotate(n=Length("suppression_justification")).filter(n__gt=LIMIT)
    for finding in overlong.only("pk", "suppression_justification").iterator(chunk_size=100):
        text = finding.suppression_justification[: LIMIT - 1] + "…"
        Finding.objects.filter(pk=finding.pk).update(suppression_justification=text)


class Migration(migrations.Migration):
    dependencies = [
        ("iam_audit", "0005_finding_not_evaluated"),
    ]

    operations = [
        migrations.RunPython(shorten_overlong, migrations.RunPython.noop),
    ]
