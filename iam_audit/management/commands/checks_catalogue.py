"""``manage.py checks_catalogue``: write ``docs/checks.md`` from the check registry, or verify it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from iam_audit.checks.catalogue import render

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "checks.md"


class Command(BaseCommand):
    help = (
        "Write the check catalogue (docs/checks.md) from the check registry; --check verifies it is current."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", default=str(DEFAULT_PATH), help="where to write (default: docs/checks.md)"
        )
        parser.add_argument(
            "--check", action="store_true", help="write nothing; exit non-zero when the file is out of date"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["output"])
        text = render()
        if options["check"]:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                raise CommandError(
                    f"{path} is out of date with the check registry: run `manage.py checks_catalogue`."
                )
            self.stdout.write(f"{path} is current.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {path}.")
