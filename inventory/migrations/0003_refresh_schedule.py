"""The beat schedule "Refresh all accounts": every SKYLEDGER_REFRESH_HOURS hours (editable in admin)."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import migrations

TASK_NAME = "Refresh all accounts"


def create(apps, schema_editor) -> None:
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hours = max(1, int(getattr(settings, "SKYLEDGER_REFRESH_HOURS", 6) or 6))
    interval, _ = IntervalSchedule.objects.get_or_create(every=hours, period="hours")
    if not PeriodicTask.objects.filter(name=TASK_NAME).exists():
        PeriodicTask.objects.create(
            name=TASK_NAME,
            task="inventory.refresh_all",
            interval=interval,
            kwargs=json.dumps({}),
            enabled=True,
            description="Collect every account whose collection is on (inventory.refresh_all).",
        )


def drop(apps, schema_editor) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME, task="inventory.refresh_all").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_search_indexes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, drop)]
