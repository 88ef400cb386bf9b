"""Helpers for API tests: tokens and clients that send them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from supportdesk.accounts.models import User
from supportdesk.api.tokens import api_token_create

ALL_SCOPES = ("read", "write", "admin")


def make_token(user: User, scopes: Iterable[str] | None = None, days: int = 30) -> str:
    if scopes is None:
        scopes = [s for s in ALL_SCOPES if s != "admin" or user.is_lead or user.is_org_admin]
    return api_token_create(
        actor=user,
        name="test",
        scopes=scopes,
        expires_at=timezone.now() + dt.timedelta(days=days),
    ).secret


def token_client(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def api() -> Callable[..., Client]:
    """`api(user)` → a client that authenticates with a fresh token of `user` (all its scopes)."""

    def make(user: User, scopes: Iterable[str] | None = None) -> Client:
        return token_client(make_token(user, scopes))

    return make


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["status"] == response.status_code
    assert error["code"]
    assert error["message"]
    return error
