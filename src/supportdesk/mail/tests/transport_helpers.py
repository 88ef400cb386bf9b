"""Helpers for the transport tests: an LMTP client that reads LMTP's one-reply-per-recipient
answer to DATA (smtplib's sendmail reads only one), messages, and a listener subprocess."""

from __future__ import annotations

import json
import os
import select
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from django.db import connection

SRC = str(Path(__file__).resolve().parents[3])
TEST_SECRET_KEY = "test-only-" + "m" * 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_message(
    *,
    subject: str = "Our server is down",
    sender: str = "alice@acme.test",
    to: str = "support@acme-support.test",
    body: str = "Hello, it does not start since this morning.\n",
    message_id: str | None = "<m1@acme.test>",
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    if message_id is not None:
        msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def lmtp_deliver(
    client: smtplib.LMTP, mail_from: str, recipients: list[str], raw: bytes
) -> dict[str, tuple[int, str]]:
    """One LMTP transaction; the reply for every recipient (RCPT refusals and, for the accepted
    ones, their own answer to DATA, in RCPT order)."""
    client.ehlo_or_helo_if_needed()
    code, reply = client.mail(mail_from)
    if code != 250:
        client.rset()
        return {r: (code, reply.decode()) for r in recipients}
    results: dict[str, tuple[int, str]] = {}
    accepted: list[str] = []
    for recipient in recipients:
        code, reply = client.rcpt(recipient)
        results[recipient] = (code, reply.decode())
        if code in (250, 251):
            accepted.append(recipient)
    if not accepted:
        client.rset()
        return results
    code, reply = client.data(raw)
    results[accepted[0]] = (code, reply.decode())
    for recipient in accepted[1:]:
        code, reply = client.getreply()
        results[recipient] = (code, reply.decode())
    return results


def lmtp_client(port: int, timeout: float = 30) -> smtplib.LMTP:
    client = smtplib.LMTP("127.0.0.1", port, timeout=timeout)
    return client


@dataclass
class ListenerProcess:
    process: subprocess.Popen[str]
    port: int
    env: dict[str, str]
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def drain(self) -> None:
        """Read the process's output as it comes (a full pipe would block its logging)."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)


def subprocess_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings.production",
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "TASKS_BACKEND": "database",
        "SUPPORTDESK_MAIL_ADDRESSES": "support@acme-support.test,sales@acme-support.test",
        **extra,
    }


def database_url_for_subprocess(tmp_path: Path) -> str:
    """A database another process can open: the test's own PostgreSQL database (the test must
    be transactional so the rows are committed), or a migrated SQLite file."""
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
        return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    url = f"sqlite:///{tmp_path / 'mail.sqlite3'}"
    manage(subprocess_env(url), "migrate", "-v0")
    return url


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "supportdesk", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"supportdesk {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


STORED_SCRIPT = """
import json
from supportdesk.mail.models import InboundMessage
print(json.dumps(list(InboundMessage.objects.values_list("channel", "message_id"))))
"""


def stored_messages(env: dict[str, str]) -> list[tuple[str, str]]:
    """(channel, message_id) of every stored message, read through another process."""
    out = manage(env, "shell", "-c", STORED_SCRIPT).strip().splitlines()[-1]
    return [(row[0], row[1]) for row in json.loads(out)]


@contextmanager
def listener_process(
    env: dict[str, str], port: int | None = None, *extra: str
) -> Iterator[ListenerProcess]:
    running = start_listener(env, port, *extra)
    try:
        yield running
    finally:
        stop_listener(running)


def start_listener(env: dict[str, str], port: int | None = None, *extra: str) -> ListenerProcess:
    port = port or free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "supportdesk",
            "mail",
            "lmtp",
            "--bind",
            f"127.0.0.1:{port}",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    seen = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            seen += line
            if "mail listener" in line:
                running = ListenerProcess(process=process, port=port, env=env, output=[seen])
                running.reader = threading.Thread(target=running.drain, daemon=True)
                running.reader.start()
                return running
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"the listener did not start:\n{seen}{process.stdout.read()}")


def stop_listener(running: ListenerProcess, sig: int = signal.SIGTERM) -> str:
    if running.process.poll() is None:
        os.killpg(running.process.pid, sig)
    try:
        running.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(running.process.pid, signal.SIGKILL)
        running.process.wait()
    if running.reader is not None:
        running.reader.join(10)
    return "".join(running.output)
