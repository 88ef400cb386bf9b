from __future__ import annotations

import pytest
from django.db import connections

from supportdesk.core.management.commands.worker import keep_sqlite_connections


@pytest.mark.django_db
def test_worker_keeps_its_sqlite_connection_between_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker process keeps one SQLite connection (no reconnect per task); a PostgreSQL
    connection keeps its configured age (DATABASE_CONN_MAX_AGE)."""
    conn = connections["default"]
    monkeypatch.setitem(conn.settings_dict, "CONN_MAX_AGE", 0 if conn.vendor == "sqlite" else 60)
    keep_sqlite_connections()
    if conn.vendor == "sqlite":
        assert conn.settings_dict["CONN_MAX_AGE"] is None
    else:
        assert conn.settings_dict["CONN_MAX_AGE"] == 60


def test_the_worker_marks_itself_background_for_the_sqlite_writers_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its SQLite writers give way to the web's and the mail listener's
    (core/backends/sqlite3)."""
    from django.core.management import call_command

    from supportdesk.core.backends.sqlite3 import base
    from supportdesk.core.management.commands import worker

    ran: list[str] = []
    monkeypatch.setattr(worker, "call_command", lambda name, **_: ran.append(name))
    monkeypatch.setattr(base, "_background", False)
    call_command("worker", "--no-scheduler", "--no-probes")
    assert ran == ["db_worker"]
    assert base._background is True
