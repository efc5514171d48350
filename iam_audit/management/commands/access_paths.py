"""``manage.py access_paths``: the old name of ``manage.py export_access_paths``, kept for one release.

It does exactly what ``export_access_paths`` does and says on stderr that the name is going away.
"""

from __future__ import annotations

from typing import Any

from iam_audit.management.commands.export_access_paths import Command as ExportAccessPaths


class Command(ExportAccessPaths):
    help = "Deprecated name of export_access_paths (removed in the next release). " + ExportAccessPaths.help

    def handle(self, *args: Any, **options: Any) -> None:
        self.stderr.write(
            "manage.py access_paths is deprecated and will be removed in the next release: use manage.py export_access_paths."
        )
        super().handle(*args, **options)
