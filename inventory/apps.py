from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import AwsAccount


def _account_panel(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    # imported on first use: workers never render pages, so they need not load tables and plotly
    from inventory.views.report import account_panel

    return account_panel(request, account)


def _exposure_panel(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    from inventory.views.exposed import account_panel

    return account_panel(request, account)


def _sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite: the function the resource search's expression calls (PostgreSQL has regexp_replace)."""
    if connection.vendor == "sqlite":
        from inventory.search import SQLITE_FUNCTION, arn_resource

        connection.connection.create_function(SQLITE_FUNCTION, 1, arn_resource, deterministic=True)


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        """Join the account page with the inventory panel (counts, latest run, collection gaps)."""
        from django.db.backends.signals import connection_created

        from core.panels import Panel, register_panel
        from inventory import checks  # noqa: F401  (registers the system checks)

        connection_created.connect(_sqlite_functions, dispatch_uid="inventory-sqlite-functions")

        register_panel(
            Panel(
                key="inventory",
                title="Inventory",
                template="inventory/includes/account_panel.html",
                context=_account_panel,
                order=20,
            )
        )
        register_panel(
            Panel(
                key="exposure",
                title="Internet exposure",
                template="inventory/includes/exposure_panel.html",
                context=_exposure_panel,
                order=25,
            )
        )
