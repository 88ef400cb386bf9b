"""The SQLite backend's queue of writers (supportdesk/core/backends/sqlite3): transactions and
single writes wait their turn at a file lock, and a background process (the worker) gives way
to a foreground one (the web, the mail listener). Real database files, real file locks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import ConnectionHandler

from supportdesk.core.backends.sqlite3.base import WriterQueue
from supportdesk.settings.base import _database


def _register(alias: str, url: str) -> BaseDatabaseWrapper:
    connections.settings[alias] = ConnectionHandler({"default": _database(url)}).settings["default"]
    return connections[alias]


@pytest.fixture
def database(tmp_path: Path, django_db_blocker: Any) -> Iterator[tuple[BaseDatabaseWrapper, Path]]:
    """A database file under the alias "file" (each thread gets its own connection)."""
    path = tmp_path / "db.sqlite3"
    with django_db_blocker.unblock():
        conn = _register("file", f"sqlite:///{path}")
        with conn.cursor() as cursor:
            cursor.execute("CREATE TABLE counter (n INTEGER)")
            cursor.execute("INSERT INTO counter VALUES (0)")
        yield conn, path
        conn.close()
        del connections["file"]
        del connections.settings["file"]


def _in_thread(target: object) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


def test_a_transaction_holds_the_queue_from_begin_to_commit_or_rollback(
    database: tuple[BaseDatabaseWrapper, Path],
) -> None:
    conn, _path = database
    assert conn.settings_dict["ENGINE"] == "supportdesk.core.backends.sqlite3"
    writers = conn.writers
    assert writers is not None
    assert not writers.held
    with transaction.atomic(using="file"):
        assert writers.held
        with conn.cursor() as cursor:
            cursor.execute("UPDATE counter SET n = n + 1")
    assert not writers.held
    held_inside: list[bool] = []

    def fail_inside_a_transaction() -> None:
        with transaction.atomic(using="file"):
            held_inside.append(writers.held)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        fail_inside_a_transaction()
    assert held_inside == [True]
    assert not writers.held


def test_a_writer_waits_while_another_process_holds_the_queue(
    database: tuple[BaseDatabaseWrapper, Path],
) -> None:
    """A single UPDATE outside a transaction waits for the holder (another connection here, as
    another process would), then goes in; reads do not wait."""
    conn, path = database
    other = WriterQueue(str(path))
    other.acquire()
    done = threading.Event()

    def write() -> None:
        mine = connections["file"]  # this thread's own connection
        with mine.cursor() as cursor:
            cursor.execute("SELECT n FROM counter")  # a read: no wait
            cursor.execute("UPDATE counter SET n = n + 1")
        done.set()
        mine.close()

    thread = _in_thread(write)
    assert not done.wait(0.3)  # still waiting for its turn
    other.release()
    assert done.wait(10)
    thread.join(10)
    other.close()
    with conn.cursor() as cursor:
        cursor.execute("SELECT n FROM counter")
        assert cursor.fetchone() == (1,)


def test_background_writers_give_way_to_a_waiting_foreground_writer(tmp_path: Path) -> None:
    """The worker (background) arrives after the listener (foreground) started waiting: when the
    holder finishes, the listener goes first, then the worker."""
    path = str(tmp_path / "db.sqlite3")
    holder = WriterQueue(path, background=True)
    foreground = WriterQueue(path, background=False)
    background = WriterQueue(path, background=True)
    order: list[str] = []

    def take(name: str, queue: WriterQueue) -> None:
        queue.acquire()
        order.append(name)
        time.sleep(0.05)
        queue.release()

    holder.acquire()
    threads = [_in_thread(lambda: take("listener", foreground))]
    time.sleep(0.2)  # the listener waits at the lock, holding the gate
    threads.append(_in_thread(lambda: take("worker", background)))
    time.sleep(0.2)  # the worker waits at the gate
    assert order == []
    holder.release()
    for thread in threads:
        thread.join(10)
    assert order == ["listener", "worker"]
    for queue in (holder, foreground, background):
        queue.close()


def test_an_in_memory_database_keeps_djangos_engine(django_db_blocker: Any) -> None:
    """One process, nothing to queue; and the test tools recognise Django's engine (with ours,
    pytest-django would have made the xdist workers' in-memory databases into files)."""
    assert _database("sqlite://")["ENGINE"] == "django.db.backends.sqlite3"
    with django_db_blocker.unblock():
        conn = _register("memory", "sqlite://")
        conn.ensure_connection()
        assert getattr(conn, "writers", None) is None
        conn.close()
        del connections["memory"]
        del connections.settings["memory"]
