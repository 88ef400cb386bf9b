"""Signing in, with throttling that holds across processes (it counts SecurityEvent rows)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone

from supportdesk.accounts.models import (
    CUSTOMER_ROLES,
    STAFF_ROLES,
    Role,
    SecurityEvent,
    User,
    normalize_email,
)
from supportdesk.organizations.models import Organization

# Per IP the limit is wider than per address, so one office behind NAT is not locked out by one
# person, while password spraying across many addresses still is.
IP_LIMIT_FACTOR = 5


class _Keep:
    """Leave the organization as it is (None means "no organization")."""


KEEP = _Keep()


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


def user_role_change(
    *,
    actor: User,
    user: User,
    role: str,
    organization: Organization | _Keep | None = KEEP,
    request: HttpRequest | None = None,
) -> User:
    """Change someone's role (leads only; not their own). Customers move between contact and org
    admin; staff between agent, lead and internal teammate; a community user becomes a customer by
    joining an organization. Recorded as a security event."""
    if not actor.is_lead:
        raise PermissionDenied("Only leads change roles.")
    if actor.pk == user.pk:
        raise PermissionDenied("Ask another lead to change your own role.")
    if role not in Role.values:
        raise ValidationError({"role": f"{role!r} is not a role."})
    new_org = user.organization if isinstance(organization, _Keep) else organization
    if role in CUSTOMER_ROLES and new_org is None:
        raise ValidationError({"organization": "Customers belong to an organization."})
    if role not in CUSTOMER_ROLES:
        new_org = None
    if (role in STAFF_ROLES) != user.is_staff:
        raise ValidationError(
            {"role": "Staff and customer accounts are separate: make a new account instead."}
        )
    old_role, old_org = user.role, user.organization
    if old_role == role and old_org == new_org:
        return user
    user.role = role
    user.organization = new_org
    user.full_clean(exclude=["password"])
    user.save(update_fields=["role", "organization"])
    security_event_record(
        kind=SecurityEvent.Kind.ROLE_CHANGED,
        request=request,
        user=user,
        actor=actor,
        email=user.email,
        detail={
            "from": old_role,
            "to": role,
            "organization_from": old_org.slug if old_org else None,
            "organization_to": new_org.slug if new_org else None,
        },
    )
    return user
