"""The Celery app. Tasks live in each app's ``tasks.py``; configuration comes from settings (CELERY_*)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("skyledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
