"""Full-text search over messages: FTS5 on SQLite (kept current by triggers), a GIN expression index
on PostgreSQL. `supportdesk.tickets.search` queries them; a test checks the triggers still exist
after all migrations (a table rebuild on SQLite would drop them)."""

from django.db import migrations

from supportdesk.core.migration_ops import RunSQLForVendor

SQLITE = [
    "CREATE VIRTUAL TABLE tickets_message_fts USING fts5("
    "body_text, content='tickets_message', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER tickets_message_fts_ai AFTER INSERT ON tickets_message BEGIN "
    "INSERT INTO tickets_message_fts(rowid, body_text) VALUES (new.id, new.body_text); END",
    "CREATE TRIGGER tickets_message_fts_ad AFTER DELETE ON tickets_message BEGIN "
    "INSERT INTO tickets_message_fts(tickets_message_fts, rowid, body_text) "
    "VALUES ('delete', old.id, old.body_text); END",
    "CREATE TRIGGER tickets_message_fts_au AFTER UPDATE OF body_text ON tickets_message BEGIN "
    "INSERT INTO tickets_message_fts(tickets_message_fts, rowid, body_text) "
    "VALUES ('delete', old.id, old.body_text); "
    "INSERT INTO tickets_message_fts(rowid, body_text) VALUES (new.id, new.body_text); END",
    "INSERT INTO tickets_message_fts(tickets_message_fts) VALUES ('rebuild')",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS tickets_message_fts_au",
    "DROP TRIGGER IF EXISTS tickets_message_fts_ad",
    "DROP TRIGGER IF EXISTS tickets_message_fts_ai",
    "DROP TABLE IF EXISTS tickets_message_fts",
]
POSTGRESQL = [
    "CREATE INDEX tickets_message_fts_idx ON tickets_message "
    "USING GIN (to_tsvector('english', body_text))",
]
POSTGRESQL_REVERSE = ["DROP INDEX IF EXISTS tickets_message_fts_idx"]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        RunSQLForVendor("sqlite", SQLITE, SQLITE_REVERSE),
        RunSQLForVendor("postgresql", POSTGRESQL, POSTGRESQL_REVERSE),
    ]
