"""``manage.py discover_accounts``: bring the registry in line with AWS Organizations."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.discovery import DiscoveryError, discover_accounts


class Command(BaseCommand):
    help = (
        "Read the AWS Organization from its management account and create/update registry accounts "
        "(AWS-owned fields only); accounts no longer in it are marked. Exits 1 when it cannot read it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="only the one-line summary")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = discover_accounts()
        except DiscoveryError as exc:
            classified = exc.classified
            raise CommandError(f"Discovery failed ({classified.kind.value}): {classified.message}") from exc
        lines = [summary.text()] if options["quiet"] else summary.lines()
        self.stdout.write("\n".join(lines))
