"""What people see of SLA clocks: the ticket panel, the queue badge, the customer's promise, and
`sla explain`. Read-only; times are shown in the viewer's zone with the zone named."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from supportdesk.sla import BusinessClock, format_duration
from supportdesk.slas import engine
from supportdesk.slas.models import (
    Calendar,
    ClockState,
    Metric,
    SlaClock,
    SlaClockEvent,
    TicketSla,
    TicketSlaSummary,
)
from supportdesk.tickets.models import Message, Ticket

STATE_TONE = {
    "breached": "bad",
    "warning": "warn",
    "running": "ok",
    "paused": "muted",
    "met": "info",
    ClockState.CANCELLED: "muted",
}


def ticket_sla_summary(ticket: Ticket) -> TicketSlaSummary | None:
    """The ticket's stored SLA summary (the queue prefetches it), or None when it has none (a
    ticket that never went through the ticket services, such as bulk-loaded data)."""
    try:
        return ticket.sla_summary
    except TicketSlaSummary.DoesNotExist:
        return None


def business_left(clock: BusinessClock | None, now: dt.datetime, due: dt.datetime) -> int:
    """Business seconds from now until `due` (0 when due has passed)."""
    if due <= now:
        return 0
    if clock is None:
        return int((due - now).total_seconds())
    return clock.elapsed(now, due)


def short_duration(seconds: int, *, days: bool = False) -> str:
    """`3h 20m` / `45m` / `52h`: compact for a badge. Business time stays in hours (a business
    day is not 24 h); real time (how long overdue) may say `4d 3h`."""
    minutes = max(0, seconds) // 60
    hours, minutes = divmod(minutes, 60)
    if days and hours >= 48:
        return f"{hours // 24}d {hours % 24}h"
    if hours >= 48:
        return f"{hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


@dataclass(frozen=True)
class Badge:
    state: str
    tone: str
    text: str
    title: str


def badge(
    *,
    state: str,
    due_at: dt.datetime | None,
    calendar_clock: BusinessClock | None,
    now: dt.datetime,
) -> Badge | None:
    if not state:
        return None
    if state == "met":
        return Badge(state, "info", "SLA met", "Every SLA target on this ticket is met")
    if state == "paused":
        return Badge(state, "muted", "paused", "The SLA clock is paused (waiting on the customer)")
    if due_at is None:
        return None
    when = timezone.localtime(due_at).strftime("%a %d %b, %H:%M %Z")
    if due_at <= now:
        late = short_duration(int((now - due_at).total_seconds()), days=True)
        return Badge("breached", "bad", f"{late} overdue", f"Was due {when}")
    left = short_duration(business_left(calendar_clock, now, due_at))
    return Badge(state, STATE_TONE.get(state, "ok"), f"{left} left", f"Due {when} (business time)")


@dataclass
class ClockView:
    clock: SlaClock
    label: str
    tone: str
    state_label: str
    left: str
    pauses: list[tuple[dt.datetime, dt.datetime | None]]
    events: list[SlaClockEvent] = field(default_factory=list)
    calendar: Calendar | None = None


def clock_views(ticket: Ticket, *, now: dt.datetime | None = None) -> list[ClockView]:
    now = now or timezone.now()
    clocks = list(
        SlaClock.objects.filter(ticket=ticket)
        .select_related("calendar", "message", "policy")
        .prefetch_related(
            Prefetch("events", queryset=SlaClockEvent.objects.select_related("actor"))
        )
        .order_by("metric", "id")
    )
    order: dict[str, int] = {"first_response": 0, "next_reply": 1, "resolution": 2}
    clocks.sort(key=lambda c: (order.get(c.metric, 3), c.id))
    engine_clocks = engine.calendar_clocks({c.calendar_id for c in clocks if c.calendar_id})
    views = []
    for c in clocks:
        label = dict(Metric.choices)[c.metric]
        if c.metric in (Metric.NEXT_REPLY, Metric.COMMITMENT):
            label += f" #{c.cycle}"
        state = c.state
        if state == ClockState.RUNNING and c.warned_cycle >= c.cycle:
            state = "warning"
        left = ""
        if c.met_at is None and c.due_at is not None and c.state != ClockState.CANCELLED:
            if c.due_at > now:
                cal = engine_clocks.get(c.calendar_id) if c.calendar_id else None
                left = short_duration(business_left(cal, now, c.due_at)) + " left"
            else:
                left = short_duration(int((now - c.due_at).total_seconds()), days=True)
                left += " overdue"
        views.append(
            ClockView(
                clock=c,
                label=label,
                tone=STATE_TONE.get(state, "muted"),
                state_label=ClockState(c.state).label if state != "warning" else "At risk",
                left=left,
                pauses=c.pause_list(),
                events=list(c.events.all()),
                calendar=c.calendar,
            )
        )
    return views


def ticket_sla(ticket: Ticket) -> TicketSla | None:
    return TicketSla.objects.filter(ticket=ticket).select_related("policy").first()


def ticket_panel(ticket: Ticket, *, now: dt.datetime | None = None) -> dict[str, Any]:
    return {"choice": ticket_sla(ticket), "clocks": clock_views(ticket, now=now)}


# ---------------------------------------------------------------------------------------------
# The customer's view


def _calendar_words(calendar: Calendar | None) -> str:
    if calendar is None:
        return ""
    return "around the clock" if calendar.is_24x7 else "business hours"


@dataclass(frozen=True)
class Promise:
    text: str
    due_at: dt.datetime | None
    detail: str


def _local(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def customer_promise(ticket: Ticket, *, zone: zoneinfo.ZoneInfo) -> dict[str, Any]:
    """What we promised this customer, in their own zone: the SLA target that runs now, and the
    expectation set in our last reply. Never internal detail (no breach talk, no policy reasons
    beyond the policy's name)."""
    clocks = list(
        SlaClock.objects.filter(ticket=ticket)
        .exclude(state=ClockState.CANCELLED)
        .select_related("calendar", "policy", "message")
        .order_by("id")
    )
    sla = ticket_sla(ticket)
    promise: Promise | None = None
    severity = f"Sev {ticket.severity}"
    for metric, verb in ((Metric.FIRST_RESPONSE, "respond"), (Metric.RESOLUTION, "resolve")):
        c = next((x for x in reversed(clocks) if x.metric == metric), None)
        if c is None or c.met_at is not None:
            continue
        policy = ""
        if c.policy is not None:  # "self-hosted", "managed instance", or the contract's name
            contract = c.policy.kind == c.policy.Kind.CONTRACT
            policy = c.policy.name if contract else c.policy.name.lower()
        detail = ", ".join(p for p in (severity, policy, _calendar_words(c.calendar)) if p)
        if c.state == ClockState.PAUSED or c.due_at is None:
            promise = Promise(
                "The resolution clock is paused while we wait for your reply", None, detail
            )
        else:
            words = "resolve this or give you a workaround" if verb == "resolve" else verb
            promise = Promise(f"We will {words} by {_local(c.due_at, zone)}", c.due_at, detail)
        break
    commitment = next(
        (x for x in reversed(clocks) if x.metric == Metric.COMMITMENT and x.met_at is None), None
    )
    last_reply = (
        Message.objects.filter(
            ticket=ticket,
            kind=Message.Kind.REPLY,
            is_automatic=False,
            author__role__in=["agent", "lead"],
        )
        .exclude(expectations_part="")
        .order_by("-created_at", "-id")
        .first()
    )
    return {
        "promise": promise,
        "no_sla": sla is not None and sla.policy is None,
        "next_update": _local(commitment.due_at, zone) if commitment and commitment.due_at else "",
        "expectation": last_reply.expectations_part if last_reply else "",
        "expectation_at": last_reply.created_at if last_reply else None,
    }


# ---------------------------------------------------------------------------------------------
# `supportdesk sla explain`


def explain(ticket: Ticket, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything about a ticket's SLA as plain data (the command prints it or dumps JSON)."""
    now = now or timezone.now()
    sla = ticket_sla(ticket)
    summary = ticket_sla_summary(ticket)
    views = clock_views(ticket, now=now)
    calendars: dict[int, Calendar] = {v.calendar.pk: v.calendar for v in views if v.calendar}

    def iso(value: dt.datetime | None) -> str | None:
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None

    return {
        "ticket": ticket.number,
        "subject": ticket.subject,
        "severity": ticket.severity,
        "status": ticket.status,
        "status_label": ticket.get_status_display(),
        "organization": ticket.organization.name if ticket.organization else None,
        "reported_at": iso(ticket.reported_at),
        "policy": sla.policy.name if sla and sla.policy else None,
        "rule": sla.rule if sla else None,
        "why": sla.reason if sla else "Not evaluated yet",
        "calendars": [
            {
                "name": cal.name,
                "is_24x7": cal.is_24x7,
                "versions": [
                    {"effective_from": iso(v.effective_from), "note": v.note, "toml": v.toml}
                    for v in cal.versions.order_by("id")
                ],
            }
            for cal in calendars.values()
        ],
        "targets": [
            {
                "metric": v.clock.metric,
                "label": v.label,
                "state": v.clock.state,
                "warned": v.clock.warned_cycle >= v.clock.cycle,
                "calendar": v.calendar.name if v.calendar else None,
                "target": format_duration(v.clock.target_seconds)
                if v.clock.target_seconds
                else None,
                "start": iso(v.clock.started_at),
                "pauses": [[iso(b), iso(e)] for b, e in v.pauses],
                "due": iso(v.clock.due_at),
                "warn": iso(v.clock.warn_at),
                "met": iso(v.clock.met_at),
                "breached": iso(v.clock.breached_at),
                "business_time_used": format_duration(v.clock.business_seconds)
                if v.clock.business_seconds is not None
                else None,
                "left": v.left,
                "cycle": v.clock.cycle,
            }
            for v in views
        ],
        "next_event": iso(summary.next_event_at if summary else None),
        "timeline": sorted(
            (
                {
                    "at": iso(e.at),
                    "target": v.label,
                    "event": e.kind,
                    "detail": e.detail,
                    "due_before": iso(e.due_before),
                    "due_after": iso(e.due_after),
                }
                for v in views
                for e in v.events
            ),
            key=lambda row: (row["at"] or "", row["target"]),
        ),
    }
