"""Settings for the test suite: the normal settings in development mode, with fast password hashing."""

from __future__ import annotations

import os

os.environ.setdefault("SKYLEDGER_DEV", "1")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
