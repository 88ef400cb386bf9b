"""Plain-data views of tickets and messages for webhooks and notifications (never internal notes
unless the receiver is staff)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from supportdesk.tickets.models import Message, Ticket


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "severity": ticket.severity,
        "status": ticket.status,
        "resolution_kind": ticket.resolution_kind or None,
        "organization": ticket.organization.slug if ticket.organization else None,
        "requester": ticket.requester.email,
        "assignee": ticket.assignee.email if ticket.assignee else None,
        "channel": ticket.channel,
        "reported_at": ticket.reported_at,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "version": ticket.version,
        "url": settings.SUPPORTDESK_SITE_URL + reverse("portal:ticket", args=[ticket.number]),
    }


def message_data(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "ticket": message.ticket.number,
        "kind": message.kind,
        "author": message.author.email if message.author else None,
        "author_is_staff": bool(message.author and message.author.is_staff),
        "is_automatic": message.is_automatic,
        "body_text": message.body_text,
        "status": message.status_part,
        "next_steps": message.next_steps_part,
        "expectations": message.expectations_part,
        "created_at": message.created_at,
    }
