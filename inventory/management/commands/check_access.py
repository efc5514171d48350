"""``manage.py check_access``: can Skyledger assume each account's read role? Stores the outcome."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import AwsAccount
from inventory.discovery import access_error_text, check_accounts_access


class Command(BaseCommand):
    help = (
        "Assume the read role of every registry account (or --account ID), record OK or the classified "
        "failure on the account, print one line each; exits 1 when any check failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--account", action="append", default=[], metavar="ID", help="12-digit account ID (repeatable)"
        )
        parser.add_argument("--workers", type=int, default=8, help="accounts checked at once")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = list(AwsAccount.objects.order_by("account_id"))
        if options["account"]:
            wanted = set(options["account"])
            accounts = [a for a in accounts if a.account_id in wanted]
            missing = wanted - {a.account_id for a in accounts}
            if missing:
                raise CommandError(f"Not in the registry: {', '.join(sorted(missing))}.")
        if not accounts:
            self.stdout.write("No accounts in the registry: run discover_accounts or import some first.")
            return
        failed = 0
        for account, result in check_accounts_access(accounts, workers=options["workers"]):
            if result.ok:
                regions = ", ".join(result.regions) or "no regions"
                self.stdout.write(
                    f"ok      {account.account_id} {account.name}: {result.identity_arn} ({regions})"
                )
            else:
                failed += 1
                self.stdout.write(
                    f"FAILED  {account.account_id} {account.name}: {access_error_text(result.error)}"
                )
        summary = f"{len(accounts) - failed} of {len(accounts)} accounts reachable."
        if failed:
            raise CommandError(summary)
        self.stdout.write(summary)
