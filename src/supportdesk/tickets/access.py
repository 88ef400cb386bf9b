"""The only way an interface gets a ticket, message or attachment: through these functions.

Staff see everything. An org admin sees the organization's tickets. A contact or community user sees
tickets they requested or are CC'd on. Anything else is "not found" (404): a customer cannot tell
another organization's ticket from one that does not exist."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet
from django.http import Http404

from supportdesk.accounts.models import User
from supportdesk.tickets.models import Attachment, Message, Ticket, TicketEvent


def sees_everything(user: User) -> bool:
    """Staff see every ticket, message and internal note."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def tickets_visible_to(user: User) -> QuerySet[Ticket]:
    tickets = Ticket.objects.all()
    if not user.is_authenticated or not user.is_active:
        return tickets.none()
    if sees_everything(user):
        return tickets
    if user.is_org_admin and user.organization_id is not None:
        return tickets.filter(organization_id=user.organization_id)
    own = Q(requester=user) | Q(
        pk__in=Ticket.ccs.through.objects.filter(user=user).values("ticket")
    )
    if user.organization_id is not None:
        # A contact who moved organization keeps no view into the old one's tickets.
        return tickets.filter(own, organization_id=user.organization_id)
    return tickets.filter(own, organization__isnull=True)


def access_ticket(user: User, number: int | str) -> Ticket:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise Http404("No such ticket") from None
    try:
        return (
            tickets_visible_to(user)
            .select_related("organization", "requester", "assignee")
            .get(number=number)
        )
    except Ticket.DoesNotExist:
        raise Http404("No such ticket") from None


def messages_visible_to(user: User, ticket: Ticket) -> QuerySet[Message]:
    messages = ticket.messages.all()
    if not sees_everything(user):
        messages = messages.filter(kind=Message.Kind.REPLY)
    return messages


def all_messages_visible_to(user: User) -> QuerySet[Message]:
    """Every message `user` may read, across tickets (for search)."""
    if sees_everything(user):
        return Message.objects.all()
    return Message.objects.filter(ticket__in=tickets_visible_to(user), kind=Message.Kind.REPLY)


def events_visible_to(user: User, ticket: Ticket) -> QuerySet[TicketEvent]:
    events = ticket.events.all()
    if not user.is_staff:
        events = events.exclude(kind=TicketEvent.Kind.NOTE_ADDED)
    return events


def access_attachment(user: User, attachment_id: uuid.UUID | str) -> Attachment:
    try:
        key = uuid.UUID(str(attachment_id))
    except ValueError:
        raise Http404("No such attachment") from None
    attachments = Attachment.objects.filter(ticket__in=tickets_visible_to(user))
    if not user.is_staff:
        # Attachments of internal notes stay internal.
        attachments = attachments.filter(
            Q(message__isnull=True) | Q(message__kind=Message.Kind.REPLY)
        )
    try:
        return attachments.select_related("ticket").get(pk=key)
    except Attachment.DoesNotExist:
        raise Http404("No such attachment") from None
