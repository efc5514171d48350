"""PostgreSQL only: keep a resource's metadata out of its heap row.

Every collection moves ``last_seen`` of every unchanged resource. With ``data`` (often kilobytes)
inline, each of those updates rewrites the whole row and, lacking room in the page, every index
entry too. Stored out of line (``toast_tuple_target`` 128, ``data`` EXTERNAL), the row is a few
hundred bytes, the update leaves the TOASTed value in place, and with the 15 % free space of
0004 it is usually a HOT update that touches no index. Reading ``data`` costs one TOAST fetch,
which only the resource page does. Applies to rows written from now on.
"""

from __future__ import annotations

from django.db import migrations


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE inventory_resource SET (toast_tuple_target = 128)")
        cursor.execute("ALTER TABLE inventory_resource ALTER COLUMN data SET STORAGE EXTERNAL")


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE inventory_resource RESET (toast_tuple_target)")
        cursor.execute("ALTER TABLE inventory_resource ALTER COLUMN data SET STORAGE EXTENDED")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0004_resource_index_diet")]

    operations = [migrations.RunPython(forwards, backwards)]
