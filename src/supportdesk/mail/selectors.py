"""Reads for the console: quarantine, suppressed addresses, a ticket's mail."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from supportdesk.mail.models import InboundMessage, OutboundMail, SuppressedAddress
from supportdesk.tickets.models import Ticket


def quarantined() -> QuerySet[InboundMessage]:
    return (
        InboundMessage.objects.filter(state=InboundMessage.State.QUARANTINED)
        .defer("raw")
        .order_by("-received_at", "-id")
    )


def quarantined_count() -> int:
    return InboundMessage.objects.filter(state=InboundMessage.State.QUARANTINED).count()


def suppressed_active() -> QuerySet[SuppressedAddress]:
    return SuppressedAddress.objects.filter(lifted_at__isnull=True).select_related("bounce")


def ticket_mail_panel(ticket: Ticket) -> dict[str, Any]:
    """The ticket page's mail card: what we sent (and did not send), and which participants'
    addresses are blocked because they bounce."""
    cc_addresses = Ticket.ccs.through.objects.filter(ticket_id=ticket.pk).values("user__email")
    return {
        "mail_outbound": list(
            OutboundMail.objects.filter(ticket=ticket).order_by("-created_at", "-id")[:20]
        ),
        "mail_suppressed": list(
            SuppressedAddress.objects.filter(lifted_at__isnull=True).filter(
                Q(address=ticket.requester.email) | Q(address__in=cc_addresses)
            )
        ),
        "mail_inbound": list(
            InboundMessage.objects.filter(ticket=ticket).defer("raw").order_by("-received_at")[:20]
        ),
    }
