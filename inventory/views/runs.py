"""Runs: the list of collection runs, one run's page with live progress, and its progress as JSON.

Every logged-in user may look (runs hold no secrets: error messages are Skyledger's own sentences
plus AWS error codes); starting refreshes is elsewhere (security team only). The table and the
filters live here because only these pages use them.
"""

from __future__ import annotations

from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.html import format_html

from accounts.models import AwsAccount
from accounts.tables import AccountColumn
from core.filtersets import SearchFilterSet
from core.tables import BadgeColumn, BaseTable, TextColumn, TimestampColumn
from core.ui import ObjectListView
from inventory.models import CollectionRun, CoverageRecord, RunState, RunTrigger
from inventory.services.runs import expire_stale
from inventory.services.workers import stalled_queue

POLL_SECONDS = 2


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


class RunFilterSet(SearchFilterSet):
    """Runs by account, state, trigger; ``q`` searches the account's ID and name and the message."""

    search_fields = ("account__account_id", "account__name", "message")
    account_id = django_filters.ModelChoiceFilter(
        queryset=AwsAccount.objects.only("pk", "name", "account_id"), field_name="account", label="Account"
    )
    state = django_filters.MultipleChoiceFilter(choices=RunState.choices, widget=forms.CheckboxSelectMultiple)
    trigger = django_filters.ChoiceFilter(choices=RunTrigger.choices, empty_label="Any")
    batch = django_filters.UUIDFilter()

    class Meta:
        model = CollectionRun
        fields = ["account_id", "state", "trigger", "batch"]


class RunTable(BaseTable):
    """Collection runs, newest first."""

    id = tables.Column(verbose_name="Run", linkify=True, attrs={"td": {"class": "nowrap"}})
    account = AccountColumn()
    state = BadgeColumn(choices=RunState)
    trigger = tables.Column()
    created = TimestampColumn(verbose_name="Queued")
    started_at = TimestampColumn(verbose_name="Started")
    finished_at = TimestampColumn(verbose_name="Finished")
    duration = tables.Column(empty_values=(), orderable=False)
    progress = tables.Column(empty_values=(), orderable=False, verbose_name="Progress")
    resources_seen = tables.Column(verbose_name="Seen", attrs={"td": {"class": "num"}})
    resources_new = tables.Column(verbose_name="New", attrs={"td": {"class": "num"}})
    resources_changed = tables.Column(verbose_name="Changed", attrs={"td": {"class": "num"}})
    resources_deleted = tables.Column(verbose_name="Deleted", attrs={"td": {"class": "num"}})
    api_calls = tables.Column(verbose_name="API calls", attrs={"td": {"class": "num"}})
    error_count = tables.Column(verbose_name="Errors", attrs={"td": {"class": "num"}})
    message = TextColumn(length=80)

    default_columns = (
        "id", "account", "state", "created", "duration", "progress", "resources_seen", "error_count", "message",
    )  # fmt: skip

    class Meta(BaseTable.Meta):
        model = CollectionRun
        fields = (
            "id", "account", "state", "trigger", "created", "started_at", "finished_at", "duration", "progress",
            "resources_seen", "resources_new", "resources_changed", "resources_deleted", "api_calls",
            "error_count", "message",
        )  # fmt: skip
        order_by = ("-created",)
        empty_text = "No collection runs yet."

    def render_id(self, value: int) -> str:
        return f"#{value}"

    def value_id(self, value: int) -> int:
        return value

    def render_duration(self, record: CollectionRun) -> str:
        return _duration(record.duration)

    def value_duration(self, record: CollectionRun) -> float | str:
        return round(record.duration, 1) if record.duration is not None else ""

    def render_progress(self, record: CollectionRun) -> str:
        return format_html(
            '<progress class="run-progress" max="{}" value="{}" aria-label="units done"></progress> '
            '<span class="muted small">{}/{}</span>',
            max(1, record.units_planned), record.units_done if record.is_active else max(1, record.units_planned),
            record.units_done, record.units_planned,
        )  # fmt: skip

    def value_progress(self, record: CollectionRun) -> str:
        return f"{record.units_done}/{record.units_planned}"


class RunListView(ObjectListView):
    """Every run (constant queries: the account comes with the run, the error list is not read)."""

    queryset = CollectionRun.objects.select_related("account").defer("errors", "regions")
    table_class = RunTable
    filterset_class = RunFilterSet
    template_name = "inventory/run_list.html"
    title = "Collection runs"
    export_name = "runs"

    def get_extra_context(self) -> dict[str, Any]:
        expire_stale()  # a run whose worker died is shown failed, not "running" (see runs.sweep)
        return {
            "active_runs": CollectionRun.objects.filter(
                state__in=[RunState.QUEUED, RunState.RUNNING]
            ).count(),
            "stalled_queue": stalled_queue(),
        }


run_list = RunListView.as_view()


def progress_payload(run: CollectionRun) -> dict[str, Any]:
    """What the run page shows while the run goes on (the JSON endpoint's answer)."""
    return {
        "id": run.pk,
        "state": run.state,
        "state_label": RunState(run.state).label,
        "finished": not run.is_active,
        "progress": round(run.progress, 4),
        "units_done": run.units_done,
        "units_planned": run.units_planned,
        "resources_seen": run.resources_seen,
        "resources_new": run.resources_new,
        "resources_changed": run.resources_changed,
        "resources_deleted": run.resources_deleted,
        "api_calls": run.api_calls,
        "api_retries": run.api_retries,
        "error_count": run.error_count,
        "duration": _duration(run.duration),
        "message": run.message,
    }


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: counters, a progress bar kept current while it runs, incomplete coverage, errors."""
    run = get_object_or_404(CollectionRun.objects.select_related("account", "requested_by"), pk=pk)
    incomplete = list(
        CoverageRecord.objects.filter(run=run).exclude(coverage="ok").order_by("type", "region")[:500]
    )
    errors = [e for e in (run.errors or []) if isinstance(e, dict)]
    context = {
        "run": run,
        "account": run.account,
        "payload": progress_payload(run),
        "errors": errors,
        "errors_hidden": max(0, run.error_count - len(errors)),
        "incomplete": incomplete,
        "poll_seconds": POLL_SECONDS,
        "previous_run": CollectionRun.objects.filter(account=run.account, created__lt=run.created)
        .only("pk")
        .order_by("-created")
        .first(),
    }
    return render(request, "inventory/run_detail.html", context)


def run_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """The run's counters as JSON, polled by the run page every few seconds."""
    run = get_object_or_404(CollectionRun.objects.defer("errors"), pk=pk)
    response = JsonResponse(progress_payload(run))
    response["Cache-Control"] = "no-store"
    return response
