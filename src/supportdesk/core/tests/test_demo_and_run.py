from __future__ import annotations

import json
import os
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from supportdesk.accounts.models import User
from supportdesk.organizations.models import Deployment, Organization, Plan
from supportdesk.tickets.models import Message, Status, Ticket


@pytest.mark.django_db
def test_demo_data_covers_every_plan_deployment_and_status():
    call_command("demo")
    assert (
        User.objects.filter(
            email__in=[
                "agent@demo.test",
                "lead@demo.test",
                "alice@acme.demo.test",
                "bob@globex.demo.test",
            ]
        ).count()
        == 4
    )
    alice = User.objects.get(email="alice@acme.demo.test")
    assert alice.check_password("demo")
    assert (alice.organization.plan, alice.organization.deployment) == (
        Plan.ENTERPRISE,
        Deployment.SELF_HOSTED,
    )
    bob = User.objects.get(email="bob@globex.demo.test")
    assert bob.organization.deployment == Deployment.MANAGED
    assert bob.organization.instances.exists()
    assert Organization.objects.filter(plan=Plan.PROSPECT, trial_ends_on__isnull=False).exists()
    assert User.objects.filter(role="community").count() >= 2
    assert Ticket.objects.count() >= 30
    assert set(Ticket.objects.values_list("status", flat=True)) >= {
        Status.NEW,
        Status.OPEN,
        Status.WAITING_ON_CUSTOMER,
        Status.SOLVED,
    }
    assert set(Ticket.objects.values_list("severity", flat=True)) == {1, 2}
    assert Message.objects.filter(kind="note").exists()
    _assert_demo_mail()
    with pytest.raises(CommandError, match="empty database"):
        call_command("demo")


def test_demo_on_a_database_not_set_up_says_what_to_run(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings.dev",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "SUPPORTDESK_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "supportdesk", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "run `supportdesk migrate` first" in done.stderr
    assert "Traceback" not in done.stderr


def _assert_demo_mail() -> None:
    """The demo's mail went through the real pipeline: a mailed-in ticket, a reply threaded to our
    acknowledgement, an auto-reply that got no answer, a bounce that suppressed an address, and a
    message in quarantine."""
    from supportdesk.mail.models import InboundMessage, OutboundMail, SuppressedAddress

    mails = list(InboundMessage.objects.order_by("pk"))
    assert [(m.state, m.kind, m.threaded_by) for m in mails] == [
        ("processed", "human", ""),
        ("processed", "human", "message-id"),
        ("processed", "auto-reply", "message-id"),
        ("processed", "human", ""),
        ("processed", "bounce", "returned-message-id"),
        ("quarantined", "", ""),
    ]
    first, reply, auto_reply, moved, bounce, _ = mails
    assert first.ticket is not None
    assert first.ticket.channel == "email"
    assert reply.ticket == auto_reply.ticket == first.ticket
    assert first.ticket_message is not None
    assert first.ticket_message.body_text.endswith(
        "Could you tell us what to look at first?\n\nThanks,\nDave"
    )
    assert bounce.ticket == moved.ticket
    # Acknowledgements went to the two new tickets' senders, none to the auto-reply or bounce.
    assert OutboundMail.objects.filter(ticket__in=[first.ticket, moved.ticket]).count() == 2
    assert SuppressedAddress.objects.filter(address="pat@old-vendor.demo.test").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_run(data_dir: Path, port: int, mail_port: int = 0) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SUPPORTDESK_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings.dev",
        "DATABASE_URL": "",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "supportdesk",
            "run",
            "--port",
            str(port),
            "--mail-port",
            str(mail_port or _free_port()),
            "--web-workers",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_healthy(port: int, process: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"run exited early: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("supportdesk run did not become healthy")


def _mail_is_stored_and_queued(database: Path, mail_port: int) -> tuple[str, str]:
    """Deliver to the listener `run` started: the message is committed before the 250 and its
    processing task is queued for the worker (which first works through the demo data's own
    queued mail, so its ticket is not waited for here; the mail tests cover processing)."""
    raw = (
        b"From: alice@acme.demo.test\r\nTo: support@supportdesk.test\r\n"
        b"Message-ID: <make-run@acme.demo.test>\r\nSubject: Mail through make run\r\n\r\n"
        b"It broke.\r\n"
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with smtplib.LMTP("127.0.0.1", mail_port, timeout=30) as client:
                assert (
                    client.sendmail("alice@acme.demo.test", ["support@supportdesk.test"], raw) == {}
                )
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    with sqlite3.connect(database) as db:
        (inbound_id, channel), *_ = db.execute(
            "SELECT id, channel FROM mail_inboundmessage WHERE message_id = ?",
            ["<make-run@acme.demo.test>"],
        ).fetchall()
        queued = db.execute(
            "SELECT args_kwargs FROM django_tasks_database_dbtaskresult WHERE task_path = ?",
            ["supportdesk.mail.tasks.process_inbound_task"],
        ).fetchall()
    # The demo's own mail was processed when it was loaded; its queued tasks find it done.
    assert [json.loads(args)["args"] for (args,) in queued].count([inbound_id]) == 1
    return channel, "queued"


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    out, _ = process.communicate(timeout=30)
    return out


@pytest.mark.slow
def test_run_sets_up_demo_data_once_and_serves_the_app(tmp_path: Path):
    """What `make run` does: migrate, demo data into an empty database, web and worker; a second
    start reuses the database."""
    port, mail_port = _free_port(), _free_port()
    first = _start_run(tmp_path, port, mail_port)
    try:
        _wait_healthy(port, first)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as r:
            assert b"Sign in" in r.read()
        mail = _mail_is_stored_and_queued(tmp_path / "supportdesk.sqlite3", mail_port)
    finally:
        output = _stop(first)
    assert mail == ("support@supportdesk.test", "queued")
    assert f"mail in: LMTP on 127.0.0.1:{mail_port} for support@supportdesk.test" in output
    assert "loading demo data" in output
    assert "alice@acme.demo.test" in output
    assert "password: demo" in output
    assert (tmp_path / "supportdesk.sqlite3").exists()

    second = _start_run(tmp_path, port)
    try:
        _wait_healthy(port, second)
    finally:
        output = _stop(second)
    assert "loading demo data" not in output
    assert "supportdesk stopped." in output
