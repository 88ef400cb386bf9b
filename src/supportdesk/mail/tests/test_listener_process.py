"""The listener as its own process (`python -m supportdesk mail lmtp`), as production runs it:
SIGKILL in the middle of deliveries loses nothing that was answered 250; SIGTERM stops it
gracefully; a database it cannot reach means 451, never 250."""

from __future__ import annotations

import contextlib
import signal
import smtplib
import threading
import time
from pathlib import Path

import pytest

from supportdesk.mail.tests.transport_helpers import (
    database_url_for_subprocess,
    lmtp_client,
    lmtp_deliver,
    make_message,
    start_listener,
    stop_listener,
    stored_messages,
    subprocess_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SUPPORT = "support@acme-support.test"
MESSAGES = 400
CLIENTS = 3


def message_id(n: int) -> str:
    return f"<crash-{n}@acme.test>"


class Outcome:
    """What each client saw, per message: 250 (accepted), a 4xx, or the connection dropping."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: set[int] = set()
        self.temporary: list[tuple[int, int, str]] = []
        self.dropped: set[int] = set()
        self.permanent: list[tuple[int, int, str]] = []
        self.errors: list[str] = []

    def record(self, n: int, code: int, reply: str) -> None:
        with self.lock:
            if code == 250:
                self.accepted.add(n)
            elif 400 <= code < 500:
                self.temporary.append((n, code, reply))
            else:
                self.permanent.append((n, code, reply))


def deliver_until_refused(port: int, numbers: list[int], outcome: Outcome) -> None:
    """Deliver each message on one connection until the listener goes away."""
    client = None
    try:
        client = lmtp_client(port, timeout=20)
        for n in numbers:
            raw = make_message(message_id=message_id(n), body=f"Message {n}\n" + "x" * 2000)
            try:
                answers = lmtp_deliver(client, "alice@acme.test", [SUPPORT], raw)
            except (smtplib.SMTPException, OSError) as exc:
                with outcome.lock:
                    outcome.dropped.add(n)
                    outcome.errors.append(repr(exc))
                return
            code, reply = answers[SUPPORT]
            outcome.record(n, code, reply)
    except OSError:
        return
    finally:
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()


def test_sigkill_mid_delivery_loses_no_accepted_message(tmp_path: Path):
    env = subprocess_env(database_url_for_subprocess(tmp_path))
    listener = start_listener(env)
    outcome = Outcome()
    slices = [list(range(MESSAGES))[i::CLIENTS] for i in range(CLIENTS)]
    clients = [
        threading.Thread(target=deliver_until_refused, args=(listener.port, s, outcome))
        for s in slices
    ]
    for thread in clients:
        thread.start()
    deadline = time.monotonic() + 120
    while len(outcome.accepted) < 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop_listener(listener, signal.SIGKILL)  # mid-delivery: the clients are still sending
    for thread in clients:
        thread.join(60)
    assert listener.process.returncode == -signal.SIGKILL
    assert len(outcome.accepted) >= 60, "the clients never got going"
    assert len(outcome.accepted) < MESSAGES, "killed too late: every message was through"
    assert outcome.permanent == []
    assert all(code in (421, 451) for _, code, _ in outcome.temporary), outcome.temporary

    # Every message a client saw accepted is in the database.
    stored = {mid for _, mid in stored_messages(env)}
    accepted = {message_id(n) for n in outcome.accepted}
    assert accepted <= stored, f"lost: {sorted(accepted - stored)}"

    # After a restart, everything not yet accepted is delivered (what the sender's retry does);
    # a message stored just before the kill, unanswered, comes back as a duplicate.
    restarted = start_listener(env)
    try:
        remaining = [n for n in range(MESSAGES) if n not in outcome.accepted]
        retry = Outcome()
        deliver_until_refused(restarted.port, remaining, retry)
    finally:
        output = stop_listener(restarted)
    assert retry.accepted == set(remaining), (retry.temporary, retry.errors, output)
    assert "Mail listener stopped" in output
    final = stored_messages(env)
    assert len(final) == MESSAGES  # no duplicates
    assert {mid for _, mid in final} == {message_id(n) for n in range(MESSAGES)}


def test_sigterm_finishes_the_message_being_stored_then_exits(tmp_path: Path):
    env = subprocess_env(database_url_for_subprocess(tmp_path))
    listener = start_listener(env)
    with lmtp_client(listener.port) as client:
        first = lmtp_deliver(client, "a@acme.test", [SUPPORT], make_message(message_id="<t1@x>"))
        client.mail("a@acme.test")
        client.rcpt(SUPPORT)
        output = stop_listener(listener, signal.SIGTERM)
        # The session was closed: the open transaction was never answered 250.
        with pytest.raises((smtplib.SMTPException, OSError)):
            client.data(make_message(message_id="<t2@x>"))
    assert first[SUPPORT][0] == 250
    assert listener.process.returncode == 0
    assert "Mail listener stopped after 1 messages in 1 sessions" in output
    assert stored_messages(env) == [(SUPPORT, "<t1@x>")]


def test_an_unreachable_database_is_a_temporary_failure(tmp_path: Path):
    env = subprocess_env("postgresql://supportdesk@127.0.0.1:9/nowhere", DATABASE_CONN_MAX_AGE="0")
    listener = start_listener(env)
    try:
        with lmtp_client(listener.port) as client:
            answers = lmtp_deliver(client, "a@acme.test", [SUPPORT], make_message())
    finally:
        stop_listener(listener)
    code, reply = answers[SUPPORT]
    assert code == 451
    assert reply.startswith("4.3.0 Temporary failure")
