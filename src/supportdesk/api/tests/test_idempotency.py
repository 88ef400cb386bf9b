"""Idempotency-Key: a retried create never makes a second ticket, even when the retries race."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connection

from supportdesk.api.models import IdempotencyKey
from supportdesk.api.tests.conftest import error_of, make_token, token_client
from supportdesk.core.testing import make_ticket
from supportdesk.tickets.models import Message, Ticket

JSON = "application/json"
BODY = {"subject": "Monitoring: disk 95% on acme-prod", "description": "alert fired", "severity": 1}


@pytest.mark.django_db
def test_a_retry_with_the_same_key_returns_the_first_ticket(api, contact, colleague):
    client = api(contact)
    key = str(uuid.uuid4())
    first = client.post("/api/v1/tickets/", BODY, content_type=JSON, HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    assert not first.has_header("Idempotent-Replayed")
    again = client.post("/api/v1/tickets/", BODY, content_type=JSON, HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert Ticket.objects.count() == 1
    # The same key with a different request is refused, and creates nothing.
    changed = client.post(
        "/api/v1/tickets/", {**BODY, "severity": 2}, content_type=JSON, HTTP_IDEMPOTENCY_KEY=key
    )
    assert changed.status_code == 422
    assert "already used for a different request" in error_of(changed)["message"]
    # Keys are per user: a colleague's same key is their own.
    other = api(colleague).post(
        "/api/v1/tickets/", BODY, content_type=JSON, HTTP_IDEMPOTENCY_KEY=key
    )
    assert other.status_code == 201
    assert other.json()["number"] != first.json()["number"]
    assert Ticket.objects.count() == 2
    # A new key is a new ticket; without a key every request creates.
    client.post("/api/v1/tickets/", BODY, content_type=JSON, HTTP_IDEMPOTENCY_KEY="another")
    client.post("/api/v1/tickets/", BODY, content_type=JSON)
    assert Ticket.objects.count() == 4


@pytest.mark.django_db
def test_a_failed_request_stores_nothing_so_the_key_can_be_used_again(api, contact):
    client = api(contact)
    bad = client.post(
        "/api/v1/tickets/", {"subject": "x"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = client.post("/api/v1/tickets/", BODY, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k1")
    assert good.status_code == 201
    response = client.post(
        "/api/v1/tickets/", BODY, content_type=JSON, HTTP_IDEMPOTENCY_KEY="has space"
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in error_of(response)["fields"]


@pytest.mark.django_db
def test_replies_accept_idempotency_keys_too(api, contact):
    ticket = make_ticket(contact)
    client = api(contact)
    url = f"/api/v1/tickets/{ticket.number}/messages/"
    for _ in range(3):
        response = client.post(url, {"body": "ping"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="r")
        assert response.status_code == 201
    assert Message.objects.filter(ticket=ticket, body_text="ping").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_exactly_one_ticket(contact):
    """Eight threads (each its own database connection) send the same request with the same key
    at the same moment: one ticket, and every answer names it."""
    if connection.vendor == "sqlite":
        pytest.skip(
            "the in-memory SQLite test database locks whole tables between connections; the same "
            "race runs against a SQLite file under gunicorn in test_multiprocess.py"
        )
    secret = make_token(contact, ["read", "write"])
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results: list[tuple[int, dict[str, Any]]] = []
    errors: list[BaseException] = []

    def retry() -> None:
        try:
            client = token_client(secret)
            barrier.wait(timeout=30)
            response = client.post(
                "/api/v1/tickets/", BODY, content_type=JSON, HTTP_IDEMPOTENCY_KEY="race-1"
            )
            results.append((response.status_code, response.json()))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == threads_count
    assert {status for status, _ in results} == {201}, results
    assert len({body["number"] for _, body in results}) == 1
    assert Ticket.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
