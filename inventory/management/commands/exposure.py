"""``manage.py exposure``: the old name of ``manage.py export_exposure``, kept for one release.

It does exactly what ``export_exposure`` does and says on stderr that the name is going away.
"""

from __future__ import annotations

from typing import Any

from inventory.management.commands.export_exposure import Command as ExportExposure


class Command(ExportExposure):
    help = "Deprecated name of export_exposure (removed in the next release). " + ExportExposure.help

    def handle(self, *args: Any, **options: Any) -> None:
        self.stderr.write(
            "manage.py exposure is deprecated and will be removed in the next release: use manage.py export_exposure."
        )
        super().handle(*args, **options)
