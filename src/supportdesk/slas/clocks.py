"""SLA clocks on tickets: started, paused, resumed, met, warned, breached, recomputed.

`sla_ticket_changed` is the one entry point from the ticket services (via
`tickets.effects.ticket_changed`); it runs inside their transaction, with the ticket row locked.
`ticket_sla_evaluate` records what is due (warnings, breaches) and is what the periodic sweep calls
for every ticket whose next SLA event (`TicketSlaSummary.next_event_at`) has passed. Everything is
written with the instant the caller passes as `now`, so tests drive it with a fake clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from supportdesk.accounts.models import User
from supportdesk.sla import BusinessClock
from supportdesk.slas import engine
from supportdesk.slas.models import (
    ClockState,
    Metric,
    SlaClock,
    SlaClockEvent,
    SlaPolicy,
    SlaTarget,
    TicketSla,
    TicketSlaSummary,
)
from supportdesk.slas.policies import PolicyChoice, policy_for, policy_targets
from supportdesk.tickets.models import OPEN_STATUSES, Message, Status, Ticket, TicketEvent

# Statuses in which the resolution clock does not run (SPEC §3): waiting on the customer, and
# solved (or closed) until a reopen.
RESOLUTION_PAUSED = (Status.WAITING_ON_CUSTOMER, Status.SOLVED, Status.CLOSED)
RESOLVED = (Status.SOLVED, Status.CLOSED)
# Commitments have no policy: warn this long before the promised instant (or at 75 % of the span
# when that is shorter).
COMMITMENT_WARNING = dt.timedelta(minutes=60)


def _epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


def _instant(epoch: int | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)


# ---------------------------------------------------------------------------------------------
# Arithmetic for one clock


def warn_instant(
    clock: BusinessClock,
    *,
    start: int,
    target: int,
    pauses: Sequence[tuple[int, int | None]],
    percent: int,
    minutes_before: int,
) -> int | None:
    """The earlier of the configured warning points, in epoch seconds (None: no warning)."""
    budgets = []
    if percent:
        budgets.append(target * percent // 100)
    if minutes_before and minutes_before * 60 < target:
        budgets.append(target - minutes_before * 60)
    points = [clock.due_epoch(start, b, pauses) for b in budgets if b > 0]
    found = [p for p in points if p is not None]
    return min(found) if found else None


def compute(sla_clock: SlaClock, clocks: dict[int, BusinessClock]) -> None:
    """Recompute `due_at`, `warn_at` from start, target and pauses (in place, not saved)."""
    if sla_clock.metric == Metric.COMMITMENT:
        due = sla_clock.due_at
        if due is not None:
            span = due - sla_clock.started_at
            lead = min(COMMITMENT_WARNING, span / 4)
            sla_clock.warn_at = due - lead if lead.total_seconds() >= 60 else None
        return
    if sla_clock.target_seconds is None or sla_clock.calendar_id is None:
        sla_clock.due_at = sla_clock.warn_at = None
        return
    business = clocks[sla_clock.calendar_id]
    pauses = [(int(b), None if e is None else int(e)) for b, e in sla_clock.pauses]
    start = _epoch(sla_clock.started_at)
    sla_clock.due_at = _instant(business.due_epoch(start, sla_clock.target_seconds, pauses))
    policy = sla_clock.policy
    sla_clock.warn_at = (
        _instant(
            warn_instant(
                business,
                start=start,
                target=sla_clock.target_seconds,
                pauses=pauses,
                percent=policy.warn_at_percent if policy else 75,
                minutes_before=policy.warn_minutes_before if policy else 60,
            )
        )
        if sla_clock.due_at is not None
        else None
    )


def settle(sla_clock: SlaClock) -> None:
    """State and next event from the clock's facts (in place, not saved)."""
    if sla_clock.state != ClockState.CANCELLED:
        if sla_clock.breached_at is not None:
            sla_clock.state = ClockState.BREACHED
        elif sla_clock.met_at is not None:
            sla_clock.state = ClockState.MET
        elif sla_clock.pauses and sla_clock.pauses[-1][1] is None:
            sla_clock.state = ClockState.PAUSED
        else:
            sla_clock.state = ClockState.RUNNING
    sla_clock.next_event_at = next_event(sla_clock)


def next_event(c: SlaClock) -> dt.datetime | None:
    if c.state == ClockState.CANCELLED or c.met_at is not None or c.breached_at is not None:
        return None
    if c.due_at is None:
        return None
    if c.warn_at is not None and c.warned_cycle < c.cycle and c.warn_at < c.due_at:
        return c.warn_at
    return c.due_at


# The ticket's summary (next event, earliest unmet due, state for the badge), vectorised so the
# bulk recompute and a single ticket use the same code.
STATE_RANK = {"": 0, "met": 1, "paused": 2, "running": 3, "warning": 4, "breached": 5}
RANK_STATE = {v: k for k, v in STATE_RANK.items()}
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Summary:
    next_event_at: dt.datetime | None
    due_at: dt.datetime | None
    state: str
    calendar_id: int | None


def clock_rank(*, cancelled: bool, met: bool, breached: bool, paused: bool, warned: bool) -> int:
    if cancelled:
        return 0
    if breached and not met:
        return STATE_RANK["breached"]
    if met:
        return STATE_RANK["met"]
    if paused:
        return STATE_RANK["paused"]
    return STATE_RANK["warning"] if warned else STATE_RANK["running"]


def summarise(clocks: Iterable[SlaClock], now: dt.datetime) -> Summary:
    rows = list(clocks)
    if not rows:
        return Summary(None, None, "", None)
    events = [c.next_event_at for c in rows if c.next_event_at is not None]
    unmet = [
        c
        for c in rows
        if c.state != ClockState.CANCELLED and c.met_at is None and c.due_at is not None
    ]
    soonest = min(unmet, key=lambda c: c.due_at or now) if unmet else None
    rank = max(
        clock_rank(
            cancelled=c.state == ClockState.CANCELLED,
            met=c.met_at is not None,
            breached=c.breached_at is not None,
            paused=c.state == ClockState.PAUSED,
            warned=c.warned_cycle >= c.cycle or (c.warn_at is not None and c.warn_at <= now),
        )
        for c in rows
    )
    return Summary(
        min(events) if events else None,
        soonest.due_at if soonest else None,
        RANK_STATE[rank],
        soonest.calendar_id if soonest else None,
    )


def _write_summary(
    ticket: Ticket,
    now: dt.datetime,
    clocks: list[SlaClock] | None = None,
    *,
    new: bool = False,
) -> None:
    """Store the ticket's summary (one row in `slas_ticketslasummary`), unless it is unchanged.
    `clocks`: all of the ticket's clocks when the caller has just read them; `new`: the ticket was
    created in this transaction (it has no summary yet)."""
    if clocks is None:
        clocks = list(SlaClock.objects.filter(ticket=ticket))
    s = summarise(clocks, now)
    fields = {
        # From the status, not `ticket.is_open`: the database computes that, after the save.
        "is_open": ticket.status in OPEN_STATUSES,
        "next_event_at": s.next_event_at,
        "due_at": s.due_at,
        "state": s.state,
        "calendar_id": s.calendar_id,
    }
    stored = None if new else TicketSlaSummary.objects.filter(pk=ticket.pk).first()
    if stored is None:
        stored = TicketSlaSummary.objects.create(ticket=ticket, **fields)
    elif any(getattr(stored, name) != value for name, value in fields.items()):
        for name, value in fields.items():
            setattr(stored, name, value)
        stored.save(update_fields=list(fields))
    # Keep the cached relation current for callers that go on reading it.
    ticket.sla_summary = stored


# ---------------------------------------------------------------------------------------------
# History


def _log(
    c: SlaClock,
    kind: str,
    at: dt.datetime,
    detail: str = "",
    *,
    due_before: dt.datetime | None = None,
    actor: User | None = None,
) -> None:
    SlaClockEvent.objects.create(
        clock=c,
        kind=kind,
        at=at,
        detail=detail[:300],
        due_before=due_before,
        due_after=c.due_at,
        actor=actor,
    )


# ---------------------------------------------------------------------------------------------
# Reacting to ticket changes


def sla_ticket_changed(
    ticket: Ticket,
    *,
    actor: User | None,
    at: dt.datetime,
    created: bool,
    message: Message | None,
    changed: frozenset[str],
    old_status: str | None,
    next_update_by: dt.datetime | None = None,
) -> None:
    """The SLA side of a ticket change (called once per change, inside its transaction)."""
    if created:
        # A new ticket's clocks are the ones just started: no need to read them back.
        opened = _sync(ticket, at, actor, reason="Ticket opened", new=True)
        ticket_sla_evaluate(ticket, now=at, new=True, clocks=opened)
        return
    else:
        if changed & {"severity", "reported_at"}:
            what = " and ".join(
                label
                for field, label in (("severity", "severity"), ("reported_at", "reported-at"))
                if field in changed
            )
            _sync(ticket, at, actor, reason=f"The {what} changed")
        if message is not None:
            _message(ticket, message, at, actor)
        if "status" in changed and old_status is not None:
            _status(ticket, old_status, ticket.status, at, actor)
        if next_update_by is not None and message is not None:
            commitment_set(ticket=ticket, message=message, due_at=next_update_by, now=at)
            return  # evaluated there
    ticket_sla_evaluate(ticket, now=at)


def _clocks(ticket: Ticket) -> list[SlaClock]:
    return list(SlaClock.objects.filter(ticket=ticket).select_related("policy"))


def _latest(clocks: list[SlaClock], metric: str) -> SlaClock | None:
    found = [c for c in clocks if c.metric == metric]
    return found[-1] if found else None


def _save(c: SlaClock, now: dt.datetime) -> None:
    settle(c)
    c.updated_at = now
    c.save()


def _is_agent_reply(message: Message) -> bool:
    author = message.author
    return (
        message.kind == Message.Kind.REPLY
        and not message.is_automatic
        and author is not None
        and author.is_agent
    )


def _first_agent_reply(ticket: Ticket) -> Message | None:
    first = ticket.messages.order_by("created_at", "id").first()
    replies = ticket.messages.filter(kind=Message.Kind.REPLY, is_automatic=False).select_related(
        "author"
    )
    for m in replies.order_by("created_at", "id"):
        if first is not None and m.pk == first.pk:
            continue
        if _is_agent_reply(m):
            return m
    return None


def _status_pauses(ticket: Ticket) -> list[list[int | None]]:
    """Resolution pauses rebuilt from the audit trail (for a clock created after the fact)."""
    pauses: list[list[int | None]] = []
    for event in ticket.events.filter(kind=TicketEvent.Kind.STATUS).order_by("created_at", "id"):
        paused = event.new_value in RESOLUTION_PAUSED
        open_pause = bool(pauses) and pauses[-1][1] is None
        if paused and not open_pause:
            pauses.append([_epoch(event.created_at), None])
        elif not paused and open_pause:
            pauses[-1][1] = _epoch(event.created_at)
    return pauses


def _resolved_at(ticket: Ticket) -> dt.datetime | None:
    if ticket.status in RESOLVED:
        return ticket.solved_at or ticket.closed_at
    return None


def _sync(
    ticket: Ticket, now: dt.datetime, actor: User | None, *, reason: str, new: bool = False
) -> list[SlaClock]:
    """Bring the ticket's policy and its target clocks in line with the rule, recomputing every
    clock from the original start with the pauses so far (SPEC §3: a change can breach at once).
    `new`: the ticket was created in this transaction, so it has no policy choice or clocks yet
    (nothing to read). Returns the clocks it started (for a new ticket: all of its clocks)."""
    choice = policy_for(ticket)
    _record_choice(ticket, choice, now, new=new)
    targets = policy_targets(choice.policy)
    clocks = [] if new else _clocks(ticket)
    engine_clocks = engine.calendar_clocks({t.calendar_id for t in targets.values()})
    started: list[SlaClock] = []
    for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION, Metric.NEXT_REPLY):
        target = targets.get((ticket.severity, metric))
        existing = _latest(clocks, metric)
        if metric == Metric.NEXT_REPLY:
            # Next-reply clocks start with a customer's message; here only re-target a running one.
            if existing is not None and existing.met_at is None:
                _retarget(
                    existing, target, choice.policy, ticket, now, actor, reason, engine_clocks
                )
            continue
        if existing is None:
            if target is not None:
                started.append(
                    _create(
                        ticket,
                        metric,
                        target,
                        choice.policy,
                        now,
                        actor,
                        reason,
                        engine_clocks,
                        new=new,
                    )
                )
            continue
        _retarget(existing, target, choice.policy, ticket, now, actor, reason, engine_clocks)
    return started


def _record_choice(
    ticket: Ticket, choice: PolicyChoice, now: dt.datetime, *, new: bool = False
) -> None:
    fields = {
        "policy": choice.policy,
        "rule": choice.rule,
        "reason": choice.reason,
        "decided_at": now,
    }
    if new:
        TicketSla.objects.create(ticket=ticket, **fields)
    else:
        TicketSla.objects.update_or_create(ticket=ticket, defaults=fields)


def _create(
    ticket: Ticket,
    metric: str,
    target: SlaTarget,
    policy: SlaPolicy | None,
    now: dt.datetime,
    actor: User | None,
    reason: str,
    engine_clocks: dict[int, BusinessClock],
    *,
    new: bool = False,
) -> SlaClock:
    """Start a clock. `new`: the ticket was just opened (its only message is the opening one, no
    status change yet, not resolved), so there is no history to read."""
    c = SlaClock(
        ticket=ticket,
        metric=metric,
        policy=policy,
        calendar_id=target.calendar_id,
        target_seconds=target.target_seconds,
        started_at=ticket.reported_at,
        updated_at=now,
    )
    if new:
        pass  # nothing to look up: met_at, pauses stay empty
    elif metric == Metric.FIRST_RESPONSE:
        reply = _first_agent_reply(ticket)
        if reply is not None:
            c.met_at = reply.created_at
    elif metric == Metric.RESOLUTION:
        c.pauses = _status_pauses(ticket)
        c.met_at = _resolved_at(ticket)
    compute(c, engine_clocks)
    _judge_met(c, engine_clocks)
    _save(c, now)
    _log(c, SlaClockEvent.Kind.STARTED, now, f"{reason}: {_describe_target(target)}", actor=actor)
    return c


def _describe_target(target: SlaTarget) -> str:
    hours = target.target_seconds / 3600
    amount = f"{hours:g} h" if hours == int(hours) else f"{target.target_seconds // 60} min"
    return f"{amount} on {target.calendar.name}"


def _retarget(
    c: SlaClock,
    target: SlaTarget | None,
    policy: SlaPolicy | None,
    ticket: Ticket,
    now: dt.datetime,
    actor: User | None,
    reason: str,
    engine_clocks: dict[int, BusinessClock],
) -> None:
    before = c.due_at
    if target is None:
        if c.state != ClockState.CANCELLED:
            c.state = ClockState.CANCELLED
            c.due_at = c.warn_at = None
            _save(c, now)
            _log(
                c,
                SlaClockEvent.Kind.CANCELLED,
                now,
                f"{reason}: no target any more",
                due_before=before,
                actor=actor,
            )
        return
    revived = c.state == ClockState.CANCELLED
    if revived:
        c.state = ClockState.RUNNING
    c.policy = policy
    c.calendar_id = target.calendar_id
    c.target_seconds = target.target_seconds
    if c.metric != Metric.NEXT_REPLY:
        c.started_at = ticket.reported_at
    compute(c, engine_clocks)
    _judge_met(c, engine_clocks)
    _save(c, now)
    _log(
        c,
        SlaClockEvent.Kind.RECOMPUTED,
        now,
        f"{reason}: {_describe_target(target)}",
        due_before=before,
        actor=actor,
    )


def _judge_met(c: SlaClock, engine_clocks: dict[int, BusinessClock]) -> None:
    """For a met clock: business time used, and a breach if it was met after its due instant."""
    if c.met_at is None:
        return
    if c.calendar_id is not None:
        pauses = [(int(b), None if e is None else int(e)) for b, e in c.pauses]
        c.business_seconds = engine_clocks[c.calendar_id].elapsed_epoch(
            _epoch(c.started_at), max(_epoch(c.started_at), _epoch(c.met_at)), pauses
        )
    if c.due_at is not None and c.met_at > c.due_at and c.breached_at is None:
        c.breached_at = c.due_at


def _message(ticket: Ticket, message: Message, now: dt.datetime, actor: User | None) -> None:
    if message.kind != Message.Kind.REPLY or message.is_automatic:
        return
    clocks = _clocks(ticket)
    if _is_agent_reply(message):
        engine_clocks = engine.calendar_clocks({c.calendar_id for c in clocks if c.calendar_id})
        for c in clocks:
            if c.met_at is not None or c.state == ClockState.CANCELLED:
                continue
            if c.metric in (Metric.FIRST_RESPONSE, Metric.NEXT_REPLY, Metric.COMMITMENT):
                c.met_at = message.created_at
                _judge_met(c, engine_clocks)
                _save(c, now)
                late = " (late)" if c.breached_at else ""
                _log(
                    c,
                    SlaClockEvent.Kind.MET,
                    now,
                    f"Public reply by {message.author}{late}",
                    actor=actor,
                )
        return
    author = message.author
    if author is not None and author.is_staff:
        return
    # A customer wrote: start a next-reply cycle, when the policy promises one and none runs.
    sla = TicketSla.objects.filter(ticket=ticket).select_related("policy").first()
    target = policy_targets(sla.policy if sla else None).get((ticket.severity, Metric.NEXT_REPLY))
    running = [
        c
        for c in clocks
        if c.metric == Metric.NEXT_REPLY and c.met_at is None and c.state != ClockState.CANCELLED
    ]
    first_response = _latest(clocks, Metric.FIRST_RESPONSE)
    if target is None or running or (first_response is not None and first_response.met_at is None):
        return
    cycle = 1 + max((c.cycle for c in clocks if c.metric == Metric.NEXT_REPLY), default=0)
    c = SlaClock(
        ticket=ticket,
        metric=Metric.NEXT_REPLY,
        policy=sla.policy if sla else None,
        calendar_id=target.calendar_id,
        target_seconds=target.target_seconds,
        started_at=message.created_at,
        cycle=cycle,
        updated_at=now,
    )
    compute(c, engine.calendar_clocks([target.calendar_id]))
    _save(c, now)
    _log(
        c,
        SlaClockEvent.Kind.STARTED,
        now,
        f"Customer replied: {_describe_target(target)}",
        actor=actor,
    )


def _status(ticket: Ticket, old: str, new: str, now: dt.datetime, actor: User | None) -> None:
    c = _latest(_clocks(ticket), Metric.RESOLUTION)
    if c is None or c.state == ClockState.CANCELLED:
        return
    engine_clocks = engine.calendar_clocks([c.calendar_id] if c.calendar_id else [])
    before = c.due_at
    t = _epoch(now)
    open_pause = bool(c.pauses) and c.pauses[-1][1] is None
    label = Status(new).label
    if new in RESOLUTION_PAUSED and not open_pause:
        c.pauses = [*c.pauses, [t, None]]
    elif new not in RESOLUTION_PAUSED and open_pause:
        c.pauses = [*c.pauses[:-1], [c.pauses[-1][0], max(t, int(c.pauses[-1][0]))]]
    if new in RESOLVED and c.met_at is None:
        c.met_at = now
        compute(c, engine_clocks)
        # Judge against the due instant as it was while running (the open pause starts now).
        running = SlaClock(
            started_at=c.started_at,
            target_seconds=c.target_seconds,
            calendar_id=c.calendar_id,
            pauses=[*c.pauses[:-1], [c.pauses[-1][0], max(t, int(c.pauses[-1][0]))]],
            metric=c.metric,
        )
        compute(running, engine_clocks)
        c.due_at = running.due_at
        _judge_met(c, engine_clocks)
        _save(c, now)
        _log(
            c,
            SlaClockEvent.Kind.MET,
            now,
            f"{label} ({ticket.get_resolution_kind_display()})",
            due_before=before,
            actor=actor,
        )
        return
    reopened = old in RESOLVED and new not in RESOLVED
    if reopened:
        c.met_at = None
        c.business_seconds = None
        c.cycle += 1
    compute(c, engine_clocks)
    _save(c, now)
    if reopened:
        kind = SlaClockEvent.Kind.REOPENED
    elif new in RESOLUTION_PAUSED:
        kind = SlaClockEvent.Kind.PAUSED
    else:
        kind = SlaClockEvent.Kind.RESUMED
    if kind == SlaClockEvent.Kind.PAUSED and open_pause:
        return  # already paused (waiting on customer → solved is logged as met above)
    _log(c, kind, now, f"Status {Status(old).label} → {label}", due_before=before, actor=actor)


# ---------------------------------------------------------------------------------------------
# Commitments (the reply composer's Expectations part)


def commitment_set(
    *, ticket: Ticket, message: Message, due_at: dt.datetime, now: dt.datetime | None = None
) -> SlaClock:
    """Track the promise made in `message` ("next update by …") like a target: met by the next
    public agent reply, warned on, breached if it passes. Call after the reply is recorded (the
    reply itself met the previous commitment)."""
    now = now or timezone.now()
    sequence = SlaClock.objects.filter(ticket=ticket, metric=Metric.COMMITMENT).count() + 1
    c = SlaClock(
        ticket=ticket,
        metric=Metric.COMMITMENT,
        started_at=message.created_at,
        due_at=due_at,
        message=message,
        cycle=sequence,
        warned_cycle=sequence - 1,
        updated_at=now,
    )
    compute(c, {})
    _save(c, now)
    _log(
        c,
        SlaClockEvent.Kind.STARTED,
        now,
        f"{message.author} promised the next update",
        actor=message.author,
    )
    ticket_sla_evaluate(ticket, now=now)
    return c


# ---------------------------------------------------------------------------------------------
# Warnings and breaches (the sweep)


def ticket_sla_evaluate(
    ticket: Ticket,
    *,
    now: dt.datetime | None = None,
    new: bool = False,
    clocks: list[SlaClock] | None = None,
) -> list[str]:
    """Record every warning and breach that is due at `now` on this ticket's clocks, notify once,
    and store the ticket's next SLA event. Call with the ticket row locked (the ticket services
    hold it; the sweep takes it); re-reads the clocks, so running it twice does nothing new.
    `new` and `clocks`: the ticket was created in this transaction (no summary stored yet) with
    these clocks."""
    from supportdesk.slas.alerts import clock_alert

    now = now or timezone.now()
    fired: list[str] = []
    if clocks is None:
        clocks = _clocks(ticket)
    for c in clocks:
        if c.state == ClockState.CANCELLED or c.met_at is not None:
            continue
        if c.breached_at is None and c.due_at is not None and c.due_at <= now:
            c.breached_at = c.due_at
            _save(c, now)
            _log(
                c,
                SlaClockEvent.Kind.BREACHED,
                now,
                "Due instant passed without a reply"
                if c.metric != Metric.RESOLUTION
                else "Due instant passed unresolved",
            )
            clock_alert(ticket=ticket, clock=c, kind="breached", now=now)
            fired.append(f"{c.metric}:breached")
        elif (
            c.breached_at is None
            and c.warn_at is not None
            and c.warn_at <= now
            and c.warned_cycle < c.cycle
        ):
            c.warned_cycle = c.cycle
            _save(c, now)
            _log(c, SlaClockEvent.Kind.WARNED, now, "Warning point reached")
            clock_alert(ticket=ticket, clock=c, kind="warning", now=now)
            fired.append(f"{c.metric}:warning")
    # The clocks just read (and saved in place) are all of the ticket's clocks.
    _write_summary(ticket, now, clocks, new=new)
    return fired


def sla_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Find the tickets whose next SLA event is due (one index range scan on
    `slas_ticketslasummary.next_event_at`) and evaluate each in its own transaction, with the
    ticket row locked, so any number of workers may sweep at once. Returns how many events it
    recorded."""
    now = now or timezone.now()
    due = list(
        TicketSlaSummary.objects.filter(next_event_at__lte=now)
        .order_by("next_event_at")
        .values_list("pk", flat=True)[:limit]
    )
    fired = 0
    for pk in due:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().filter(pk=pk).first()
            if ticket is None:
                continue
            next_event = (
                TicketSlaSummary.objects.filter(pk=pk)
                .values_list("next_event_at", flat=True)
                .first()
            )
            if next_event is None or next_event > now:
                continue  # another worker got there first
            fired += len(ticket_sla_evaluate(ticket, now=now))
    return fired


def sla_repair(*, now: dt.datetime | None = None, limit: int = 2000) -> int:
    """Re-drive what a crash may have left behind: tickets whose stored next event disagrees with
    their clocks (a worker died between writing a clock and the summary), and clocks whose due
    instant passed without a breach being recorded. Returns how many tickets it fixed."""
    now = now or timezone.now()
    stuck_clock = Q(met_at__isnull=True, breached_at__isnull=True, due_at__lte=now) & ~Q(
        state=ClockState.CANCELLED
    )
    ticket_ids = set(
        SlaClock.objects.filter(stuck_clock).values_list("ticket_id", flat=True)[:limit]
    )
    ticket_ids |= set(
        SlaClock.objects.filter(next_event_at__isnull=False, ticket__is_open=True)
        .filter(
            Q(ticket__sla_summary__isnull=True) | Q(ticket__sla_summary__next_event_at__isnull=True)
        )
        .values_list("ticket_id", flat=True)[:limit]
    )
    for pk in ticket_ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().filter(pk=pk).first()
            if ticket is not None:
                ticket_sla_evaluate(ticket, now=now)
    return len(ticket_ids)


def ticket_sla_resync(ticket_id: int, *, reason: str, now: dt.datetime | None = None) -> None:
    """Re-apply the policy rule to one ticket (after a policy or contract edit). Safe to repeat."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None or not ticket.is_open:
            return
        _sync(ticket, now, None, reason=reason)
        ticket_sla_evaluate(ticket, now=now)
