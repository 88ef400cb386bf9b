"""Maintenance windows, kept to the promise: at least 24 h notice, at most 2 h long.

The workflow: one side proposes (an agent, or the customer's org admin), the other side confirms;
the confirmation is the announcement, and compliance is decided at that instant by
`supportdesk.availability.check_window`. Either side may reschedule (a new proposal, to be
confirmed again: a new announcement) or cancel with a reason. A window that would not be compliant
is refused, naming the earliest compliant start, unless it is flagged as emergency with a reason
(it then counts as downtime). Staff may schedule emergency maintenance without waiting for the
customer. Windows start and complete on their own (`maintenance_sweep`, every 30 s), and a window
still down at its scheduled end overruns: an incident opens.

Every change tells the organization's people (notification + email) and machines (webhook),
exactly once: each step is won with a conditional UPDATE, and notifications carry dedupe keys.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from supportdesk.accounts.models import Role, User
from supportdesk.availability import ComplianceVerdict, check_window
from supportdesk.availability import MaintenanceWindow as PureWindow
from supportdesk.availability.timebase import format_duration
from supportdesk.instances.common import ceil_second, floor_second, instance_data, tell_organization
from supportdesk.instances.models import (
    AvailabilitySettings,
    Incident,
    MaintenanceEvent,
    MaintenanceWindow,
    Monitor,
    MonitorStatus,
    WindowStatus,
)
from supportdesk.notifications.services import notify
from supportdesk.organizations.models import ManagedInstance

REMINDERS = (("24h", dt.timedelta(hours=24)), ("1h", dt.timedelta(hours=1)))


def _zone(window: MaintenanceWindow) -> ZoneInfo:
    settings_row = AvailabilitySettings.objects.filter(organization=window.organization_id).first()
    return ZoneInfo(settings_row.time_zone if settings_row else "UTC")


def describe_times(window: MaintenanceWindow) -> str:
    """“Tue 03 Nov 2026, 02:00–03:00 UTC (1 h)”, in the organization's report zone."""
    zone = _zone(window)
    start, end = window.start.astimezone(zone), window.end.astimezone(zone)
    same_day = start.date() == end.date()
    end_text = end.strftime("%H:%M") if same_day else end.strftime("%a %d %b %Y, %H:%M")
    return (
        f"{start.strftime('%a %d %b %Y, %H:%M')}–{end_text} {start.strftime('%Z')} "
        f"({format_duration(window.duration)})"
    )


def window_data(window: MaintenanceWindow) -> dict[str, object]:
    return {
        "uid": str(window.uid),
        "id": window.pk,
        "title": window.title,
        "instance": instance_data(window.instance),
        "status": window.status,
        "start": window.start,
        "end": window.end,
        "emergency": window.emergency,
        "emergency_reason": window.emergency_reason,
        "announced_at": window.announced_at,
        "compliant": verdict_of(window).compliant if window.announced_at else None,
        "cancel_reason": window.cancel_reason,
        "sequence": window.sequence,
    }


def verdict_of(window: MaintenanceWindow, *, now: dt.datetime | None = None) -> ComplianceVerdict:
    """Compliance as announced; a window not announced yet is judged as if confirmed now."""
    announced = window.announced_at or ceil_second(now or timezone.now())
    return check_window(window.as_pure(announced_at=announced))


EVENT_TITLES = {
    "proposed": "Maintenance proposed",
    "scheduled": "Maintenance scheduled",
    "rescheduled": "Maintenance rescheduled",
    "cancelled": "Maintenance cancelled",
    "reminder_24h": "Reminder: maintenance in 24 hours",
    "reminder_1h": "Reminder: maintenance in 1 hour",
    "started": "Maintenance started",
    "completed": "Maintenance completed",
    "overrun": "Maintenance overrunning",
}


def _tell(window: MaintenanceWindow, event: str, *, now: dt.datetime, extra: str = "") -> None:
    verdict = verdict_of(window, now=now)
    lines = [
        f"{window.instance.name}: {window.title}",
        describe_times(window),
    ]
    if window.description:
        lines.append(window.description)
    if window.emergency:
        lines.append(f"Emergency maintenance: {window.emergency_reason}")
    if window.announced_at:
        lines.append(verdict.explain())
    if extra:
        lines.append(extra)
    tell_organization(
        organization=window.organization,
        kind=f"maintenance.{event}",
        title=f"{EVENT_TITLES[event]}: {window.instance.name}, {describe_times(window)}",
        body="\n\n".join(lines),
        url=reverse("instances_portal:maintenance", args=[window.pk]),
        dedupe_key=f"maintenance:{window.uid}:{window.sequence}:{event}",
        event_type="maintenance.reminder"
        if event.startswith("reminder")
        else f"maintenance.{event}",
        data={"window": window_data(window), "event": event},
        now=now,
    )


def _log(
    window: MaintenanceWindow, kind: str, actor: User | None, detail: str, now: dt.datetime
) -> None:
    MaintenanceEvent.objects.create(
        window=window, kind=kind, actor=actor, detail=detail, created_at=now
    )


def _may_manage(actor: User, instance: ManagedInstance) -> bool:
    return actor.is_agent or (
        actor.is_org_admin and actor.organization_id == instance.organization_id
    )


def _validate_times(
    *,
    start: dt.datetime,
    end: dt.datetime,
    emergency: bool,
    emergency_reason: str,
    now: dt.datetime,
) -> tuple[dt.datetime, dt.datetime, ComplianceVerdict]:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError({"start": "Give the times with their time zone."})
    start, end = floor_second(start), floor_second(end)
    if end <= start:
        raise ValidationError({"end": "The window must end after it starts."})
    if start <= now:
        raise ValidationError({"start": "The window must start in the future."})
    if emergency and not emergency_reason.strip():
        raise ValidationError(
            {"emergency_reason": "Emergency maintenance needs a reason the customer will read."}
        )
    verdict = check_window(PureWindow(ceil_second(now), start, end, emergency))
    if not emergency and not verdict.compliant:
        raise ValidationError(
            {
                "start": f"{verdict.explain()} To schedule it anyway, mark it as emergency "
                "maintenance and give a reason: it then counts as downtime."
            }
        )
    return start, end, verdict


def _notify_staff(window: MaintenanceWindow, *, title: str, now: dt.datetime) -> None:
    """An org admin's proposal waits for an agent: tell the agents and leads."""
    for agent in User.objects.filter(role__in=[Role.AGENT, Role.LEAD], is_active=True):
        notify(
            recipient=agent,
            kind="maintenance.proposed",
            title=title,
            body=f"{window.instance.name}: {window.title}\n{describe_times(window)}",
            url=reverse("instances_console:maintenance", args=[window.pk]),
            dedupe_key=f"maintenance:{window.uid}:{window.sequence}:proposed:u{agent.pk}",
            now=now,
        )


def _after_proposal(window: MaintenanceWindow, actor: User, *, now: dt.datetime) -> None:
    if actor.is_staff and window.emergency:
        # Emergency maintenance by staff does not wait for the customer: announced now.
        window.status = WindowStatus.SCHEDULED
        window.confirmed_by = actor
        window.announced_at = ceil_second(now)
        window.save(update_fields=["status", "confirmed_by", "announced_at"])
        _log(window, "confirmed", actor, "Emergency maintenance, announced at once", now)
        _tell(window, "rescheduled" if window.sequence else "scheduled", now=now)
        return
    if actor.is_staff:
        _tell(
            window,
            "rescheduled" if window.sequence else "proposed",
            now=now,
            extra="An org admin of your organization confirms it in the portal.",
        )
    else:
        if window.sequence:
            _tell(window, "rescheduled", now=now, extra="Our support team confirms it next.")
        _notify_staff(
            window,
            title=f"{actor.display_name} proposes maintenance of {window.instance.name}: "
            "confirm it",
            now=now,
        )


@transaction.atomic
def maintenance_window_propose(
    *,
    actor: User,
    instance: ManagedInstance,
    title: str,
    start: dt.datetime,
    end: dt.datetime,
    description: str = "",
    emergency: bool = False,
    emergency_reason: str = "",
    now: dt.datetime | None = None,
) -> MaintenanceWindow:
    """Propose a window (staff's emergency windows are scheduled at once)."""
    now = now or timezone.now()
    if not _may_manage(actor, instance):
        raise PermissionDenied("Only agents and the organization's admins schedule maintenance.")
    title = " ".join(title.split())
    if not title:
        raise ValidationError({"title": "Say what the maintenance is for."})
    start, end, _ = _validate_times(
        start=start, end=end, emergency=emergency, emergency_reason=emergency_reason, now=now
    )
    window = MaintenanceWindow.objects.create(
        organization_id=instance.organization_id,
        instance=instance,
        title=title[:200],
        description=description.strip(),
        start=start,
        end=end,
        emergency=emergency,
        emergency_reason=emergency_reason.strip() if emergency else "",
        status=WindowStatus.PROPOSED,
        proposed_by=actor,
        proposed_at=now,
        created_at=now,
        updated_at=now,
    )
    _log(window, "proposed", actor, describe_times(window), now)
    _after_proposal(window, actor, now=now)
    return window


@transaction.atomic
def maintenance_window_confirm(
    *, actor: User, window: MaintenanceWindow, now: dt.datetime | None = None
) -> MaintenanceWindow:
    """The other side agrees: the window is announced now, and must be compliant now."""
    now = now or timezone.now()
    window = (
        MaintenanceWindow.objects.select_for_update().select_related("instance").get(pk=window.pk)
    )
    if window.status != WindowStatus.PROPOSED:
        raise ValidationError(f"This window is {window.get_status_display().lower()}.")
    if not _may_manage(actor, window.instance):
        raise PermissionDenied("Only agents and the organization's admins confirm maintenance.")
    proposer = window.proposed_by
    if proposer is not None and proposer.is_staff == actor.is_staff:
        other = "the customer's org admin" if actor.is_staff else "our support team"
        raise PermissionDenied(f"The other side confirms a proposal: waiting for {other}.")
    if window.start <= now:
        raise ValidationError(
            {"start": "This window has already started: reschedule it to confirm it."}
        )
    announced = ceil_second(now)
    verdict = check_window(window.as_pure(announced_at=announced))
    if not verdict.compliant and not window.emergency:
        raise ValidationError(
            {
                "start": f"Confirmed now, {verdict.explain()[0].lower()}{verdict.explain()[1:]} "
                "Reschedule it, or reschedule it as emergency maintenance with a reason."
            }
        )
    window.status = WindowStatus.SCHEDULED
    window.confirmed_by = actor
    window.announced_at = announced
    window.updated_at = now
    window.save(update_fields=["status", "confirmed_by", "announced_at", "updated_at"])
    _log(window, "confirmed", actor, verdict.explain(), now)
    _tell(window, "rescheduled" if window.sequence else "scheduled", now=now)
    return window


@transaction.atomic
def maintenance_window_reschedule(
    *,
    actor: User,
    window: MaintenanceWindow,
    start: dt.datetime,
    end: dt.datetime,
    emergency: bool = False,
    emergency_reason: str = "",
    now: dt.datetime | None = None,
) -> MaintenanceWindow:
    """New times: a new proposal that the other side confirms (a new announcement)."""
    now = now or timezone.now()
    window = (
        MaintenanceWindow.objects.select_for_update().select_related("instance").get(pk=window.pk)
    )
    if not _may_manage(actor, window.instance):
        raise PermissionDenied("Only agents and the organization's admins reschedule maintenance.")
    if window.status not in (WindowStatus.PROPOSED, WindowStatus.SCHEDULED):
        raise ValidationError(
            f"A window that is {window.get_status_display().lower()} cannot be rescheduled."
        )
    before = describe_times(window)
    start, end, _ = _validate_times(
        start=start, end=end, emergency=emergency, emergency_reason=emergency_reason, now=now
    )
    window.start, window.end = start, end
    window.emergency = emergency
    window.emergency_reason = emergency_reason.strip() if emergency else ""
    window.status = WindowStatus.PROPOSED
    window.proposed_by = actor
    window.proposed_at = now
    window.confirmed_by = None
    window.announced_at = None
    window.reminded_24h_at = window.reminded_1h_at = None
    window.sequence += 1
    window.updated_at = now
    window.save()
    _log(window, "rescheduled", actor, f"{before} → {describe_times(window)}", now)
    _after_proposal(window, actor, now=now)
    return window


@transaction.atomic
def maintenance_window_cancel(
    *, actor: User | None, window: MaintenanceWindow, reason: str, now: dt.datetime | None = None
) -> MaintenanceWindow:
    now = now or timezone.now()
    window = (
        MaintenanceWindow.objects.select_for_update().select_related("instance").get(pk=window.pk)
    )
    if actor is not None and not _may_manage(actor, window.instance):
        raise PermissionDenied("Only agents and the organization's admins cancel maintenance.")
    if window.status not in (WindowStatus.PROPOSED, WindowStatus.SCHEDULED):
        raise ValidationError(
            f"A window that is {window.get_status_display().lower()} cannot be cancelled."
        )
    if not reason.strip():
        raise ValidationError({"reason": "Say why it is cancelled; the customer reads it."})
    was_announced = window.status == WindowStatus.SCHEDULED
    window.status = WindowStatus.CANCELLED
    window.cancelled_by = actor
    window.cancelled_at = now
    window.cancel_reason = reason.strip()
    window.sequence += 1
    window.updated_at = now
    window.save()
    _log(window, "cancelled", actor, window.cancel_reason, now)
    _tell(
        window,
        "cancelled",
        now=now,
        extra=f"Reason: {window.cancel_reason}"
        + ("" if was_announced else " (it had not been confirmed yet)"),
    )
    return window


@transaction.atomic
def maintenance_window_complete(
    *, actor: User | None, window: MaintenanceWindow, now: dt.datetime | None = None
) -> MaintenanceWindow:
    """The work is done (early, on time, or after an overrun)."""
    now = now or timezone.now()
    if actor is not None and not actor.is_agent:
        raise PermissionDenied("Only agents mark maintenance complete.")
    updated = MaintenanceWindow.objects.filter(
        pk=window.pk, status__in=[WindowStatus.IN_PROGRESS, WindowStatus.OVERRUNNING]
    ).update(status=WindowStatus.COMPLETED, completed_at=now, updated_at=now)
    window = MaintenanceWindow.objects.select_related("instance", "organization").get(pk=window.pk)
    if not updated:
        raise ValidationError(f"This window is {window.get_status_display().lower()}.")
    _log(window, "completed", actor, "", now)
    overran = window.overran_at is not None
    _tell(
        window,
        "completed",
        now=now,
        extra=f"It overran its scheduled end by {format_duration(floor_second(now) - window.end)}."
        if overran and now > window.end
        else "",
    )
    Monitor.objects.filter(instance=window.instance, status=MonitorStatus.MAINTENANCE).update(
        status=MonitorStatus.UP if not overran else MonitorStatus.DOWN, updated_at=now
    )
    return window


def window_in_progress(instance_id: int, at: dt.datetime) -> MaintenanceWindow | None:
    """The announced window whose scheduled time covers `at` (down time then is maintenance)."""
    return (
        MaintenanceWindow.objects.filter(
            instance_id=instance_id,
            status__in=[WindowStatus.SCHEDULED, WindowStatus.IN_PROGRESS],
            start__lte=at,
            end__gt=at,
        )
        .order_by("start")
        .first()
    )


def maintenance_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Periodic (every 30 s, in any number of workers): reminders, start, end, overrun, and
    proposals that reached their start unconfirmed. Each step is claimed with a conditional UPDATE,
    so it happens once; safe to run twice."""
    now = now or timezone.now()
    done = {"reminder_24h": 0, "reminder_1h": 0, "started": 0, "completed": 0, "overrun": 0}
    done["expired"] = 0

    for label, ahead in REMINDERS:
        field = f"reminded_{label}_at"
        nearer = dt.timedelta(hours=1) if label == "24h" else dt.timedelta(0)
        due = MaintenanceWindow.objects.filter(
            status=WindowStatus.SCHEDULED,
            start__lte=now + ahead,
            start__gt=now + nearer,
            announced_at__lt=F("start") - ahead,
            **{f"{field}__isnull": True},
        )
        for pk in list(due.values_list("pk", flat=True)):
            with transaction.atomic():
                won = MaintenanceWindow.objects.filter(
                    pk=pk, status=WindowStatus.SCHEDULED, **{f"{field}__isnull": True}
                ).update(**{field: now})
                if won:
                    window = MaintenanceWindow.objects.select_related(
                        "instance", "organization"
                    ).get(pk=pk)
                    _tell(window, f"reminder_{label}", now=now)
                    done[f"reminder_{label}"] += 1

    for pk in list(
        MaintenanceWindow.objects.filter(status=WindowStatus.PROPOSED, start__lte=now).values_list(
            "pk", flat=True
        )
    ):
        with transaction.atomic():
            won = MaintenanceWindow.objects.filter(pk=pk, status=WindowStatus.PROPOSED).update(
                status=WindowStatus.CANCELLED,
                cancelled_at=now,
                cancel_reason="It was not confirmed before its start.",
                updated_at=now,
            )
            if won:
                window = MaintenanceWindow.objects.select_related("instance", "organization").get(
                    pk=pk
                )
                window.sequence += 1
                window.save(update_fields=["sequence"])
                _log(window, "cancelled", None, window.cancel_reason, now)
                _tell(window, "cancelled", now=now, extra=f"Reason: {window.cancel_reason}")
                done["expired"] += 1

    for pk in list(
        MaintenanceWindow.objects.filter(status=WindowStatus.SCHEDULED, start__lte=now).values_list(
            "pk", flat=True
        )
    ):
        with transaction.atomic():
            won = MaintenanceWindow.objects.filter(pk=pk, status=WindowStatus.SCHEDULED).update(
                status=WindowStatus.IN_PROGRESS, started_at=now, updated_at=now
            )
            if won:
                window = MaintenanceWindow.objects.select_related("instance", "organization").get(
                    pk=pk
                )
                _log(window, "started", None, "", now)
                _tell(window, "started", now=now)
                done["started"] += 1

    for pk in list(
        MaintenanceWindow.objects.filter(status=WindowStatus.IN_PROGRESS, end__lte=now).values_list(
            "pk", flat=True
        )
    ):
        with transaction.atomic():
            window = (
                MaintenanceWindow.objects.select_for_update()
                .select_related("instance", "organization")
                .get(pk=pk)
            )
            if window.status != WindowStatus.IN_PROGRESS:
                continue
            monitor = Monitor.objects.filter(instance=window.instance).first()
            still_down = monitor is not None and monitor.status in (
                MonitorStatus.DOWN,
                MonitorStatus.MAINTENANCE,
            )
            if still_down:
                _window_overruns(window, monitor, now=now)
                done["overrun"] += 1
            else:
                window.status = WindowStatus.COMPLETED
                window.completed_at = now
                window.updated_at = now
                window.save(update_fields=["status", "completed_at", "updated_at"])
                _log(window, "completed", None, "", now)
                _tell(window, "completed", now=now)
                done["completed"] += 1
    return done


def _window_overruns(
    window: MaintenanceWindow, monitor: Monitor | None, *, now: dt.datetime
) -> None:
    from supportdesk.instances.incidents import incident_outage_detected

    window.status = WindowStatus.OVERRUNNING
    window.overran_at = window.end
    window.updated_at = now
    window.save(update_fields=["status", "overran_at", "updated_at"])
    _log(window, "overrun", None, "Still down at the scheduled end", now)
    if monitor is not None:
        Monitor.objects.filter(pk=monitor.pk).update(status=MonitorStatus.DOWN, updated_at=now)
        incident_outage_detected(
            monitor=monitor,
            started_at=window.end,
            failures=0,
            now=now,
            kind=Incident.Kind.OVERRUN,
            maintenance_window=window,
        )
    _tell(
        window,
        "overrun",
        now=now,
        extra="The instance is still down after the scheduled end. From the scheduled end on, "
        "this counts as downtime; an incident is open.",
    )
