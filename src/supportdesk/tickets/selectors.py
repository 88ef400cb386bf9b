"""Read-side queries for queues and the ticket page: fixed query counts, index-friendly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from supportdesk.accounts.models import User
from supportdesk.tickets.access import tickets_visible_to
from supportdesk.tickets.models import OPEN_STATUSES, Status, Ticket


@dataclass(frozen=True)
class Queue:
    key: str
    title: str

    def filter(self, user: User) -> Q:
        match self.key:
            case "mine":
                return Q(assignee=user, status__in=OPEN_STATUSES)
            case "unassigned":
                return Q(assignee__isnull=True, status__in=OPEN_STATUSES)
            case "open":
                return Q(status__in=OPEN_STATUSES)
            case "waiting":
                return Q(status=Status.WAITING_ON_CUSTOMER)
            case "engineering":
                return Q(status=Status.WAITING_ON_US)
            case "solved":
                return Q(status__in=(Status.SOLVED, Status.CLOSED))
            case _:
                return Q()


QUEUES = {
    q.key: q
    for q in (
        Queue("mine", "Mine"),
        Queue("unassigned", "Unassigned"),
        Queue("open", "All open"),
        Queue("waiting", "Waiting on customer"),
        Queue("engineering", "Waiting on us / engineering"),
        Queue("solved", "Solved & closed"),
        Queue("all", "All tickets"),
    )
}

SORTS = {
    "updated": ("Last updated", ("-updated_at", "-id")),
    "created": ("Newest", ("-created_at", "-id")),
    "oldest": ("Oldest", ("created_at", "id")),
    "severity": ("Severity", ("severity", "-updated_at", "-id")),
    "number": ("Number", ("-number",)),
}


def ticket_queue(
    *,
    user: User,
    queue: str = "open",
    organization_id: int | None = None,
    severity: int | None = None,
    status: str | None = None,
    assignee_id: int | None = None,
    sort: str = "updated",
) -> QuerySet[Ticket]:
    tickets = tickets_visible_to(user).filter(QUEUES.get(queue, QUEUES["open"]).filter(user))
    filters: dict[str, Any] = {}
    if organization_id is not None:
        filters["organization_id"] = organization_id
    if severity is not None:
        filters["severity"] = severity
    if status:
        filters["status"] = status
    if assignee_id is not None:
        filters["assignee_id"] = assignee_id
    return (
        tickets.filter(**filters)
        .select_related("organization", "requester", "assignee")
        .order_by(*SORTS.get(sort, SORTS["updated"])[1])
    )


def queue_counts(user: User) -> dict[str, int]:
    """Sidebar counts for the queues that need attention (two queries)."""
    visible = tickets_visible_to(user).filter(status__in=OPEN_STATUSES)
    mine = visible.filter(assignee=user).count()
    unassigned = visible.filter(assignee__isnull=True).count()
    return {"mine": mine, "unassigned": unassigned}


def organization_recent_tickets(ticket: Ticket, *, limit: int = 5) -> list[Ticket]:
    if ticket.organization_id is None:
        others = Ticket.objects.filter(requester_id=ticket.requester_id)
    else:
        others = Ticket.objects.filter(organization_id=ticket.organization_id)
    return list(
        others.exclude(pk=ticket.pk)
        .order_by("-created_at")
        .only("number", "subject", "status", "severity", "created_at")[:limit]
    )
