"""`{% sla_badge ticket %}`: the queue's SLA badge (time left in business time, colour by state).

Reads only the ticket's SLA summary (`ticket.sla_summary`, which the queue prefetches in one
query) plus the calendars, which are loaded once per request, so a queue page's query count does
not grow with its rows."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from supportdesk.sla import BusinessClock
from supportdesk.slas import engine
from supportdesk.slas.selectors import badge, ticket_sla_summary

register = template.Library()


def _clocks(context: template.Context) -> dict[int, BusinessClock]:
    request = context.get("request")
    cached: dict[int, BusinessClock] | None = getattr(request, "_sla_calendar_clocks", None)
    if cached is None:
        cached = engine.calendar_clocks()
        if request is not None:
            request._sla_calendar_clocks = cached
    return cached


@register.simple_tag(takes_context=True)
def sla_badge(context: template.Context, ticket: Any) -> SafeString:
    summary = ticket_sla_summary(ticket)
    if summary is None or not summary.state:
        return format_html('<span class="muted" title="{}">—</span>', "No SLA clock")
    calendar = None
    if summary.calendar_id and summary.due_at:
        calendar = _clocks(context).get(summary.calendar_id)
    shown = badge(
        state=summary.state,
        due_at=summary.due_at,
        calendar_clock=calendar,
        now=timezone.now(),
    )
    if shown is None:
        return format_html('<span class="muted">—</span>')
    return format_html(
        '<span class="badge badge-{} sla-badge" title="{}" data-sla-state="{}">{}</span>',
        shown.tone,
        shown.title,
        shown.state,
        shown.text,
    )


@register.filter
def sla_hours(seconds: int | None) -> str:
    """A target as people say it: `24 business h` is written `24 h`, `90 min`, `1 h 30 min`."""
    if seconds is None:
        return "—"
    hours, rest = divmod(int(seconds), 3600)
    minutes = rest // 60
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"  # 0 → "0 min"
