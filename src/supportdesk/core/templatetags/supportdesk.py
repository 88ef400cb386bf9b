from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from supportdesk.tickets.models import Status

register = template.Library()

_STATUS_TONE: dict[str, str] = {
    Status.NEW: "info",
    Status.OPEN: "accent",
    Status.WAITING_ON_CUSTOMER: "muted",
    Status.WAITING_ON_US: "warn",
    Status.SOLVED: "ok",
    Status.CLOSED: "muted",
}


@register.simple_tag
def status_badge(ticket_or_status: object) -> SafeString:
    status = getattr(ticket_or_status, "status", ticket_or_status)
    label = Status(status).label if status in Status.values else str(status)
    return format_html(
        '<span class="badge badge-{}">{}</span>', _STATUS_TONE.get(str(status), "muted"), label
    )


@register.simple_tag
def severity_badge(severity: int) -> SafeString:
    return format_html(
        '<span class="badge sev sev-{}" title="Severity {}">Sev {}</span>',
        severity,
        severity,
        severity,
    )


@register.filter
def when(value: dt.datetime | None) -> str:
    """Tue 27 Nov 2026, 14:05 PST: in the viewer's own zone, with the zone named."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return local.strftime("%a %d %b %Y, %H:%M %Z")


@register.filter
def iso(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat() if value else ""


@register.filter
def filesize(value: int) -> str:
    size = float(value)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@register.filter
def initials(user: object) -> str:
    name = getattr(user, "display_name", "") or "?"
    parts = [p for p in str(name).replace(".", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


@register.simple_tag
def severity_definition(value: object) -> str:
    from supportdesk.tickets.models import SEVERITY_DEFINITIONS

    try:
        return SEVERITY_DEFINITIONS[int(str(value))]
    except (KeyError, ValueError):
        return ""


@register.filter
def event_value(value: str, kind: str) -> str:
    """An audit value as people read it: labels instead of codes, times in the viewer's zone."""
    from supportdesk.tickets.models import ResolutionKind, TicketEvent

    if not value or kind in (TicketEvent.Kind.REPLIED, TicketEvent.Kind.NOTE_ADDED):
        return ""
    if kind == TicketEvent.Kind.STATUS and value in Status.values:
        return str(Status(value).label)
    if kind == TicketEvent.Kind.RESOLUTION and value in ResolutionKind.values:
        return str(ResolutionKind(value).label)
    if kind == TicketEvent.Kind.SEVERITY and value.isdigit():
        return f"Sev {value}"
    if kind == TicketEvent.Kind.REPORTED_AT:
        try:
            return when(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    return value
