"""What else happens when a ticket changes, as explicit calls in one place.

Every ticket service calls `ticket_changed` at the end of its transaction. Downstream subdomains
(webhooks here; SLA clocks and mail notifications as they land) get an explicit line below, in the
order they must run — no signals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from supportdesk.accounts.models import User
from supportdesk.mail.outbound import mail_ticket_changed
from supportdesk.slas.clocks import sla_ticket_changed
from supportdesk.tickets.models import Message, Ticket
from supportdesk.tickets.payloads import message_data, ticket_data
from supportdesk.webhooks.services import webhook_event_emit


@dataclass(frozen=True)
class TicketChange:
    actor: User | None
    at: dt.datetime
    created: bool = False
    message: Message | None = None
    changed: frozenset[str] = field(default_factory=frozenset)
    old_status: str | None = None
    # A public agent reply's commitment: "next update by …" (tracked like an SLA target).
    next_update_by: dt.datetime | None = None


def ticket_changed(ticket: Ticket, change: TicketChange) -> None:
    _emit_webhooks(ticket, change)
    sla_ticket_changed(
        ticket,
        actor=change.actor,
        at=change.at,
        created=change.created,
        message=change.message,
        changed=change.changed,
        old_status=change.old_status,
        next_update_by=change.next_update_by,
    )
    mail_ticket_changed(
        ticket,
        actor=change.actor,
        at=change.at,
        created=change.created,
        message=change.message,
        changed=change.changed,
        old_status=change.old_status,
    )


def _emit_webhooks(ticket: Ticket, change: TicketChange) -> None:
    # Payloads are built only for an event that a subscription wants (webhook_event_emit).
    def data() -> dict[str, Any]:
        return {"ticket": ticket_data(ticket), "changed": sorted(change.changed)}

    org = ticket.organization
    message = change.message
    if change.created:
        webhook_event_emit(
            event_type="ticket.created",
            data=data,
            organization=org,
            summary=f"New ticket #{ticket.number}: {ticket.subject}",
            now=change.at,
        )
        return
    if message is not None:
        event = "note.created" if message.is_internal else "message.created"
        webhook_event_emit(
            event_type=event,
            data=lambda: {"ticket": ticket_data(ticket), "message": message_data(message)},
            organization=org,
            staff_only=message.is_internal,
            now=change.at,
            summary=f"{'Internal note' if message.is_internal else 'Reply'} on #{ticket.number} "
            f"by {message.author.display_name if message.author else 'supportdesk'}",
        )
    if change.changed:
        webhook_event_emit(
            event_type="ticket.updated",
            data=data,
            organization=org,
            summary=f"Ticket #{ticket.number} changed: {', '.join(sorted(change.changed))}",
            now=change.at,
        )
