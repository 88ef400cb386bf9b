"""`Idempotency-Key`: a retried create returns the first response instead of creating again.

The key is stored per user with the response, in the same transaction as what it created. A unique
constraint on (user, key) settles races between concurrent retries: on PostgreSQL the second INSERT
waits for the first transaction and then fails, on SQLite the second transaction cannot start
before the first commits; either way the loser reads the winner's response and replays it. If the
first request fails (a validation error), nothing is stored and the key may be used again."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from supportdesk.accounts.models import User
from supportdesk.api.errors import Unprocessable
from supportdesk.api.models import IdempotencyKey

HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool


def request_fingerprint(method: str, path: str, data: dict[str, Any]) -> str:
    def default(value: Any) -> Any:
        if hasattr(value, "read"):  # an uploaded file: its name and bytes
            value.seek(0)
            digest = hashlib.sha256(value.read()).hexdigest()
            value.seek(0)
            return {"file": getattr(value, "name", ""), "sha256": digest}
        return str(value)

    document = json.dumps(data, sort_keys=True, default=default)
    return hashlib.sha256(f"{method} {path}\n{document}".encode()).hexdigest()


def run_once(
    *,
    user: User,
    key: str,
    fingerprint: str,
    make: Callable[[], tuple[int, dict[str, Any]]],
) -> Outcome:
    """Run `make` (which returns status and JSON body) once per (user, key)."""
    expiry = dt.timedelta(hours=settings.SUPPORTDESK_API_IDEMPOTENCY_HOURS)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
        except IntegrityError:
            existing = IdempotencyKey.objects.get(user=user, key=key)
            if existing.created_at >= timezone.now() - expiry:
                if existing.fingerprint != fingerprint:
                    raise Unprocessable(
                        f"The {HEADER} {key!r} was already used for a different request; use a "
                        "new key for a new request."
                    ) from None
                return Outcome(existing.response_status, existing.response_body, replayed=True)
            existing.delete()  # expired: the key starts afresh
            record = IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
        status, body = make()
        record.response_status = status
        record.response_body = body
        record.save(update_fields=["response_status", "response_body"])
        return Outcome(status, body, replayed=False)


def prune(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    expiry = dt.timedelta(hours=settings.SUPPORTDESK_API_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=now - expiry).delete()
    return deleted
