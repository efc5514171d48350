from __future__ import annotations

from django.db import models


class Environment(models.TextChoices):
    ORG_ROOT = "org-root", "Organisation root (management)"
    IDENTITY = "identity", "Identity"
    OPERATIONS = "operations", "Operations / log archive"
    SECURITY = "security", "Security"
    DEV = "dev", "Development"
    STAGING = "staging", "Staging"
    PROD = "prod", "Production"
    SANDBOX = "sandbox", "Sandbox"
    OTHER = "other", "Other"


class AccountStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CLOSED = "closed", "Closed"
    NOT_IN_ORG = "not-in-organisation", "Not in organisation"


class AccessStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not checked"
    OK = "ok", "OK"
    FAILED = "failed", "Failed"


# Words in an account or OU name that make its environment obvious (discovery and import).
ENVIRONMENT_HINTS: list[tuple[str, str]] = [
    ("management", Environment.ORG_ROOT),
    ("master", Environment.ORG_ROOT),
    ("org-root", Environment.ORG_ROOT),
    ("identity", Environment.IDENTITY),
    ("log-archive", Environment.OPERATIONS),
    ("logarchive", Environment.OPERATIONS),
    ("operations", Environment.OPERATIONS),
    ("security", Environment.SECURITY),
    ("audit", Environment.SECURITY),
    ("production", Environment.PROD),
    ("prod", Environment.PROD),
    ("staging", Environment.STAGING),
    ("stage", Environment.STAGING),
    ("development", Environment.DEV),
    ("dev", Environment.DEV),
    ("sandbox", Environment.SANDBOX),
]
