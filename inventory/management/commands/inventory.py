"""``manage.py inventory``: the old name of ``manage.py export_inventory``, kept for one release.

It does exactly what ``export_inventory`` does and says on stderr that the name is going away.
"""

from __future__ import annotations

from typing import Any

from inventory.management.commands.export_inventory import Command as ExportInventory


class Command(ExportInventory):
    help = "Deprecated name of export_inventory (removed in the next release). " + ExportInventory.help

    def handle(self, *args: Any, **options: Any) -> None:
        self.stderr.write(
            "manage.py inventory is deprecated and will be removed in the next release: use manage.py export_inventory."
        )
        super().handle(*args, **options)
