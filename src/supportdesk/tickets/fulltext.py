"""The full-text indexes, owned by the database: created here, checked after every migration.

SQLite: FTS5 tables over message bodies and ticket subjects, kept current by triggers. A later
migration that rebuilds one of those tables (SQLite's way of altering a column) drops its triggers,
so `ensure_fulltext` runs after every `migrate` (post_migrate) and recreates whatever is missing,
re-indexing the table when it had to. PostgreSQL: a stored generated tsvector column with a GIN
index on each table (Django's models do not know the column; the database fills it)."""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

PG_CONFIG = "english"

# (FTS table, content table, indexed column)
SQLITE_INDEXES = [
    ("tickets_message_fts", "tickets_message", "body_text"),
    ("tickets_ticket_fts", "tickets_ticket", "subject"),
]
# PostgreSQL: a stored, generated tsvector column per table (so matching a row never re-parses its
# text) with a GIN index on it: (table, indexed text column, index name).
POSTGRESQL_VECTORS = [
    ("tickets_message", "body_text", "tickets_message_search_idx"),
    ("tickets_ticket", "subject", "tickets_ticket_search_idx"),
]
VECTOR_COLUMN = "search_vector"


def _sqlite_triggers(fts: str, table: str, column: str) -> dict[str, str]:
    return {
        f"{fts}_ai": (
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END"
        ),
        f"{fts}_ad": (
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
            "END"
        ),
        f"{fts}_au": (
            f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {column} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
            f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END"
        ),
    }


def ensure_fulltext(connection: BaseDatabaseWrapper) -> list[str]:
    """Create any missing full-text table, trigger or index. Returns what it created."""
    created: list[str] = []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
            existing = {row[0] for row in cursor.fetchall()}
            for fts, table, column in SQLITE_INDEXES:
                if table not in existing:
                    continue  # migrations have not created it yet
                rebuild = False
                if fts not in existing:
                    cursor.execute(
                        f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}', "
                        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
                    )
                    created.append(fts)
                    rebuild = True
                for name, sql in _sqlite_triggers(fts, table, column).items():
                    if name not in existing:
                        cursor.execute(sql)
                        created.append(name)
                        rebuild = True
                if rebuild:
                    cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
        elif connection.vendor == "postgresql":
            for table, column, index in POSTGRESQL_VECTORS:
                cursor.execute(
                    "SELECT 1 FROM information_schema.columns WHERE table_name = %s "
                    "AND column_name = %s",
                    [table, VECTOR_COLUMN],
                )
                if cursor.fetchone() is None:
                    cursor.execute(
                        f"ALTER TABLE {table} ADD COLUMN {VECTOR_COLUMN} tsvector GENERATED "
                        f"ALWAYS AS (to_tsvector('{PG_CONFIG}', {column})) STORED"
                    )
                    created.append(f"{table}.{VECTOR_COLUMN}")
                cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index])
                if cursor.fetchone() is None:
                    cursor.execute(f"CREATE INDEX {index} ON {table} USING GIN ({VECTOR_COLUMN})")
                    created.append(index)
    return created


def ensure_fulltext_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    ensure_fulltext(connections[using])
