"""Django admin for the registry, and the rule that only superusers may use the admin at all."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import AwsAccount, Team


def _superusers_only(request: HttpRequest) -> bool:
    """The admin bypasses the registry's role checks, so ``is_staff`` alone must not open it."""
    user = request.user
    return bool(user.is_active and user.is_superuser)


admin.site.has_permission = _superusers_only  # type: ignore[method-assign]
admin.site.site_header = "Skyledger administration"
admin.site.site_title = "Skyledger admin"


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ("name", "contact_email", "updated")
    search_fields = ("name", "contact_email", "description")
    filter_horizontal = ("members",)


@admin.register(AwsAccount)
class AwsAccountAdmin(SimpleHistoryAdmin):
    list_display = (
        "name",
        "account_id",
        "environment",
        "owner",
        "status",
        "access_status",
        "collection_enabled",
    )
    list_filter = ("environment", "status", "access_status", "collection_enabled", "owner")
    search_fields = ("name", "account_id", "description", "email")
    list_select_related = ("owner",)
    readonly_fields = (
        "access_status",
        "access_checked_at",
        "access_error_code",
        "access_message",
        "discovered_at",
        "created",
        "updated",
    )
