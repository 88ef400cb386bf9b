"""API tokens and integration accounts: the only code that makes, uses or revokes them.

A token is `sd_` followed by 43 random URL-safe characters (256 bits). Only its SHA-256 digest is
stored: with that much randomness a fast hash is enough (nothing to brute-force), and a lookup is
one unique-index probe. The token is returned once, by `api_token_create`, and never again."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from supportdesk.accounts.models import Role, SecurityEvent, User
from supportdesk.accounts.services import security_event_record
from supportdesk.api.models import ApiToken, IntegrationAccount, Scope
from supportdesk.organizations.models import Organization

TOKEN_PREFIX = "sd_"  # noqa: S105 - not a secret
SHOWN_PREFIX_LENGTH = 11  # "sd_" and 8 characters: enough to tell tokens apart in a list
# Writing last-used on every request would make every read a write; once a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
_TOKEN_SHAPE = re.compile(r"^sd_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class NewToken:
    """What `api_token_create` returns: the row, and the token itself (shown once)."""

    token: ApiToken
    secret: str


class TokenRefused(Exception):
    """Why a bearer token was not accepted, in words fit to show its holder."""


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def allowed_scopes(user: User) -> set[str]:
    """What a token of `user` may carry. Admin (webhooks, contacts, roles) is for leads and org
    admins; everyone may read and write within what their role allows."""
    scopes = {Scope.READ.value, Scope.WRITE.value}
    if user.is_lead or user.is_org_admin:
        scopes.add(Scope.ADMIN.value)
    return scopes


def tokens_manageable_by(actor: User) -> Q:
    """Tokens `actor` may see and revoke: their own; a lead also those of integration accounts."""
    condition = Q(user=actor)
    if actor.is_lead:
        condition |= Q(user__integration__isnull=False)
    return condition


def _clean_scopes(user: User, scopes: Iterable[str]) -> list[str]:
    chosen = sorted({s.strip() for s in scopes if s and s.strip()})
    if not chosen:
        raise ValidationError({"scopes": "Choose at least one scope: read, write or admin."})
    unknown = [s for s in chosen if s not in Scope.values]
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope(s): {', '.join(unknown)}."})
    refused = [s for s in chosen if s not in allowed_scopes(user)]
    if refused:
        raise ValidationError(
            {"scopes": f"A {user.get_role_display().lower()} cannot hold the admin scope."}
        )
    return chosen


@transaction.atomic
def api_token_create(
    *,
    actor: User,
    name: str,
    scopes: Iterable[str],
    expires_at: dt.datetime,
    user: User | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> NewToken:
    """Make a token for `actor` (or, by a lead, for an integration account)."""
    now = now or timezone.now()
    user = user or actor
    if user != actor and not (
        actor.is_lead and IntegrationAccount.objects.filter(user=user).exists()
    ):
        raise PermissionDenied("You make tokens for yourself; leads also for integration accounts.")
    if not user.is_active:
        raise ValidationError({"user": "That account is deactivated."})
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."})
    if len(name) > 100:
        raise ValidationError({"name": "Keep the name under 100 characters."})
    clean = _clean_scopes(user, scopes)
    if timezone.is_naive(expires_at):
        raise ValidationError({"expires_at": "Give the expiry with its time zone."})
    if expires_at <= now:
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    limit = settings.SUPPORTDESK_API_TOKEN_MAX_DAYS
    if expires_at > now + dt.timedelta(days=limit):
        raise ValidationError({"expires_at": f"Tokens live at most {limit} days."})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        digest=token_digest(secret),
        scopes=clean,
        created_by=actor,
        created_at=now,
        expires_at=expires_at,
    )
    security_event_record(
        kind=SecurityEvent.Kind.TOKEN_CREATED,
        request=request,
        user=user,
        actor=actor,
        email=user.email,
        detail={
            "token_id": token.pk,
            "name": name,
            "prefix": token.prefix,
            "scopes": clean,
            "expires_at": expires_at.astimezone(dt.UTC).isoformat(),
        },
    )
    return NewToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(
    *,
    actor: User,
    token: ApiToken,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> ApiToken:
    """Revoke at once; the next request with the token is refused. Revoking twice is a no-op."""
    now = now or timezone.now()
    if not ApiToken.objects.filter(tokens_manageable_by(actor), pk=token.pk).exists():
        raise PermissionDenied("You revoke your own tokens; leads also integration accounts'.")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = now
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    security_event_record(
        kind=SecurityEvent.Kind.TOKEN_REVOKED,
        request=request,
        user=token.user,
        actor=actor,
        email=token.user.email,
        detail={"token_id": token.pk, "name": token.name, "prefix": token.prefix},
    )
    return token


def api_token_authenticate(
    *, secret: str, ip: str | None = None, now: dt.datetime | None = None
) -> ApiToken:
    """The token `secret` names, if it may be used now; else TokenRefused saying why."""
    now = now or timezone.now()
    if not _TOKEN_SHAPE.match(secret):
        raise TokenRefused("That is not a supportdesk API token (they start with sd_).")
    token = (
        ApiToken.objects.select_related("user", "user__organization")
        .filter(digest=token_digest(secret))
        .first()
    )
    if token is None:
        raise TokenRefused("Unknown API token.")
    if token.revoked_at is not None:
        raise TokenRefused("This API token was revoked; make a new one.")
    if token.expires_at <= now:
        raise TokenRefused(
            f"This API token expired at {token.expires_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC; "
            "make a new one."
        )
    if not token.user.is_active:
        raise TokenRefused("The account this token belongs to is deactivated.")
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        # Conditional, so concurrent requests write at most once per minute.
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
            pk=token.pk,
        ).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip
    return token


_SLUG = re.compile(r"[^a-z0-9]+")


@transaction.atomic
def integration_account_create(
    *,
    actor: User,
    name: str,
    role: str,
    organization: Organization | None = None,
    description: str = "",
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> User:
    """A user for a machine (see IntegrationAccount). Leads only."""
    now = now or timezone.now()
    if not actor.is_lead:
        raise PermissionDenied("Leads create integration accounts.")
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Name the integration (e.g. Acme monitoring)."})
    if role not in (Role.AGENT, Role.CONTACT, Role.ORG_ADMIN):
        raise ValidationError(
            {"role": "An integration acts as an agent, or as a contact or org admin of a customer."}
        )
    if role in (Role.CONTACT, Role.ORG_ADMIN) and organization is None:
        raise ValidationError({"organization": "Say which organization it acts for."})
    if role == Role.AGENT:
        organization = None
    slug = _SLUG.sub("-", name.lower()).strip("-")[:40] or "integration"
    email = f"{slug}-{secrets.token_hex(3)}@integrations.invalid"
    user = User.objects.create_user(
        email,
        None,  # an unusable password: it cannot sign in, nor reset one
        name=name[:200],
        role=role,
        organization=organization,
        email_disabled_reason="Integration account: it receives no mail.",
        email_disabled_at=now,
    )
    IntegrationAccount.objects.create(
        user=user, description=description[:200], created_by=actor, created_at=now
    )
    security_event_record(
        kind=SecurityEvent.Kind.ROLE_CHANGED,
        request=request,
        user=user,
        actor=actor,
        email=user.email,
        detail={"from": None, "to": role, "integration": True},
    )
    return user
