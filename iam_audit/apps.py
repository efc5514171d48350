from __future__ import annotations

from django.apps import AppConfig


class IamAuditConfig(AppConfig):
    name = "iam_audit"
    verbose_name = "Audit"
