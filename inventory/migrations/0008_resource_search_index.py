"""One trigram index for the resource search, over the name and the resource part of the ARN.

Replaces 0002's two (``UPPER(name)``, ``UPPER(arn)``). Every ARN starts with the same 30-odd
characters (``arn:aws:ec2:eu-west-1:123456789012:``); indexing their trigrams for every row made the
ARN's index 45 % of the database's CPU when storing new resources, for searches the account,
region and service filters (and :mod:`inventory.search`'s whole-word rules) answer anyway. The
expression must stay equal to :class:`inventory.search.SearchText`'s SQL on PostgreSQL (a test
reads the plan). Built CONCURRENTLY: an installation with a million resources keeps collecting
while it builds. PostgreSQL only; without pg_trgm the search scans, as 0002 said.
"""

from __future__ import annotations

from django.db import migrations

SEARCH = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS inv_res_search_trgm ON inventory_resource USING gin "
    "(UPPER(name || ' ' || regexp_replace(arn, '^arn:[^:]*:[^:]*:[^:]*:[^:]*:', '')) gin_trgm_ops)"
)
OLD = {"inv_res_name_trgm": "name", "inv_res_arn_trgm": "arn"}


def _has_trigrams(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    return cursor.fetchone() is not None


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _has_trigrams(cursor):
            cursor.execute(SEARCH)
        for name in OLD:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _has_trigrams(cursor):
            for name, column in OLD.items():
                cursor.execute(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON inventory_resource "
                    f"USING gin (UPPER({column}) gin_trgm_ops)"
                )
        cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS inv_res_search_trgm")


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("inventory", "0007_resource_index_for_lookups")]

    operations = [migrations.RunPython(forwards, backwards)]
