"""``manage.py export_findings``: write findings to stdout as JSON or CSV (streamed, formula-safe CSV)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from core.exporting import csv_chunks, json_chunks, write_chunks
from iam_audit.choices import FindingStatus, Severity
from iam_audit.exports import COLUMNS, finding_records
from iam_audit.models import Finding


class Command(BaseCommand):
    help = (
        "Write findings (check, title, severity, priority, status, account, region, resource, dates) as JSON "
        "or CSV; JSON adds each finding's evidence, remediation, risk, references and the resources it names."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument(
            "--status",
            action="append",
            default=[],
            choices=FindingStatus.values,
            help="only findings in this status (repeatable; default: every status)",
        )
        parser.add_argument(
            "--account", action="append", default=[], metavar="ID", help="12-digit account ID (repeatable)"
        )
        parser.add_argument("--severity", action="append", default=[], choices=Severity.values)
        parser.add_argument("--check", action="append", default=[], metavar="CHECK_ID")

    def handle(self, *args: Any, **options: Any) -> None:
        queryset = self._queryset(options)
        if options["format"] == "csv":
            header = [name for name, _ in COLUMNS]
            rows = ([row[name] for name, _ in COLUMNS] for row in self._rows(queryset))
            write_chunks(self.stdout, csv_chunks(itertools.chain([header], rows), lineterminator="\n"))
            return
        # JSON carries what the finding page shows: evidence, remediation, the resources named
        write_chunks(self.stdout, json_chunks(finding_records(queryset)))

    def _queryset(self, options: dict[str, Any]) -> QuerySet[Finding]:
        queryset = Finding.objects.all()
        if options["account"]:
            bad = [a for a in options["account"] if not (a.isdigit() and len(a) == 12)]
            if bad:
                raise CommandError(f"Not 12-digit account IDs: {', '.join(bad)}.")
            queryset = queryset.filter(account__account_id__in=options["account"])
        if options["status"]:
            queryset = queryset.filter(status__in=options["status"])
        if options["severity"]:
            queryset = queryset.filter(severity__in=options["severity"])
        if options["check"]:
            queryset = queryset.filter(check_id__in=options["check"])
        return queryset.order_by("-priority", "pk")

    def _rows(self, queryset: QuerySet[Finding]) -> Iterator[dict[str, Any]]:
        fields = [field for _, field in COLUMNS]
        # values_list() + iterator(): rows are streamed from the database, never all in memory
        for values in queryset.values_list(*fields).iterator(chunk_size=2000):
            yield {name: value for (name, _), value in zip(COLUMNS, values, strict=True)}
