"""Against a real gunicorn with two worker processes, production settings and a SQLite file: what
must hold across processes holds (rate limits are shared; racing retries make one ticket)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from supportdesk.api.tests.server import Server, gunicorn, manage, production_env

pytestmark = pytest.mark.slow

SETUP = """
import datetime as dt
from django.utils import timezone
from supportdesk.accounts.models import Role
from supportdesk.api.tokens import api_token_create
from supportdesk.core.testing import make_user
user = make_user(Role.CONTACT, email="ops@acme.test")
for name in ("race", "limit"):
    new = api_token_create(actor=user, name=name, scopes=["read", "write"],
                           expires_at=timezone.now() + dt.timedelta(days=1))
    print("TOKEN", name, new.secret)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("gunicorn")
    env = production_env(
        f"sqlite:///{directory / 'db.sqlite3'}",
        SUPPORTDESK_DATA_DIR=str(directory),
        SUPPORTDESK_API_RATE_LIMIT_PER_TOKEN="20",
    )
    manage(env, "migrate", "-v0")
    output = manage(env, "shell", "-c", SETUP).splitlines()
    tokens = dict(line.split()[1:] for line in output if line.startswith("TOKEN "))
    with gunicorn(env, workers=2, log_dir=directory) as running:
        running.env["TOKENS"] = repr(tokens)
        yield running


def tokens_of(server: Server) -> dict[str, str]:
    import ast

    return dict(ast.literal_eval(server.env["TOKENS"]))


def worker_pids(log: Path, path: str) -> set[str]:
    return {line.split()[0] for line in log.read_text().splitlines() if path in line}


def test_rate_limits_are_shared_by_the_worker_processes(server: Server) -> None:
    token = tokens_of(server)["limit"]

    def call(_: int) -> httpx.Response:
        # A new connection each time; six at once, so both workers are busy taking them.
        return httpx.get(
            server.url + "/api/v1/me/", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    for _ in range(3):  # a minute boundary mid-run resets the window: try again
        start = time.time()
        with ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(pool.map(call, range(30)))
        if int(start // 60) == int(time.time() // 60):
            break
        time.sleep(max(0.0, 60 - time.time() % 60) + 0.5)
    statuses = sorted(r.status_code for r in responses)
    # With per-process counts two workers would have let up to 40 through.
    assert statuses == [200] * 20 + [429] * 10, statuses
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(worker_pids(server.access_log, "/api/v1/me/")) == 2, "one worker took it all"


def test_racing_retries_make_one_ticket_on_a_sqlite_file(server: Server) -> None:
    token = tokens_of(server)["race"]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "alert-4711"}
    body = {"subject": "Disk full", "description": "alert 4711", "severity": 1}
    barrier = threading.Barrier(8)
    answers: list[tuple[int, int]] = []

    def retry() -> None:
        barrier.wait(timeout=30)
        response = httpx.post(
            server.url + "/api/v1/tickets/", json=body, headers=headers, timeout=60
        )
        answers.append((response.status_code, response.json().get("number", 0)))

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert len(answers) == 8
    assert {status for status, _ in answers} == {201}, answers
    assert len({number for _, number in answers}) == 1
    listed = httpx.get(
        server.url + "/api/v1/tickets/", headers={"Authorization": f"Bearer {token}"}
    ).json()["results"]
    assert len(listed) == 1


def test_production_headers_on_api_responses(server: Server) -> None:
    token = tokens_of(server)["race"]
    response = httpx.get(
        server.url + "/api/v1/me/",
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 200
    headers = response.headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "private, no-store"
    assert headers["Content-Type"] == "application/json"
