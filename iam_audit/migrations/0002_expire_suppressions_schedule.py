"""The beat schedule "Expire finding suppressions": daily at 03:15 UTC (editable in admin)."""

from __future__ import annotations

import json

from django.db import migrations

TASK_NAME = "Expire finding suppressions"


def create(apps, schema_editor) -> None:
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    if not PeriodicTask.objects.filter(name=TASK_NAME).exists():
        PeriodicTask.objects.create(
            name=TASK_NAME,
            task="iam_audit.expire_suppressions",
            crontab=crontab,
            kwargs=json.dumps({}),
            enabled=True,
            description="Findings whose suppression has reached its end date become active again.",
        )


def drop(apps, schema_editor) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME, task="iam_audit.expire_suppressions").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("iam_audit", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, drop)]
