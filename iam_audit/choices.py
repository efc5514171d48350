from __future__ import annotations

from django.db import models


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    INFORMATIONAL = "informational", "Informational"


SEVERITY_ORDER = {s.value: i for i, s in enumerate(Severity)}  # critical first


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    REOPENED = "reopened", "Reopened"
    SUPPRESSED = "suppressed", "Suppressed"
    RESOLVED = "resolved", "Resolved"


ACTIVE_STATUSES = (FindingStatus.OPEN, FindingStatus.REOPENED)


class SuppressionReason(models.TextChoices):
    ACCEPTED_RISK = "accepted-risk", "Accepted risk"
    FALSE_POSITIVE = "false-positive", "False positive"


class EventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"
    SUPPRESSED = "suppressed", "Suppressed"
    UNSUPPRESSED = "unsuppressed", "Suppression lifted"
    EXPIRED = "expired", "Suppression expired"


class CheckState(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    UNKNOWN = "unknown", "Unknown"
    NOT_APPLICABLE = "not-applicable", "Not applicable"
