"""``manage.py export_access_paths``: every IAM access path of the estate, as JSON or CSV, from stored data.

One path per row: the source principal's ARN, each hop (group, policy and statement, role assumed),
the target role and account, the privilege class reached and the conditions along the way. The
graph is built from the database (never from AWS). CSV cells are neutralised for spreadsheets.

    manage.py export_access_paths --format csv --to-account 222222222222
    manage.py export_access_paths --format json --from-principal arn:aws:iam::111111111111:user/Developer
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.exporting import csv_chunks, json_chunks, write_chunks
from iam_audit import graph_store
from iam_audit.graph import ROW_FIELDS, path_row

ACCOUNT_ID = re.compile(r"^\d{12}$")


class Command(BaseCommand):
    help = (
        "Write every IAM access path (source, hops, target role and account, privilege reached, "
        "conditions) as JSON or CSV."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument(
            "--to-account", default="", metavar="ID", help="only paths into this 12-digit account"
        )
        parser.add_argument(
            "--from-principal", default="", metavar="ARN", help="only paths from this principal"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        to_account = (options["to_account"] or "").strip()
        from_principal = (options["from_principal"] or "").strip()
        if to_account and not ACCOUNT_ID.match(to_account):
            raise CommandError(f"--to-account must be a 12-digit account ID, not {to_account!r}")
        state = graph_store.current()
        if from_principal and from_principal not in state.graph.principals:
            raise CommandError(f"No principal {from_principal!r} in the collected IAM data.")
        paths = graph_store.filter_paths(state, to_account=to_account, from_principal=from_principal)
        if options["format"] == "json":
            write_chunks(self.stdout, json_chunks(path_row(path) for path in paths))
            return
        rows = ([path_row(path, flat=True)[field] for field in ROW_FIELDS] for path in paths)
        write_chunks(self.stdout, csv_chunks(itertools.chain([list(ROW_FIELDS)], rows)))
