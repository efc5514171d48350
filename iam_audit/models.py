from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.choices import Environment
from accounts.models import AwsAccount
from iam_audit.choices import CheckState, EventKind, FindingStatus, Severity, SuppressionReason


def finding_key(check_id: str, account_id: str, subject: str) -> str:
    """The stable key of a finding: the same (check, account, subject) is always the same finding."""
    return hashlib.sha256(f"{check_id}\x00{account_id}\x00{subject}".encode()).hexdigest()


class Finding(models.Model):
    """One failed check for one subject (a resource, or the account itself), with its lifecycle."""

    key = models.CharField(max_length=64, unique=True, editable=False)
    check_id = models.CharField(max_length=100)
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="findings")
    resource = models.ForeignKey(
        "inventory.Resource", null=True, blank=True, on_delete=models.SET_NULL, related_name="findings"
    )
    subject = models.CharField(max_length=2048, help_text="ARN (or pseudo-ARN) of what failed")
    region = models.CharField(max_length=32, blank=True)
    resource_type = models.CharField(max_length=80, blank=True)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    service = models.CharField(max_length=40, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    severity_rank = models.PositiveSmallIntegerField(default=0, help_text="0 = critical")
    priority = models.PositiveIntegerField(default=0)
    priority_explanation = models.JSONField(default=list, blank=True)
    exposure = models.CharField(max_length=16, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN)

    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    suppression_reason = models.CharField(max_length=20, choices=SuppressionReason.choices, blank=True)
    suppression_justification = models.TextField(blank=True)
    suppressed_until = models.DateTimeField(null=True, blank=True)
    suppressed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suppressed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "id"]
        indexes = [
            models.Index(fields=["status", "-priority"], name="finding_status_priority"),
            models.Index(fields=["account", "status"], name="finding_account_status"),
            models.Index(fields=["check_id", "status"], name="finding_check_status"),
            models.Index(fields=["severity", "status"], name="finding_severity_status"),
            models.Index(fields=["first_seen"], name="finding_first_seen"),
            models.Index(fields=["region"], name="finding_region"),
        ]

    def __str__(self) -> str:
        return f"{self.check_id} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("iam_audit:finding_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in (FindingStatus.OPEN, FindingStatus.REOPENED)


class FindingEvent(models.Model):
    """The lifecycle history of a finding: opened, resolved, reopened, suppressed, lifted, expired."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "at"], name="finding_event_kind_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class CheckResult(models.Model):
    """The latest outcome of one check for one account: the baseline matrix and catalogue counts."""

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="check_results")
    check_id = models.CharField(max_length=100)
    state = models.CharField(max_length=16, choices=CheckState.choices)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    unknown = models.PositiveIntegerField(default=0)
    not_applicable = models.PositiveIntegerField(default=0)
    detail = models.TextField(blank=True, help_text="why unknown / not applicable, or the first failure")
    evaluated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "check_id"], name="check_result_account_check")
        ]
        indexes = [models.Index(fields=["check_id", "state"], name="check_result_check_state")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.check_id} {self.state}"


class BaselineSetting(models.Model):
    """The security team switches a baseline item on or off for an environment."""

    check_id = models.CharField(max_length=100)
    environment = models.CharField(max_length=20, choices=Environment.choices)
    enabled = models.BooleanField(default=True)
    updated = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["check_id", "environment"], name="baseline_check_env")]

    def __str__(self) -> str:
        return f"{self.check_id}@{self.environment}={'on' if self.enabled else 'off'}"
