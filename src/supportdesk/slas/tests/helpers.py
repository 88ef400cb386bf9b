"""Shared builders for the SLA tests: a fake clock (explicit instants), clocks by metric."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from supportdesk.slas.models import Metric, SlaClock, TicketSlaSummary
from supportdesk.tickets.models import Ticket

PT = ZoneInfo("America/Los_Angeles")
# Monday 2 March 2026, before the DST change of 8 March: PST is UTC-8.
MONDAY = dt.date(2026, 3, 2)


def pt(day_offset: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A Pacific-time instant `day_offset` days after Monday 2 March 2026, as UTC."""
    local = dt.datetime.combine(
        MONDAY + dt.timedelta(days=day_offset), dt.time(hour, minute, second)
    )
    return local.replace(tzinfo=PT).astimezone(dt.UTC)


def clock(ticket: Ticket, metric: str = Metric.FIRST_RESPONSE) -> SlaClock:
    return SlaClock.objects.filter(ticket=ticket, metric=metric).order_by("-id").first()  # type: ignore[return-value]


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def summary(ticket: Ticket) -> TicketSlaSummary:
    """The ticket's SLA summary as stored now."""
    return TicketSlaSummary.objects.get(pk=ticket.pk)
