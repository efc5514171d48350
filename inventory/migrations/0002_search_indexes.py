"""Trigram indexes for the resource search box, on PostgreSQL only.

Django's ``icontains`` compiles to ``UPPER(col::text) LIKE UPPER('%term%')`` on PostgreSQL, which no
btree index can serve; a GIN trigram index on ``UPPER(col)`` can, so "name or ARN contains" stays fast
at a million rows. SQLite keeps the plain btree indexes from 0001. When the database user may not
create the pg_trgm extension, the search still works (as a scan) and the migration says so.
"""

from __future__ import annotations

from django.db import migrations

INDEXES = {
    "inv_res_name_trgm": "name",
    "inv_res_arn_trgm": "arn",
    "inv_res_rid_trgm": "resource_id",
}


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # noqa: BLE001  (permissions vary by installation)
            print(f"\n  pg_trgm not available ({exc}); resource search will scan instead of using an index.")
            return
        for name, column in INDEXES.items():
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON inventory_resource USING gin (UPPER({column}) gin_trgm_ops)"
            )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    # not atomic: a refused CREATE EXTENSION must not abort the other statements
    atomic = False

    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
