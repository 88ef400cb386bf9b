"""Read-side queries for queues and the ticket page: fixed query counts, index-friendly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from supportdesk.accounts.models import User
from supportdesk.tickets.access import tickets_visible_to
from supportdesk.tickets.models import Status, Ticket


@dataclass(frozen=True)
class Queue:
    key: str
    title: str

    def filter(self, user: User) -> Q:
        match self.key:
            case "mine":
                return Q(assignee=user, is_open=True)
            case "unassigned":
                return Q(assignee__isnull=True, is_open=True)
            case "open":
                return Q(is_open=True)
            case "waiting":
                return Q(status=Status.WAITING_ON_CUSTOMER)
            case "engineering":
                return Q(status=Status.WAITING_ON_US)
            case "solved":
                return Q(is_open=False)
            case "at_risk":
                # SLA clocks warned or breached, or due within the window: the tickets' SLA
                # summaries (`slas.TicketSlaSummary`), read in due order from its (is_open, due)
                # index.
                soon = timezone.now() + AT_RISK_WINDOW
                return Q(sla_summary__is_open=True) & (
                    Q(sla_summary__state__in=["warning", "breached"])
                    | Q(sla_summary__due_at__lte=soon)
                )
            case _:
                return Q()


AT_RISK_WINDOW = dt.timedelta(hours=4)

QUEUES = {
    q.key: q
    for q in (
        Queue("mine", "Mine"),
        Queue("at_risk", "At risk (SLA)"),
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
    "sla": ("SLA due", (F("sla_summary__due_at").asc(nulls_last=True), "id")),
}
# Queues whose natural order is not "last updated".
DEFAULT_SORTS = {"at_risk": "sla"}


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
    # prefetch, not select_related: joins in the page query lead the planners (SQLite especially)
    # away from the ordered index scan into a full sort.
    return (
        tickets.filter(**filters)
        .prefetch_related("organization", "requester", "assignee", "sla_summary")
        .order_by(*SORTS.get(sort, SORTS["updated"])[1])
    )


SIDEBAR_COUNT_CAP = 999


def queue_counts(user: User) -> dict[str, int]:
    """Sidebar counts for the queues that need attention (two queries, each stopping at the cap:
    the sidebar shows "999+" rather than paying for an exact count on every page)."""
    visible = tickets_visible_to(user).filter(is_open=True).order_by()
    cap = SIDEBAR_COUNT_CAP + 1
    return {
        "mine": visible.filter(assignee=user)[:cap].count(),
        "unassigned": visible.filter(assignee__isnull=True)[:cap].count(),
    }


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
