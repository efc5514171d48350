"""Shorten descriptions and notes longer than the new bounds, so the next migration's CHECK holds.

Chosen over a constraint on new writes only: PostgreSQL could add the CHECK as NOT VALID, but SQLite
cannot, an unvalidated CHECK still refuses any later save of the row (so an owner could not fix
another field without first cutting the text), and every page and export would keep serving the
old text. Nothing is lost: the full text stays in the record's previous history entry, and a new
history entry ("Shortened to the length limit ...") says who (the system), when and why. Shortened
text ends with "…" and is exactly at the bound.
"""

from django.db import migrations
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone

# Copied here (not imported from accounts.limits): a migration must keep meaning what it meant.
LIMITS = {"AwsAccount": {"description": 2000, "notes": 5000}, "Team": {"description": 2000}}
REASON = "Shortened to the length limit by migration 0004; the full text is in the entry before"


def _shorten(text, limit):
    return text[: limit - 1] + "…"


def shorten_overlong(apps, schema_editor):
    now = timezone.now()
    for model_name, limits in LIMITS.items():
        Model = apps.get_model("accounts", model_name)
        History = apps.get_model("accounts", f"Historical{model_name}")
        recorded = [f.attname for f in History._meta.concrete_fields if not f.attname.startswith("history_")]
        too_long = Q()
        for field, limit in limits.items():
            too_long |= Q(**{f"{field}_len__gt": limit})
        annotations = {f"{field}_len": Length(field) for field in limits}
        for obj in Model.objects.annotate(**annotations).filter(too_long).iterator(chunk_size=100):
            changed = {}
            for field, limit in limits.items():
                value = getattr(obj, field) or ""
                if len(value) > limit:
                    changed[field] = _shorten(value, limit)
            Model.objects.filter(pk=obj.pk).update(**changed)
            for field, value in changed.items():
                setattr(obj, field, value)
            record = History.objects.create(
                **{name: getattr(obj, name) for name in recorded if hasattr(obj, name)},
                history_date=now,
                history_type="~",
                history_user=None,
                history_change_reason=REASON,
            )
            if model_name == "Team":
                # The team's history compares members record by record: carry them over.
                Members = apps.get_model("accounts", "HistoricalTeam_members")
                Through = Model.members.through
                Members.objects.bulk_create(
                    Members(id=row_id, history=record, team_id=obj.pk, user_id=user_id)
                    for row_id, user_id in Through.objects.filter(team_id=obj.pk).values_list("pk", "user_id")
                )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_environment_guessed"),
    ]

    operations = [
        migrations.RunPython(shorten_overlong, migrations.RunPython.noop),
    ]
