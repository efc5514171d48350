"""``manage.py collect``: refresh accounts now, in this process (for automation), or via the queue."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.models import AwsAccount
from inventory.models import CollectionRun, RunState, RunTrigger
from inventory.runtime import collection_gc
from inventory.services import runs
from inventory.services.collect import Progress


class Command(BaseCommand):
    help = (
        "Collect the inventory of the given accounts (or all collectable ones) in this process, with a "
        "progress bar and a summary; exits 1 when a run failed. --enqueue sends them to the workers instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--account", action="append", default=[], metavar="ID", help="12-digit account ID (repeatable)"
        )
        parser.add_argument(
            "--all", action="store_true", help="every account with collection on and not closed"
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--inline", action="store_true", help="collect in this process (the default)")
        mode.add_argument("--enqueue", action="store_true", help="queue Celery tasks instead and return")
        parser.add_argument(
            "--service", action="append", default=[], help="only these collectors (e.g. ec2, iam)"
        )
        parser.add_argument(
            "--region",
            action="append",
            default=[],
            help="only these regions, this time (the others are recorded as not looked at)",
        )
        parser.add_argument("--workers", type=int, default=None, help="regions collected at once per account")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = self._accounts(options["account"], options["all"])
        if options["enqueue"]:
            queued = runs.queue_runs(accounts, RunTrigger.COMMAND)
            for run in queued:
                self.stdout.write(f"queued run {run.pk} for {run.account.account_id} ({run.state})")
            return
        collect_options: dict[str, Any] = {}
        if options["service"]:
            from inventory.collectors import base

            wanted = {s.lower() for s in options["service"]}
            chosen = base.collectors(lambda c: c.service in wanted)
            unknown = wanted - {c.service for c in chosen}
            if unknown:
                raise CommandError(f"Unknown collector(s): {', '.join(sorted(unknown))}.")
            collect_options["collectors"] = chosen
        if options["region"]:
            collect_options["only_regions"] = options["region"]
        if options["workers"]:
            collect_options["region_workers"] = max(1, options["workers"])

        with collection_gc(settings.SKYLEDGER_GC_GEN0_THRESHOLD):
            results = self._collect(accounts, collect_options, show=not options["no_progress"])
        self._summary(results)
        failed = [r for r in results if r.state == RunState.FAILED]
        skipped = [r for r in results if r.state == RunState.SKIPPED]
        problems = []
        if failed:
            problems.append(
                f"{len(failed)} of {len(results)} run(s) failed: "
                + ", ".join(r.account.account_id for r in failed)
            )
        if skipped:  # nothing was collected for these: not a success
            problems.append(
                f"{len(skipped)} account(s) not collected, a refresh of each was already running: "
                + ", ".join(r.account.account_id for r in skipped)
            )
        if problems:
            raise CommandError(" ".join(problems))

    def _collect(
        self, accounts: list[AwsAccount], collect_options: dict[str, Any], show: bool
    ) -> list[CollectionRun]:
        results: list[CollectionRun] = []
        for account in accounts:
            bar = tqdm(
                total=0, desc=account.account_id, unit="unit", disable=not show, file=sys.stderr, leave=True
            )

            def on_progress(progress: Progress, bar: tqdm = bar) -> None:
                bar.total = progress.units_planned
                bar.n = progress.units_done
                bar.set_postfix(
                    resources=progress.stats.seen, calls=progress.api_calls, errors=progress.error_count
                )

            try:
                run = runs.refresh_account(
                    account.pk, trigger=RunTrigger.COMMAND, progress=on_progress, **collect_options
                )
            finally:
                bar.close()
            if run is not None:
                results.append(run)
        return results

    def _accounts(self, ids: list[str], everything: bool) -> list[AwsAccount]:
        if everything and ids:
            raise CommandError("Give --account or --all, not both.")
        if everything:
            return list(runs.collectable_accounts())
        if not ids:
            raise CommandError("Give --account ID (repeatable) or --all.")
        found = {a.account_id: a for a in AwsAccount.objects.filter(account_id__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise CommandError(f"Not in the registry: {', '.join(missing)}.")
        return [found[i] for i in dict.fromkeys(ids)]

    def _summary(self, results: list[CollectionRun]) -> None:
        header = (
            "account",
            "state",
            "units",
            "seen",
            "new",
            "changed",
            "deleted",
            "API calls",
            "retries",
            "errors",
            "time",
        )
        rows = [
            (
                r.account.account_id,
                r.state,
                f"{r.units_done}/{r.units_planned}",
                f"{r.resources_seen:,}",
                f"{r.resources_new:,}",
                f"{r.resources_changed:,}",
                f"{r.resources_deleted:,}",
                f"{r.api_calls:,}",
                f"{r.api_retries:,}",
                f"{r.error_count:,}",
                f"{r.duration or 0:.1f}s",
            )
            for r in results
        ]
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        line = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
        self.stdout.write(line.format(*header))
        for row in rows:
            self.stdout.write(line.format(*row))
        for r in results:
            if r.message:
                self.stdout.write(f"{r.account.account_id}: {r.message}")
            for error in r.errors[:10]:
                where = "/".join(
                    p for p in (error.get("service"), error.get("region"), error.get("resource_type")) if p
                )
                self.stdout.write(f"  ! {where}: {error.get('message', '')}")
            if r.error_count > 10:
                self.stdout.write(f"  … and {r.error_count - 10} more errors (see the run page)")
