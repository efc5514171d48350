"""PostgreSQL only: leave half of each heap page free, so moving ``last_seen`` is a HOT update.

Every collection moves ``last_seen`` of every unchanged resource. An update is HOT (no index
touched) only when the new row version fits in the same page. 0004 left 15 % free, and 0005 meant to
keep rows small by moving ``data`` out of line, but PostgreSQL moves values out of line only for rows
over about 2 KB (TOAST_TUPLE_THRESHOLD; ``toast_tuple_target`` applies past it): a typical
resource, 1-2 KB, stays inline, so a page holds four or five rows and had room for one new version.
The other updates of a pass moved their row to another page and wrote all ten indexes, two of them
trigram GIN. Measured at 100k resources: 24 % of updates HOT and 23.6 s of database CPU for a pass of
unchanged resources; with 50 %, 99.5 % HOT and 1.7 s (the next pass prunes the old versions as it
goes). The price is a heap about twice as large. Applies to pages written from now on.
"""

from __future__ import annotations

from django.db import migrations


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE inventory_resource SET (fillfactor = 50)")


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE inventory_resource SET (fillfactor = 85)")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0005_resource_toast")]

    operations = [migrations.RunPython(forwards, backwards)]
