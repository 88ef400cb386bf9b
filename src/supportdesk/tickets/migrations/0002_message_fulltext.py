"""Full-text search: FTS5 tables with triggers on SQLite, tsvector columns with GIN on PostgreSQL.
The SQL lives in `supportdesk.tickets.fulltext`, which also re-checks it after every migrate."""

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    from supportdesk.tickets.fulltext import ensure_fulltext

    ensure_fulltext(schema_editor.connection)


def backwards(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "sqlite":
            for fts in ("tickets_message_fts", "tickets_ticket_fts"):
                for suffix in ("ai", "ad", "au"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
                cursor.execute(f"DROP TABLE IF EXISTS {fts}")
        elif schema_editor.connection.vendor == "postgresql":
            for table in ("tickets_message", "tickets_ticket"):
                cursor.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
