"""Emitting events to webhook subscriptions and delivering them: signed, retried, logged.

Events are written as delivery rows inside the transaction that caused them (an outbox), and sent
after commit by a task. A delivery is claimed with a conditional UPDATE before it is sent, so two
workers never send the same one; failures are retried with backoff by the periodic redrive."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

import supportdesk
from supportdesk.accounts.models import User
from supportdesk.organizations.models import Organization
from supportdesk.webhooks.events import EVENT_TYPES
from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription, new_secret

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Supportdesk-Signature"
RETRY_DELAYS = (
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=10),
    dt.timedelta(hours=1),
    dt.timedelta(hours=6),
    dt.timedelta(hours=24),
)
CLAIM_SECONDS = 120
TIMEOUT_SECONDS = 10


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`: the timestamp is signed too, so a
    captured request cannot be replayed later."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: dt.datetime | None = None,
) -> bool:
    """What a receiver does (see docs/api.md): recompute and compare in constant time, and refuse
    timestamps more than `tolerance_seconds` away from now."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    current = (now or timezone.now()).timestamp()
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def webhook_event_emit(
    *,
    event_type: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
    organization: Organization | None = None,
    summary: str = "",
    staff_only: bool = False,
    now: dt.datetime | None = None,
) -> list[WebhookDelivery]:
    """Queue `event_type` for every active subscription that wants it: the organization's own
    subscriptions and the global (staff) ones. `staff_only` events (internal notes…) go to global
    subscriptions only. Call inside the transaction that made the change. `data` may be a
    function that builds it: it is called only when a subscription wants the event (most changes
    have none, and building a ticket's payload costs more than looking for subscriptions)."""
    now = now or timezone.now()
    subscriptions = WebhookSubscription.objects.filter(is_active=True)
    if organization is None or staff_only:
        subscriptions = subscriptions.filter(organization__isnull=True)
    else:
        subscriptions = subscriptions.filter(
            Q(organization__isnull=True) | Q(organization=organization)
        )
    wanting = [s for s in subscriptions if s.wants(event_type)]
    if not wanting:
        return []
    if callable(data):
        data = data()
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "type": event_type,
        "created_at": now.astimezone(dt.UTC).isoformat(),
        "organization": (
            {"id": organization.pk, "slug": organization.slug, "name": organization.name}
            if organization
            else None
        ),
        "summary": summary,
        "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
    }
    deliveries = [
        WebhookDelivery(
            subscription=s,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
        for s in wanting
    ]
    WebhookDelivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _enqueue(ids))
    return deliveries


def _enqueue(ids: list[uuid.UUID]) -> None:
    from supportdesk.webhooks.tasks import webhook_deliver_task

    for pk in ids:
        webhook_deliver_task.enqueue(str(pk))


def request_body(delivery: WebhookDelivery) -> bytes:
    if delivery.subscription.format == WebhookSubscription.Format.SLACK:
        payload = delivery.payload
        text = payload.get("summary") or payload.get("type", "")
        document: dict[str, Any] = {"text": text}
    else:
        document = delivery.payload
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class DestinationRefused(Exception):
    pass


def check_destination(url: str) -> None:
    """Refuse URLs that would make supportdesk a proxy into its own network (SSRF): only http(s),
    and no private, loopback, link-local or reserved addresses unless the deployment allows it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused(f"{url!r} is not an http(s) URL")
    if settings.SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise DestinationRefused(f"cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise DestinationRefused(f"{parts.hostname} resolves to non-public address {address}")


def webhook_deliver(delivery_id: uuid.UUID | str, *, now: dt.datetime | None = None) -> bool:
    """Send one delivery if it is due and nobody else is sending it. True when delivered."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(
        status=WebhookDelivery.Status.SENDING,
        claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return False
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    body = request_body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"supportdesk-webhooks/{supportdesk.__version__}",
        "Supportdesk-Event": delivery.event_type,
        "Supportdesk-Delivery": str(delivery.pk),
        "Supportdesk-Event-Id": str(delivery.event_id),
        SIGNATURE_HEADER: sign(subscription.secret, int(now.timestamp()), body),
    }
    error = ""
    status_code: int | None = None
    response_text = ""
    permanent = False
    if not subscription.is_active:
        error, permanent = "subscription is disabled", True
    else:
        try:
            check_destination(subscription.url)
            response = httpx.post(
                subscription.url,
                content=body,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
                follow_redirects=False,
            )
            status_code = response.status_code
            response_text = response.text[:2000]
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except DestinationRefused as exc:
            error, permanent = f"refused: {exc}", True
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
    delivery.claimed_until = None
    delivery.last_status_code = status_code
    delivery.last_response = response_text
    delivery.last_error = error[:2000]
    if not error:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = now
    elif permanent or delivery.attempts > len(RETRY_DELAYS):
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
    delivery.save()
    if error:
        log.info(
            "Webhook delivery %s to %s failed (attempt %d): %s",
            delivery.pk,
            subscription.url,
            delivery.attempts,
            error,
        )
    return not error


def webhook_deliveries_redrive(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Periodic: release claims of workers that died mid-send, and enqueue every due retry."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.SENDING, claimed_until__lt=now
    ).update(status=WebhookDelivery.Status.PENDING, claimed_until=None)
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    _enqueue(due)
    return len(due)


def webhook_delivery_replay(
    *, delivery: WebhookDelivery, now: dt.datetime | None = None
) -> WebhookDelivery:
    """Send the same event again (same event id, so receivers can tell it is a repeat)."""
    now = now or timezone.now()
    replay = WebhookDelivery.objects.create(
        subscription=delivery.subscription,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        replay_of=delivery,
        next_attempt_at=now,
        created_at=now,
    )
    transaction.on_commit(lambda: _enqueue([replay.pk]))
    return replay


# ---------------------------------------------------------------------------------------------
# Managing subscriptions (console and API)


def _check_manager(actor: User, organization: Organization | None) -> None:
    if actor.is_lead:
        return
    if organization is not None and actor.is_org_admin and actor.organization_id == organization.pk:
        return
    raise PermissionDenied("Leads manage webhooks; org admins manage their organization's.")


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = sorted({e.strip() for e in events if e.strip()})
    if not chosen:
        raise ValidationError({"events": "Choose at least one event type (or * for all)."})
    unknown = [
        e
        for e in chosen
        if e != "*"
        and e not in EVENT_TYPES
        and not (e.endswith(".*") and any(t.startswith(e[:-1]) for t in EVENT_TYPES))
    ]
    if unknown:
        raise ValidationError({"events": f"Unknown event type(s): {', '.join(unknown)}."})
    return chosen


@transaction.atomic
def webhook_subscription_create(
    *,
    actor: User,
    url: str,
    events: Iterable[str],
    organization: Organization | None = None,
    format: str = WebhookSubscription.Format.SUPPORTDESK,
    description: str = "",
) -> WebhookSubscription:
    _check_manager(actor, organization)
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError({"url": "Give an http:// or https:// URL."}) from None
    if format not in WebhookSubscription.Format.values:
        raise ValidationError({"format": f"{format!r} is not a payload format."})
    return WebhookSubscription.objects.create(
        organization=organization,
        url=url,
        events=_clean_events(events),
        format=format,
        description=description[:200],
        created_by=actor,
    )


@transaction.atomic
def webhook_subscription_update(
    *,
    actor: User,
    subscription: WebhookSubscription,
    is_active: bool | None = None,
    rotate_secret: bool = False,
) -> WebhookSubscription:
    _check_manager(actor, subscription.organization)
    if is_active is not None:
        subscription.is_active = is_active
    if rotate_secret:
        subscription.secret = new_secret()
    subscription.save()
    return subscription


def webhook_subscription_delete(*, actor: User, subscription: WebhookSubscription) -> None:
    _check_manager(actor, subscription.organization)
    subscription.delete()
