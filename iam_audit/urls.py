from __future__ import annotations

from django.urls import path  # noqa: F401  (features add their routes here)

app_name = "iam_audit"

urlpatterns: list = []
