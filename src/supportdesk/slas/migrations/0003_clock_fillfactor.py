"""PostgreSQL: leave room on each page of the clocks table, so the bulk recompute's UPDATE of due
instants (no indexed column changes) is a HOT update that touches no index."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE slas_slaclock SET (fillfactor = 70)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE slas_slaclock RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("slas", "0002_default_policies")]

    operations = [migrations.RunPython(forwards, backwards)]
