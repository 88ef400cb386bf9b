"""Signing in, with throttling that holds across processes (it counts SecurityEvent rows)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils import timezone

from supportdesk.accounts.models import SecurityEvent, User, normalize_email

# Per IP the limit is wider than per address, so one office behind NAT is not locked out by one
# person, while password spraying across many addresses still is.
IP_LIMIT_FACTOR = 5


class SignInRefused(Exception):
    """Why a sign-in failed, in words fit to show (never saying whether the address exists)."""


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR only: X-Forwarded-For is trivially forged unless a proxy we trust rewrites it
    # (deployments behind one set it through the proxy's own REMOTE_ADDR handling).
    return request.META.get("REMOTE_ADDR") or None


def security_event_record(
    *,
    kind: str,
    request: HttpRequest | None = None,
    user: User | None = None,
    actor: User | None = None,
    email: str = "",
    detail: dict[str, Any] | None = None,
) -> SecurityEvent:
    return SecurityEvent.objects.create(
        kind=kind,
        user=user,
        actor=actor,
        email=email,
        ip_address=client_ip(request),
        detail=detail or {},
    )


def _recent_failures(*, email: str, ip: str | None, since: dt.datetime) -> tuple[int, int]:
    failures = SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.SIGN_IN_FAILED, created_at__gte=since
    )
    last_success = (
        SecurityEvent.objects.filter(
            kind=SecurityEvent.Kind.SIGN_IN, email=email, created_at__gte=since
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    by_email = failures.filter(email=email)
    if last_success is not None:
        by_email = by_email.filter(created_at__gt=last_success)
    by_ip = failures.filter(ip_address=ip).count() if ip else 0
    return by_email.count(), by_ip


def sign_in(*, request: HttpRequest, email: str, password: str) -> User:
    """Check the credentials, or raise SignInRefused. Records every attempt."""
    email = normalize_email(email)
    now = timezone.now()
    window = dt.timedelta(seconds=settings.SUPPORTDESK_LOGIN_LOCKOUT_SECONDS)
    limit = settings.SUPPORTDESK_LOGIN_MAX_FAILURES
    by_email, by_ip = _recent_failures(email=email, ip=client_ip(request), since=now - window)
    if by_email >= limit or by_ip >= limit * IP_LIMIT_FACTOR:
        security_event_record(kind=SecurityEvent.Kind.SIGN_IN_LOCKED, request=request, email=email)
        minutes = max(1, round(window.total_seconds() / 60))
        raise SignInRefused(
            f"Too many failed sign-ins. Wait {minutes} minutes, or reset your password."
        )
    user = authenticate(request, username=email, password=password)
    if not isinstance(user, User):
        security_event_record(kind=SecurityEvent.Kind.SIGN_IN_FAILED, request=request, email=email)
        raise SignInRefused("That email address and password do not match.")
    security_event_record(kind=SecurityEvent.Kind.SIGN_IN, request=request, user=user, email=email)
    return user
