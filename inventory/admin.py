"""Admin for inventory rows: read-mostly (collection writes them), searchable, cheap at a million rows."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from inventory.models import CollectionRun, CoverageRecord, Resource, ResourceRevision
from inventory.search import search


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by collection: people may look and delete, not add or edit."""

    show_full_result_count = False  # no COUNT(*) over a million rows on every page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Resource)
class ResourceAdmin(ReadOnlyAdmin):
    list_display = ["name", "type", "region", "account", "resource_id", "last_seen", "deleted_at"]
    list_filter = ["service", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]  # shows the search box; the search itself is the resource list's
    search_help_text = (
        "In names and the ARN after the account (role/Admin); a resource id; the start of an ARN."
    )
    list_select_related = ["account"]
    raw_id_fields = ["account"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Resource], search_term: str
    ) -> tuple[QuerySet[Resource], bool]:
        """The resource list's search (:mod:`inventory.search`), which the trigram index serves."""
        return search(queryset, search_term), False


@admin.register(ResourceRevision)
class ResourceRevisionAdmin(ReadOnlyAdmin):
    list_display = ["resource", "kind", "collected_at", "run"]
    list_filter = ["kind"]
    raw_id_fields = ["resource", "run"]
    list_select_related = ["resource"]


@admin.register(CollectionRun)
class CollectionRunAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "account",
        "state",
        "trigger",
        "created",
        "started_at",
        "finished_at",
        "units_done",
        "units_planned",
        "resources_seen",
        "error_count",
    ]
    list_filter = ["state", "trigger"]
    search_fields = ["account__account_id", "account__name", "celery_task_id"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "requested_by"]
    # state and message stay editable: an administrator may close a run a crashed worker left open
    readonly_fields = [f.name for f in CollectionRun._meta.fields if f.name not in ("state", "message")]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(CoverageRecord)
class CoverageRecordAdmin(ReadOnlyAdmin):
    list_display = ["account", "type", "region", "coverage", "collected_at", "error_code"]
    list_filter = ["coverage"]
    search_fields = ["account__account_id", "type"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "run"]
