"""``manage.py findings``: the old name of ``manage.py export_findings``, kept for one release.

It does exactly what ``export_findings`` does and says on stderr that the name is going away.
"""

from __future__ import annotations

from typing import Any

from iam_audit.management.commands.export_findings import Command as ExportFindings


class Command(ExportFindings):
    help = "Deprecated name of export_findings (removed in the next release). " + ExportFindings.help

    def handle(self, *args: Any, **options: Any) -> None:
        self.stderr.write(
            "manage.py findings is deprecated and will be removed in the next release: use manage.py export_findings."
        )
        super().handle(*args, **options)
