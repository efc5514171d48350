from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.urls import reverse
from simple_history.models import HistoricalRecords

from accounts.choices import AccessStatus, AccountStatus, Environment
from accounts.limits import (
    ACCOUNT_NAME_MAX,
    DESCRIPTION_MAX,
    EXTERNAL_ID_MAX,
    NOTES_MAX,
    ORG_UNIT_MAX,
    READ_ROLE_MAX,
    TEAM_NAME_MAX,
    MaxCharsValidator,
)

# ASCII only and anchored with \Z: "\d" would accept other scripts' digits and "$" a trailing newline.
ACCOUNT_ID_RE = re.compile(r"^\d{12}\Z", re.ASCII)
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}\Z", re.ASCII)
ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}\Z", re.ASCII)
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d\Z", re.ASCII)


def validate_account_id(value: str) -> None:
    if not ACCOUNT_ID_RE.match(value or ""):
        raise ValidationError(
            "An AWS account ID is exactly 12 digits (got %(value)r).", code="invalid", params={"value": value}
        )


def validate_read_role(value: str) -> None:
    if value and not (ROLE_ARN_RE.match(value) or ROLE_NAME_RE.match(value)):
        raise ValidationError(
            "Give a role name (e.g. SkyledgerReadOnly) or a role ARN (arn:aws:iam::123456789012:role/Name).",
            code="invalid",
        )


def validate_regions(value: list[str]) -> None:
    if not isinstance(value, list):
        raise ValidationError("Allowed regions must be a list of region names.")
    bad = [r for r in value if not isinstance(r, str) or not REGION_RE.match(r)]
    if bad:
        raise ValidationError("Not region names: %(bad)s.", params={"bad": ", ".join(map(str, bad))})


def bounded_text(label: str, limit: int, **kwargs: Any) -> models.TextField[str, str]:
    """A free-text field people write: at most ``limit`` characters (form, model validation, database)."""
    return models.TextField(max_length=limit, validators=[MaxCharsValidator(limit, label)], **kwargs)


def length_check(model_label: str, field: str, limit: int) -> models.CheckConstraint:
    """A database CHECK that ``field`` holds at most ``limit`` characters (for writes that skip validation)."""
    return models.CheckConstraint(
        condition=LessThanOrEqual(Length(field), limit), name=f"{model_label}_{field}_max_{limit}"
    )


class Team(models.Model):
    """An owner of accounts: a team with a contact address and member users."""

    name = models.CharField(max_length=TEAM_NAME_MAX, unique=True)
    contact_email = models.EmailField(blank=True)
    description = bounded_text("Description", DESCRIPTION_MAX, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[members], excluded_fields=["updated"])

    class Meta:
        ordering = ["name"]
        constraints = [length_check("team", "description", DESCRIPTION_MAX)]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("accounts:team_detail", args=[self.pk])


class AwsAccount(models.Model):
    """One AWS account in the registry: who owns it, what it is for, how Skyledger reaches it."""

    account_id = models.CharField(
        "account ID",
        max_length=12,
        unique=True,
        validators=[validate_account_id],
        help_text="The 12-digit AWS account ID.",
    )
    name = models.CharField(max_length=ACCOUNT_NAME_MAX)
    description = bounded_text("Description", DESCRIPTION_MAX, blank=True)
    environment = models.CharField(max_length=20, choices=Environment.choices, default=Environment.OTHER)
    # Who decided the environment: False when a person did (the security team's form, an import with
    # an environment column, the designate action) or AWS did (the management account); True when
    # discovery or an import guessed it from the name or OU. Only a person's "identity" designates
    # the identity account (see iam.user_outside_identity).
    environment_guessed = models.BooleanField(
        default=False,
        help_text="The environment was guessed from the account or OU name, not set by a person.",
    )
    owner = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts")
    contact_email = models.EmailField(blank=True)
    org_unit = models.CharField(
        "organisational unit",
        max_length=ORG_UNIT_MAX,
        blank=True,
        help_text="OU path, e.g. Root/Workloads/Prod",
    )
    status = models.CharField(max_length=20, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    read_role = models.CharField(
        max_length=READ_ROLE_MAX,
        blank=True,
        validators=[validate_read_role],
        help_text="Role name or ARN to assume; empty uses the estate default (SKYLEDGER_READ_ROLE).",
    )
    external_id = models.CharField("ExternalId", max_length=EXTERNAL_ID_MAX, blank=True)
    allowed_regions = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_regions],
        help_text="Regions this account is expected to use; empty means the estate default "
        "(SKYLEDGER_ALLOWED_REGIONS). Resources elsewhere are still collected, and reported as unexpected.",
    )
    collection_enabled = models.BooleanField(default=True)
    collection_excluded_regions = models.JSONField(
        "regions not collected",
        default=list,
        blank=True,
        validators=[validate_regions],
        help_text="Regions Skyledger does not look at in this account (cost), besides the estate-wide "
        "SKYLEDGER_COLLECTION_EXCLUDED_REGIONS. Every page about the account names them.",
    )
    notes = bounded_text("Notes", NOTES_MAX, blank=True)

    # Owned by AWS Organizations discovery (people do not edit these).
    email = models.EmailField("AWS account email", blank=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    scps = models.JSONField(
        "SCPs", default=list, blank=True, help_text="Service control policies that apply."
    )
    discovered_at = models.DateTimeField(null=True, blank=True)

    # The last access check (kept out of the history: it is not an edit).
    access_status = models.CharField(
        max_length=10, choices=AccessStatus.choices, default=AccessStatus.UNKNOWN
    )
    access_checked_at = models.DateTimeField(null=True, blank=True)
    access_error_code = models.CharField(max_length=50, blank=True)
    access_message = models.TextField(blank=True)

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        excluded_fields=[
            "updated",
            "access_status",
            "access_checked_at",
            "access_error_code",
            "access_message",
        ]
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "AWS account"
        indexes = [models.Index(fields=["environment"]), models.Index(fields=["status"])]
        # Migration 0004 shortened older over-long text (the full text stays in the history).
        constraints = [
            length_check("awsaccount", "description", DESCRIPTION_MAX),
            length_check("awsaccount", "notes", NOTES_MAX),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"

    def get_absolute_url(self) -> str:
        return reverse("accounts:account_detail", args=[self.pk])

    @property
    def is_designated_identity(self) -> bool:
        """The security team made this the identity account (a guess from the name does not count)."""
        return self.environment == Environment.IDENTITY and not self.environment_guessed

    def role_arn(self, default_role: str | None = None, partition: str = "aws") -> str:
        """The ARN of the read role to assume in this account."""
        role = self.read_role or default_role or settings.SKYLEDGER_READ_ROLE
        if role.startswith("arn:"):
            return role
        return f"arn:{partition}:iam::{self.account_id}:role/{role}"

    def effective_external_id(self) -> str:
        return self.external_id or settings.SKYLEDGER_EXTERNAL_ID

    def effective_allowed_regions(self) -> list[str]:
        """The regions this account is expected to use: its own list, else the estate's (empty: all).

        The list only classifies what collection finds; it never limits what is collected.
        """
        return list(self.allowed_regions or settings.SKYLEDGER_ALLOWED_REGIONS)

    @property
    def allowed_regions_are_default(self) -> bool:
        """Whether :meth:`effective_allowed_regions` is the estate default (the account has none)."""
        return not self.allowed_regions

    def collection_exclusions(self) -> dict[str, str]:
        """Regions not to collect, each with who excluded it: "account" or "estate" (the setting).

        A separate list from the allowed regions, editable by the security team only: an account
        owner must never be able to hide a region from collection and so from every check.
        """
        out = {
            r.strip().lower(): "estate" for r in settings.SKYLEDGER_COLLECTION_EXCLUDED_REGIONS if r.strip()
        }
        for region in self.collection_excluded_regions or []:
            out.setdefault(region, "account")
        return out
