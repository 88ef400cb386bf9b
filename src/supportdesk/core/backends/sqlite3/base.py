"""SQLite, with writers queued fairly between processes.

SQLite lets one writer in at a time. The others wait by polling: a writer that finds the database
locked sleeps (1, 2, 5, 10 … up to 100 ms) and tries again. With several busy processes on one
database (the mail listener, two workers, the web) that leaves the lock idle while the waiters
sleep, and lets a process that writes in a loop take it again and again while another sleeps: in
bench/mail.py the LMTP listener, which a mail server is waiting on, stored 68 messages/s while
two workers took turns at the lock, against 450/s alone.

This backend queues writers on a file lock beside the database (`<name>-writers`) before `BEGIN`
and releases it after `COMMIT` or `ROLLBACK`: the kernel wakes the next writer the moment the lock
is released. Foreground processes (the web and the mail listener, where people and mail servers
wait) go first: a background process (`supportdesk worker`, see `set_background`) steps aside at
a second file lock (`<name>-gate`) while a foreground writer waits. Single statements written
outside a transaction queue the same way.

The file locks only order the queue; SQLite's own locking still decides. A writer waits in the
queue as long as the transaction ahead of it takes (SQLite alone would give up after its busy
`timeout`); the kernel releases a dead process's place at once. An in-memory database (the tests'
default) has no file and no queue.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.sqlite3 import base

_background = False


def set_background(background: bool = True) -> None:
    """Mark this process as background work: its writers give way to foreground writers."""
    global _background
    _background = background


class WriterQueue:
    """One connection's place in the queue of writers to one database file."""

    def __init__(self, database: str, *, background: bool | None = None) -> None:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        self.lock_fd = os.open(f"{database}-writers", flags, 0o600)
        self.gate_fd = os.open(f"{database}-gate", flags, 0o600)
        self.held = False
        # None: as the process is marked (set_background).
        self.background = background

    def acquire(self) -> None:
        """Wait for this connection's turn to write (no-op when it has it)."""
        if self.held:
            return
        if _background if self.background is None else self.background:
            # Wait while a foreground writer is at the gate, then queue.
            fcntl.flock(self.gate_fd, fcntl.LOCK_SH)
            fcntl.flock(self.gate_fd, fcntl.LOCK_UN)
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        else:
            # Hold the gate while waiting, so that background writers do not go in first.
            fcntl.flock(self.gate_fd, fcntl.LOCK_EX)
            try:
                fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
            finally:
                fcntl.flock(self.gate_fd, fcntl.LOCK_UN)
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.release()
        os.close(self.lock_fd)
        os.close(self.gate_fd)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    writers: WriterQueue | None = None

    @contextmanager
    def _turn(self, query: str) -> Iterator[None]:
        """A statement that writes outside a transaction waits its turn too, for its duration
        (in a transaction, BEGIN took the turn)."""
        writers = self.writers
        if (
            writers is None
            or self.connection.in_transaction
            or not query.lstrip()[:7].upper().startswith(_WRITES)
        ):
            yield
            return
        writers.acquire()
        try:
            yield
        finally:
            writers.release()

    def execute(self, query: str, params: Any = None) -> Any:
        with self._turn(query):
            return super().execute(query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        with self._turn(query):
            return super().executemany(query, param_list)


class DatabaseWrapper(base.DatabaseWrapper):
    # (The private methods overridden below are not in django-stubs: hence the type: ignores.)
    writers: WriterQueue | None = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        conn = super().get_new_connection(conn_params)
        if not self.is_in_memory_db():
            self.writers = WriterQueue(str(self.settings_dict["NAME"]))
        return conn

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=SQLiteCursorWrapper)
        cursor.writers = self.writers
        return cursor

    def _start_transaction_under_autocommit(self) -> None:
        if self.writers is not None:
            self.writers.acquire()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_writers()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_writers()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_writers()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            if self.writers is not None:
                self.writers.close()
                self.writers = None

    def _release_writers(self) -> None:
        if self.writers is not None:
            self.writers.release()
