"""Agents' actions on stored mail (quarantine: retry, discard) and the repair sweep."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from supportdesk.accounts.models import User
from supportdesk.core.tasks import enqueue_unless_queued
from supportdesk.mail.models import InboundMessage

REDRIVE_AFTER = dt.timedelta(minutes=1)


def _enqueue(inbound_id: int) -> None:
    from supportdesk.mail.tasks import process_inbound_task

    transaction.on_commit(lambda: process_inbound_task.enqueue(inbound_id))


@transaction.atomic
def inbound_retry(*, actor: User, inbound: InboundMessage) -> InboundMessage:
    """Put a quarantined message back to be processed again (after a fix, a new organization
    domain…). The processing task runs after commit."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff handle quarantined mail.")
    inbound = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
    if inbound.state != InboundMessage.State.QUARANTINED:
        raise ValidationError("Only quarantined messages can be retried.")
    inbound.state = InboundMessage.State.RECEIVED
    inbound.save(update_fields=["state"])
    _enqueue(inbound.pk)
    return inbound


@transaction.atomic
def inbound_discard(*, actor: User, inbound: InboundMessage) -> InboundMessage:
    """Give up on a quarantined message. The raw message stays stored (and downloadable)."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff handle quarantined mail.")
    inbound = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
    if inbound.state != InboundMessage.State.QUARANTINED:
        raise ValidationError("Only quarantined messages can be discarded.")
    inbound.state = InboundMessage.State.DISCARDED
    inbound.outcome = f"Discarded by {actor.email}"[:500]
    inbound.save(update_fields=["state", "outcome"])
    return inbound


def inbound_redrive(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Enqueue processing for messages still RECEIVED a minute after they arrived (the worker
    died, or the after-commit enqueue was lost). Processing is idempotent, so a message that is
    being processed right now is simply found done. Messages whose processing is still waiting
    in the database task queue are left to it: behind a backlog, re-enqueueing them would only
    add a second task per message to the end of the queue."""
    from supportdesk.mail.tasks import process_inbound_task

    now = now or timezone.now()
    received = (
        InboundMessage.objects.filter(
            state=InboundMessage.State.RECEIVED, received_at__lte=now - REDRIVE_AFTER
        )
        .order_by("received_at")
        .values_list("pk", flat=True)
        .iterator()
    )
    return enqueue_unless_queued(process_inbound_task, received, limit=limit)
