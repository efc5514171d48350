"""``manage.py run_checks``: re-evaluate the checks of some or all accounts from stored data.

Nothing is collected: the checks read what the last collections stored. One summary line per
account; the exit status is non-zero when any check (or the IAM graph) could not be evaluated.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from iam_audit import engine


class Command(BaseCommand):
    help = "Evaluate every check for the given accounts (or all) from stored data and update the findings."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--account", action="append", default=[], metavar="ID", help="12-digit account ID (repeatable)"
        )
        which.add_argument("--all", action="store_true", help="every account that is not closed")

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[str] = options["account"]
        bad = [a for a in ids if not (a.isdigit() and len(a) == 12)]
        if bad:
            raise CommandError(f"Not 12-digit account IDs: {', '.join(bad)}.")
        if ids:
            found = {a.account_id for a in engine.accounts_to_check(ids)}
            missing = [a for a in ids if a not in found]
            if missing:
                raise CommandError(f"Not registered (or closed): {', '.join(missing)}.")
        summaries = engine.run_all(ids or None)
        if not summaries:
            self.stdout.write("No account to check.")
            return
        failed = 0
        for summary in summaries:
            self.stdout.write(summary.line())
            for error in summary.errors:
                failed += 1
                self.stderr.write(f"  error: {error}")
        if failed:
            raise CommandError(f"{failed} check evaluation(s) failed; the others were stored.")
