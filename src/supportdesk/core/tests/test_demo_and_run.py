from __future__ import annotations

import os
import socket
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
    with pytest.raises(CommandError, match="empty database"):
        call_command("demo")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_run(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SUPPORTDESK_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings.dev",
        "DATABASE_URL": "",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "supportdesk", "run", "--port", str(port), "--web-workers", "1"],
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


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    out, _ = process.communicate(timeout=30)
    return out


@pytest.mark.slow
def test_run_sets_up_demo_data_once_and_serves_the_app(tmp_path: Path):
    """What `make run` does: migrate, demo data into an empty database, web and worker; a second
    start reuses the database."""
    port = _free_port()
    first = _start_run(tmp_path, port)
    try:
        _wait_healthy(port, first)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as r:
            assert b"Sign in" in r.read()
    finally:
        output = _stop(first)
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
