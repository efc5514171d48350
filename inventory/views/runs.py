"""Runs: the list of collection runs, one run's page with live progress, and its progress as JSON.

Every logged-in user may look (runs hold no secrets: error messages are Skyledger's own sentences
plus AWS error codes); starting refreshes is elsewhere (security team only). The table and the
filters are in :mod:`inventory.tables` and :mod:`inventory.filtersets`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from core.ui import ObjectListView
from inventory.filtersets import RunFilterSet
from inventory.models import CollectionRun, CoverageRecord, RunState
from inventory.services.runs import expire_stale
from inventory.services.workers import stalled_queue
from inventory.tables import RunTable, duration_text

POLL_SECONDS = 2


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
        "duration": duration_text(run.duration),
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
