"""Admin for the audit's rows: findings and results are written by the engine, so they are read-mostly.

Triage belongs on the findings pages (it records who and why); the admin is for superusers who need
to look underneath, and for the baseline settings.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from iam_audit.models import BaselineSetting, CheckResult, Finding, FindingEvent


class EngineRowsAdmin(admin.ModelAdmin):
    """Rows the check engine writes: people may look and delete, not add or edit."""

    show_full_result_count = False  # no COUNT(*) over 100k findings on every page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class FindingEventInline(admin.TabularInline):
    model = FindingEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "user", "note", "data")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Finding)
class FindingAdmin(EngineRowsAdmin):
    list_display = ("title", "check_id", "account", "severity", "priority", "status", "region", "last_seen")
    list_filter = ("status", "severity", "service")
    search_fields = ("=check_id", "=subject", "title", "account__account_id")
    list_select_related = ("account",)
    raw_id_fields = ("account", "resource", "suppressed_by")
    inlines = [FindingEventInline]


@admin.register(FindingEvent)
class FindingEventAdmin(EngineRowsAdmin):
    list_display = ("finding", "kind", "at", "user")
    list_filter = ("kind",)
    list_select_related = ("finding", "user")
    raw_id_fields = ("finding", "user")


@admin.register(CheckResult)
class CheckResultAdmin(EngineRowsAdmin):
    list_display = ("check_id", "account", "state", "passed", "failed", "unknown", "evaluated_at")
    list_filter = ("state",)
    search_fields = ("=check_id", "account__account_id", "account__name")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


@admin.register(BaselineSetting)
class BaselineSettingAdmin(admin.ModelAdmin):
    list_display = ("check_id", "environment", "enabled", "updated", "updated_by")
    list_filter = ("environment", "enabled")
    raw_id_fields = ("updated_by",)
