from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.choices import Environment
from accounts.limits import JUSTIFICATION_MAX
from accounts.models import AwsAccount, bounded_text, length_check
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
    # Why the latest checks could not tell whether this finding still holds (its subject could not
    # be read, its region or data type was not collected...): the finding keeps its status, never
    # resolved on data that was not read. Empty once the check evaluates the subject again.
    not_evaluated = models.TextField(blank=True)
    not_evaluated_since = models.DateTimeField(null=True, blank=True)

    suppression_reason = models.CharField(max_length=20, choices=SuppressionReason.choices, blank=True)
    suppression_justification = bounded_text("Justification", JUSTIFICATION_MAX, blank=True)
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
        constraints = [length_check("finding", "suppression_justification", JUSTIFICATION_MAX)]

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


# --- the IAM access graph (iam_audit.graph_store) ------------------------------------------------------


class PrincipalKind(models.TextChoices):
    USER = "user", "User"
    ROLE = "role", "Role"
    GROUP = "group", "Group"
    FEDERATED = "federated", "Identity provider"


class PrivilegeLevel(models.TextChoices):
    """iam_audit.graph.classify.Level by slug; ``PRIVILEGE_RANK`` gives the order (higher is more)."""

    ADMINISTRATOR = "administrator", "Administrator"
    POWER_USER = "power-user", "Power user"
    WRITE = "write", "Write"
    READ_ALL = "read-only", "Read-only, all services"
    SENSITIVE_READ = "sensitive-read", "Read of sensitive data"
    GRANULAR = "granular", "Granular"
    UNKNOWN = "unknown", "Unknown"
    NONE = "none", "None"


PRIVILEGE_RANK = {
    "none": 0,
    "unknown": 1,
    "granular": 2,
    "sensitive-read": 3,
    "read-only": 4,
    "write": 5,
    "power-user": 6,
    "administrator": 7,
}


class Principal(models.Model):
    """An IAM user, role, group or identity provider as the access graph last saw it.

    Derived data: :func:`iam_audit.graph_store.refresh_principals` rewrites the table whenever the graph
    is rebuilt from newly collected IAM data (``graph_stamp`` says from which), so the principals
    list filters, sorts and pages in the database like every other list. Rows are keyed on
    (account, ARN), so a principal keeps its id (and its page's URL) across rebuilds.
    """

    account = models.ForeignKey(
        AwsAccount, on_delete=models.CASCADE, related_name="iam_principals", db_index=False
    )
    resource = models.ForeignKey(
        "inventory.Resource", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    arn = models.CharField("ARN", max_length=2048)
    kind = models.CharField(max_length=16, choices=PrincipalKind.choices)
    name = models.CharField(max_length=1024)
    path = models.CharField(max_length=512, blank=True)
    inside_org = models.BooleanField(default=True)
    service_linked = models.BooleanField(default=False)
    # users: sign-in and credentials (None for other kinds)
    mfa = models.BooleanField(null=True, blank=True)
    console = models.BooleanField(null=True, blank=True)
    active_keys = models.PositiveSmallIntegerField(default=0)
    oldest_key_created = models.DateTimeField(null=True, blank=True, help_text="oldest active access key")
    key_last_used = models.DateTimeField(null=True, blank=True)
    password_last_used = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True, help_text="password, keys or role session")
    created = models.DateTimeField(null=True, blank=True)
    groups = models.JSONField(default=list, blank=True)  # group names
    policies = models.JSONField(default=list, blank=True)  # policy names (group policies included)
    privilege = models.CharField(max_length=16, choices=PrivilegeLevel.choices, default=PrivilegeLevel.NONE)
    privilege_rank = models.PositiveSmallIntegerField(default=0)
    privilege_label = models.CharField(max_length=300, blank=True)
    reachable_accounts = models.PositiveIntegerField(default=0, help_text="accounts it can act in")
    inbound_paths = models.PositiveIntegerField(default=0, help_text="access paths ending here")
    inbound_outside = models.PositiveIntegerField(default=0, help_text="of which from outside the org")
    graph_stamp = models.CharField(max_length=64)
    digest = models.CharField(
        max_length=40, blank=True, help_text="of the values: unchanged rows are not rewritten"
    )
    updated = models.DateTimeField(help_text="when the values last changed")

    class Meta:
        ordering = ["kind", "name", "pk"]
        constraints = [models.UniqueConstraint(fields=["account", "arn"], name="iam_principal_account_arn")]
        indexes = [
            models.Index(fields=["kind", "-privilege_rank"], name="iam_principal_kind_priv"),
            # the list's default order: most powerful first
            models.Index(fields=["-privilege_rank", "kind", "name"], name="iam_principal_priv"),
            models.Index(fields=["name"], name="iam_principal_name"),
            models.Index(fields=["graph_stamp"], name="iam_principal_stamp"),
        ]

    def __str__(self) -> str:
        return self.name or self.arn

    def get_absolute_url(self) -> str:
        return reverse("iam_audit:principal_detail", args=[self.pk])
