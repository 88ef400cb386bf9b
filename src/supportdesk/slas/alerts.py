"""Telling people (and machines) about SLA warnings and breaches, once per target and cycle.

Who hears about it:
* a warning goes to the assignee (to the leads when nobody is assigned);
* a breach goes to the assignee and is escalated to every lead;
* Sev 1 on a 24×7 target goes to the on-call person as well, at once, whatever the hour.

Quiet hours: a notification for someone outside their working hours (`User.work_days`,
`work_starts`, `work_ends`, in their own time zone) waits until their next working hour
(`notify(deliver_after=…)`); it is in their console inbox at once either way. Every notification
has a dedupe key (clock, cycle, kind, recipient), so two workers sweeping at once send one."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django.urls import reverse

from supportdesk.accounts.models import WORK_DAYS, Role, User
from supportdesk.notifications.services import notify
from supportdesk.sla import BusinessCalendar, WeeklyHours, clock_for
from supportdesk.slas.models import Calendar, Metric, SlaClock, SlaClockEvent
from supportdesk.slas.policies import on_call_at
from supportdesk.tickets.models import Severity, Ticket
from supportdesk.tickets.payloads import ticket_data
from supportdesk.webhooks.services import webhook_event_emit


@lru_cache(maxsize=512)
def _working_calendar(zone: str, days: str, starts: dt.time, ends: dt.time) -> BusinessCalendar:
    chosen = {d.strip().lower() for d in days.split(",") if d.strip()}
    span = f"{starts:%H:%M}-{'24:00' if ends == dt.time(0, 0) else f'{ends:%H:%M}'}"
    hours = WeeklyHours.of({day: [span] for day in WORK_DAYS if day in chosen})
    return BusinessCalendar(timezone=zone, hours=hours)


def working_hours_resume(user: User, now: dt.datetime) -> dt.datetime | None:
    """None when `user` is at work at `now`; otherwise the start of their next working hours."""
    if not user.work_days.strip() or user.work_ends == user.work_starts:
        return None  # no hours set: always reachable
    clock = clock_for(
        _working_calendar(user.timezone, user.work_days, user.work_starts, user.work_ends)
    )
    if clock.is_business_time(now):
        return None
    upcoming = clock.working_intervals(now, now + dt.timedelta(days=8))
    return upcoming[0][0] if upcoming else None


def _leads() -> list[User]:
    return list(User.objects.filter(role=Role.LEAD, is_active=True).order_by("pk"))


def _describe(clock: SlaClock) -> str:
    return dict(Metric.choices)[clock.metric]


def clock_alert(*, ticket: Ticket, clock: SlaClock, kind: str, now: dt.datetime) -> None:
    """Notify and emit the webhook for one warning or breach. Called once per clock and cycle by
    `ticket_sla_evaluate` (with the ticket locked); the dedupe keys make a repeat harmless."""
    what = _describe(clock)
    due = clock.due_at
    due_text = due.astimezone(dt.UTC).strftime("%a %d %b %H:%M UTC") if due else "—"
    if kind == "breached":
        title = f"SLA breached: #{ticket.number} {what} was due {due_text}"
    else:
        title = f"SLA warning: #{ticket.number} {what} is due {due_text}"
    url = reverse("console:ticket", args=[ticket.number])
    body = f"{ticket.subject}\nSeverity {ticket.severity} · {what} · due {due_text}"

    urgent = (
        ticket.severity == Severity.SEV1
        and clock.calendar_id is not None
        and Calendar.objects.filter(pk=clock.calendar_id, is_24x7=True).exists()
    )
    recipients: list[tuple[User, str, bool]] = []  # (user, notification kind, waits for hours)
    assignee = ticket.assignee if ticket.assignee and ticket.assignee.is_active else None
    if assignee is not None:
        recipients.append((assignee, f"sla.{kind}", True))
    if kind == "breached" or assignee is None:
        # A breach is escalated to the leads; an unassigned ticket's warning goes to them too.
        lead_kind = "sla.escalated" if kind == "breached" else f"sla.{kind}"
        recipients.extend((lead, lead_kind, True) for lead in _leads())
    if urgent:
        on_call = on_call_at(now)
        if on_call is not None:
            recipients.append((on_call, f"sla.{kind}", False))
    sent: set[int] = set()
    for user, notification_kind, quiet in recipients:
        if user.pk in sent:
            continue
        sent.add(user.pk)
        # Sev 1 on a 24×7 target is not held for anyone: it is urgent around the clock.
        wait = working_hours_resume(user, now) if quiet and not urgent else None
        notify(
            recipient=user,
            kind=notification_kind,
            title=title,
            body=body,
            url=url,
            ticket=ticket,
            dedupe_key=f"sla:{clock.pk}:{clock.cycle}:{kind}:{user.pk}",
            deliver_after=wait,
            now=now,
        )
    if kind == "breached" and any(k == "sla.escalated" for _u, k, _q in recipients):
        SlaClockEvent.objects.create(
            clock=clock,
            kind=SlaClockEvent.Kind.ESCALATED,
            at=now,
            detail="Escalated to " + ", ".join(u.display_name for u in _leads()),
            due_after=clock.due_at,
        )
    webhook_event_emit(
        event_type=f"sla.{kind}",
        data={
            "ticket": ticket_data(ticket),
            "clock": {
                "metric": clock.metric,
                "cycle": clock.cycle,
                "started_at": clock.started_at,
                "due_at": clock.due_at,
                "warn_at": clock.warn_at,
                "breached_at": clock.breached_at,
                "target_seconds": clock.target_seconds,
            },
        },
        organization=ticket.organization,
        staff_only=True,
        summary=title,
        now=now,
    )
