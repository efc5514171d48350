"""``manage.py export_inventory``: write stored resources to stdout as JSON or CSV (streamed)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from core.exporting import csv_chunks, json_chunks, write_chunks
from inventory.models import Resource

COLUMNS = [
    ("account_id", "account__account_id"),
    ("region", "region"),
    ("service", "service"),
    ("type", "type"),
    ("id", "resource_id"),
    ("arn", "arn"),
    ("name", "name"),
    ("tags", "tags"),
    ("first_seen", "first_seen"),
    ("last_seen", "last_seen"),
    ("deleted_at", "deleted_at"),
]


class Command(BaseCommand):
    help = "Write resources (account, region, service, type, id, ARN, name, tags, seen dates) as JSON or CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument(
            "--account", action="append", default=[], metavar="ID", help="12-digit account ID (repeatable)"
        )
        parser.add_argument(
            "--type", action="append", default=[], metavar="T", help="resource type, e.g. ec2:instance"
        )
        parser.add_argument("--include-deleted", action="store_true", help="also resources no longer seen")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = self._rows(self._queryset(options))
        if options["format"] == "csv":
            header = [name for name, _ in COLUMNS]
            lines = ([row[name] for name, _ in COLUMNS] for row in rows)
            write_chunks(self.stdout, csv_chunks(itertools.chain([header], lines), lineterminator="\n"))
            return
        dates = ("first_seen", "last_seen", "deleted_at")
        records = ({**row, **{k: row[k].isoformat() if row[k] else None for k in dates}} for row in rows)
        write_chunks(self.stdout, json_chunks(records))

    def _queryset(self, options: dict[str, Any]) -> QuerySet[Resource]:
        queryset = Resource.objects.all()
        if options["account"]:
            bad = [a for a in options["account"] if not (a.isdigit() and len(a) == 12)]
            if bad:
                raise CommandError(f"Not 12-digit account IDs: {', '.join(bad)}.")
            queryset = queryset.filter(account__account_id__in=options["account"])
        if options["type"]:
            queryset = queryset.filter(type__in=options["type"])
        if not options["include_deleted"]:
            queryset = queryset.filter(deleted_at__isnull=True)
        return queryset.order_by("account__account_id", "type", "region", "arn")

    def _rows(self, queryset: QuerySet[Resource]) -> Iterator[dict[str, Any]]:
        fields = [field for _, field in COLUMNS]
        # values() + iterator(): rows are streamed from the database, never all in memory
        for values in queryset.values_list(*fields).iterator(chunk_size=2000):
            yield {name: value for (name, _), value in zip(COLUMNS, values, strict=True)}
