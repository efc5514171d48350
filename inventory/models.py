"""Inventory storage: resources, their revisions, collection runs and collection coverage.

Writes go through :mod:`inventory.services` (batch upserts keyed on (account, ARN)); pages only read.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from inventory.records import GLOBAL_REGION, Coverage


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    PARTIAL = "partial", "Partial"  # finished, but some (type, region) were not collected completely
    FAILED = "failed", "Failed"  # could not assume the role, or nothing was collected
    SKIPPED = "skipped", "Skipped"  # another refresh of the account was already running


FINISHED_STATES = (RunState.DONE, RunState.PARTIAL, RunState.FAILED, RunState.SKIPPED)
ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING)


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Manual (page)"
    COMMAND = "command", "Command"


class CoverageState(models.TextChoices):
    OK = Coverage.OK.value, "Complete"
    FAILED = Coverage.FAILED.value, "Failed"
    DENIED = Coverage.DENIED.value, "Access denied"
    UNSUPPORTED = Coverage.UNSUPPORTED.value, "Not supported"
    NOT_COLLECTED = Coverage.NOT_COLLECTED.value, "Not collected"


class SkippedReason(models.TextChoices):
    """Why a run did not look at a region of the account (shown on every page about the account)."""

    EXCLUDED = "excluded", "excluded by a collection setting"
    DENIED = "denied", "denied by a policy (an SCP)"
    NOT_ENABLED = "not-enabled", "not enabled in the account (opt-in region)"
    NOT_REQUESTED = "not-requested", "left out of this run (--region)"


class RevisionKind(models.TextChoices):
    CHANGED = "changed", "Changed"
    DELETED = "deleted", "Deleted"
    RESTORED = "restored", "Reappeared"


class CollectionRun(models.Model):
    """One refresh of one account: progress, API usage, what changed, and a structured error list.

    Runs started together (the schedule, a "refresh all" button) share a ``batch`` id. At most one
    run per account is ``running`` at a time: a partial unique index enforces it, which is the
    per-account lock (see :func:`inventory.services.runs.claim_run`).
    """

    account = models.ForeignKey(
        "accounts.AwsAccount", on_delete=models.CASCADE, related_name="collection_runs"
    )
    batch = models.UUIDField(null=True, blank=True, db_index=True)
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices, default=RunTrigger.SCHEDULE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    message = models.CharField(max_length=500, blank=True, help_text="A one-line outcome for people.")
    created = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    # a unit is one (collector, region) pass
    units_planned = models.PositiveIntegerField(default=0)
    units_done = models.PositiveIntegerField(default=0)
    regions = models.JSONField(default=list, blank=True)
    # Regions of the account this run did not look at, and why: [{region, reason, detail}] with reason
    # one of SkippedReason. Kept apart from ``errors``: a region an SCP denies is a fact, not a failure.
    regions_skipped = models.JSONField(default=list, blank=True)

    api_calls = models.PositiveIntegerField(default=0)
    api_retries = models.PositiveIntegerField(default=0)
    api_errors = models.PositiveIntegerField(default=0)

    resources_seen = models.PositiveIntegerField(default=0)
    resources_new = models.PositiveIntegerField(default=0)
    resources_changed = models.PositiveIntegerField(default=0)
    resources_deleted = models.PositiveIntegerField(default=0)

    # [{account, region, service, resource_type, code, message, operation, aws_code}]
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)

    worker = models.CharField(max_length=200, blank=True)
    celery_task_id = models.CharField(max_length=255, blank=True)
    # when the run's task was last handed to the broker (re-sent while it waits: see runs.resend_waiting)
    sent_at = models.DateTimeField(null=True, blank=True)
    queue = models.CharField(max_length=200, blank=True, help_text="the broker queue its task was sent to")
    # failed because its worker stopped reporting: a redelivery of its own task may take it up again
    worker_lost = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [
            models.Index(fields=["account", "-created"], name="inv_run_account_created"),
            models.Index(fields=["state"], name="inv_run_state"),
        ]
        constraints = [
            # The per-account lock: the database refuses a second running run of one account.
            models.UniqueConstraint(
                fields=["account"], condition=Q(state="running"), name="inv_run_one_running_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.account_id} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("inventory:run_detail", args=[self.pk])

    @property
    def skipped_regions(self) -> list[dict[str, str]]:
        """``regions_skipped`` with each reason's label for people, sorted by reason then region."""
        labels = dict(SkippedReason.choices)
        order = {value: n for n, value in enumerate(SkippedReason.values)}
        rows = [
            {**entry, "label": str(labels.get(entry.get("reason", ""), entry.get("reason", "")))}
            for entry in self.regions_skipped or []
            if isinstance(entry, dict)
        ]
        return sorted(rows, key=lambda e: (order.get(e.get("reason", ""), 99), e.get("region", "")))

    @property
    def progress(self) -> float:
        """Fraction of units done, 0..1 (1 when finished)."""
        if self.state in FINISHED_STATES:
            return 1.0
        if not self.units_planned:
            return 0.0
        return min(1.0, self.units_done / self.units_planned)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (or to now while running)."""
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class Resource(models.Model):
    """One AWS resource of one account, keyed by ARN (or a pseudo-ARN) within the account.

    ``data`` is the metadata exactly as AWS returned it (see :mod:`inventory.resource_types`);
    ``data_hash`` is the SHA-256 of the canonical JSON of everything stored from the record, so an
    unchanged resource costs a hash comparison, not a JSON diff; for types with volatile fields (a
    role's last use...) its head hashes the content without them and its tail the whole, so their
    new values are stored without counting as a change (:mod:`inventory.services.ingest`).
    Resources are never deleted by collection: ``deleted_at`` is set when a complete pass no longer
    sees them.
    """

    # no index of its own: the unique (account, arn) index starts with it
    account = models.ForeignKey(
        "accounts.AwsAccount", on_delete=models.CASCADE, related_name="resources", db_index=False
    )
    region = models.CharField(max_length=32, help_text=f'An AWS region or "{GLOBAL_REGION}".')
    service = models.CharField(max_length=40)
    type = models.CharField(max_length=80)
    arn = models.CharField("ARN", max_length=2048)
    resource_id = models.CharField("ID", max_length=1024, blank=True)
    name = models.CharField(max_length=1024, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)
    data_hash = models.CharField(max_length=64)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["type", "name", "pk"]
        constraints = [models.UniqueConstraint(fields=["account", "arn"], name="inv_resource_account_arn")]
        # Every index costs on each upsert, so only those the pages need. last_seen is deliberately
        # not indexed: an unchanged resource's pass only moves last_seen, which PostgreSQL can then
        # do as a HOT update (no index touched). The search box's "contains" uses one trigram index
        # on PostgreSQL, over the name and the ARN's resource part (migration 0008, inventory.search).
        indexes = [
            # No other index may contain the account: with statistics that made an account look
            # empty, the planner answered ingest's per-ARN lookups through any index containing it
            # (a scan of all the account's entries for each ARN: quadratic), whatever the query's
            # shape. Account filters use the unique (account, arn) index's leading column.
            # the resource list's order (type, region, name): its first page is the index's first
            # entries; with (type, region) alone it sorted the largest such group (0.5 s at 150k)
            models.Index(fields=["type", "region", "name"], name="inv_res_type_region_name"),
            models.Index(fields=["region"], name="inv_res_region"),
            models.Index(fields=["service"], name="inv_res_service"),
            models.Index(fields=["type", "name"], name="inv_res_type_name"),
            models.Index(fields=["resource_id"], name="inv_res_resource_id"),
            models.Index(
                fields=["deleted_at"], condition=Q(deleted_at__isnull=False), name="inv_res_deleted"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.resource_id or self.arn

    def get_absolute_url(self) -> str:
        return reverse("inventory:resource_detail", args=[self.pk])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ResourceRevision(models.Model):
    """A change to a resource seen by a collection: what it was before and what changed.

    ``previous`` holds the stored fields before the change (``{"name", "tags", "data"}``);
    ``changes`` is a list of ``{"path", "old", "new"}`` leaf differences (capped, see services), so
    a resource page shows what changed and when without diffing itself.
    """

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="revisions")
    run = models.ForeignKey(
        CollectionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions"
    )
    collected_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=10, choices=RevisionKind.choices, default=RevisionKind.CHANGED)
    previous = models.JSONField(null=True, blank=True)
    changes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-collected_at", "-pk"]
        indexes = [models.Index(fields=["resource", "-collected_at"], name="inv_rev_resource_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.resource_id} at {self.collected_at:%Y-%m-%d %H:%M}"


class CoverageRecord(models.Model):
    """The latest collection outcome of one resource type in one region of one account.

    Checks read it to tell "collected and absent" (PASS) from "not collected" (UNKNOWN).
    ``region`` is the pass region: ``"global"`` for types collected by global collectors.
    """

    account = models.ForeignKey("accounts.AwsAccount", on_delete=models.CASCADE, related_name="coverage")
    type = models.CharField(max_length=80)
    region = models.CharField(max_length=32)
    coverage = models.CharField(max_length=16, choices=CoverageState.choices)
    collected_at = models.DateTimeField(default=timezone.now)
    run = models.ForeignKey(CollectionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error_code = models.CharField(max_length=60, blank=True)
    message = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["type", "region"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "type", "region"], name="inv_coverage_account_type_region"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} in {self.region}: {self.coverage}"


class WorkerBeat(models.Model):
    """A Celery worker's last sign of life, written by the worker itself every
    :data:`inventory.services.workers.BEAT_SECONDS` and removed when it shuts down cleanly.

    Pages use it to say when queued refreshes have no worker to take them (the broker's own view of
    its consumers is not portable across transports, and pages must not wait on a broadcast).
    """

    hostname = models.CharField(max_length=255, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.hostname
