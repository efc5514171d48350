"""``manage.py export_exposure``: every way into the estate's resources, as JSON or CSV on stdout.

The same list as the "Exposed" page (from stored resources; nothing is asked of AWS), one row per
way into a resource: account, region, resource id and ARN, the vector (network path, Lambda
function URL, resource policy, ACL grant, snapshot / AMI attribute, role trust) and its evidence
(the statements, grants or attributes; in JSON as AWS wrote them), and for network paths the ports
and protocols and the way in (internet gateway route → subnet → network ACL → security group →
resource).
"""

from __future__ import annotations

import itertools
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import AwsAccount
from core.exporting import csv_chunks, json_chunks, write_chunks
from inventory.exposure.results import VECTORS
from inventory.services import exposure as service

CSV_COLUMNS = (
    "account_id",
    "account_name",
    "environment",
    "region",
    "type",
    "resource_id",
    "name",
    "arn",
    "vector",
    "evidence",
    "ports",
    "whole_internet",
    "from",
    "security_groups",
    "public_addresses",
    "path",
    "reasons",
)


def json_row(row: service.ExposedRow) -> dict[str, Any]:
    """One exposure for JSON: the account, then the analysis' own fields (ports and path as lists)."""
    x = row.exposure
    return {
        "account_id": row.account.account_id,
        "account_name": row.account.name,
        "environment": row.account.environment,
        "region": x.get("region", ""),
        "type": x.get("type", ""),
        "resource_id": x.get("resource_id", ""),
        "name": x.get("name", ""),
        "arn": x.get("arn", ""),
        "vector": x.get("vector", ""),
        "vector_label": x.get("vector_label", ""),
        "evidence": x.get("evidence", []),
        "evidence_text": x.get("evidence_text", ""),
        "ports": x.get("ports", []),
        "ports_text": x.get("ports_text", ""),
        "whole_internet": bool(x.get("world")),
        "cidrs": x.get("cidrs", []),
        "security_groups": x.get("security_groups", []),
        "public_addresses": x.get("public_addresses", []),
        "path": x.get("path", []),
        "path_text": x.get("path_text", ""),
        "reasons": x.get("reasons", []),
    }


def csv_row(row: service.ExposedRow) -> list[Any]:
    x = row.exposure
    return [
        row.account.account_id,
        row.account.name,
        row.account.environment,
        x.get("region", ""),
        x.get("type", ""),
        x.get("resource_id", ""),
        x.get("name", ""),
        x.get("arn", ""),
        x.get("vector", ""),
        x.get("evidence_text", ""),
        x.get("ports_text", ""),
        "yes" if x.get("world") else "no",
        ", ".join(x.get("cidrs") or []),
        ", ".join(x.get("security_groups") or []),
        ", ".join(x.get("public_addresses") or []),
        x.get("path_text", ""),
        "; ".join(x.get("reasons") or []),
    ]


class Command(BaseCommand):
    help = (
        "Write every way into a resource (account, region, id, ARN, vector, evidence; ports and path for "
        "network paths) as JSON or CSV."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument(
            "--account", action="append", default=[], metavar="ID", help="12-digit account ID (repeatable)"
        )
        parser.add_argument("--region", default="", help="only this region")
        parser.add_argument(
            "--port", type=int, default=None, help="only resources exposed on this TCP/UDP port"
        )
        parser.add_argument(
            "--vector",
            action="append",
            default=[],
            choices=list(VECTORS),
            help="only this way in (repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = AwsAccount.objects.order_by("name", "account_id")
        wanted = [a.strip() for a in options["account"] if a.strip()]
        if wanted:
            accounts = accounts.filter(account_id__in=wanted)
            missing = sorted(set(wanted) - set(accounts.values_list("account_id", flat=True)))
            if missing:
                raise CommandError(f"Unknown account ID(s): {', '.join(missing)}")
        port = options["port"]
        if port is not None and not 0 <= port <= 65535:
            raise CommandError("--port must be between 0 and 65535")
        rows = service.exposed_rows(
            list(accounts), region=options["region"].strip().lower(), port=port, vector=options["vector"]
        )
        if options["format"] == "csv":
            lines = itertools.chain([CSV_COLUMNS], (csv_row(row) for row in rows))
            write_chunks(self.stdout, csv_chunks(lines, lineterminator="\n"))
        else:
            write_chunks(self.stdout, json_chunks((json_row(row) for row in rows), indent=2))
