"""Incidents: opened by an outage (or a maintenance overrun, or by staff), updated through
investigating → identified → monitoring → resolved, each update reaching the customer by
notification, webhook and a public reply on the linked Sev 1 ticket."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from supportdesk.accounts.models import User
from supportdesk.availability.timebase import format_duration
from supportdesk.instances.common import (
    instance_data,
    monitoring_actor,
    tell_organization,
    ticket_requester,
)
from supportdesk.instances.models import (
    Incident,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceWindow,
    Monitor,
    MonitorStatus,
)
from supportdesk.organizations.models import ManagedInstance
from supportdesk.tickets import services as ticket_services
from supportdesk.tickets.models import Channel, ResolutionKind, Severity, Status

EVENT_FOR_STATUS = {
    IncidentStatus.INVESTIGATING: "incident.updated",
    IncidentStatus.IDENTIFIED: "incident.updated",
    IncidentStatus.MONITORING: "incident.updated",
    IncidentStatus.RESOLVED: "incident.resolved",
}


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def incident_data(incident: Incident) -> dict[str, object]:
    return {
        "id": incident.pk,
        "kind": incident.kind,
        "title": incident.title,
        "status": incident.status,
        "instance": instance_data(incident.instance),
        "started_at": incident.started_at,
        "recovered_at": incident.recovered_at,
        "resolved_at": incident.resolved_at,
        "ticket": incident.ticket.number if incident.ticket else None,
        "maintenance_window": str(incident.maintenance_window.uid)
        if incident.maintenance_window
        else None,
    }


def _tell(incident: Incident, update: IncidentUpdate, *, event_type: str, now: dt.datetime) -> None:
    title = f"[{incident.get_status_display()}] {incident.title}"
    tell_organization(
        organization=incident.organization,
        kind=event_type,
        title=title,
        body=f"{update.message}\n\nStatus: {incident.get_status_display()} "
        f"(updated {_utc(update.created_at)}).",
        url=reverse("instances_portal:incident", args=[incident.pk]),
        dedupe_key=f"incident:{incident.pk}:update:{update.pk}",
        event_type=event_type,
        data={
            "incident": incident_data(incident),
            "update": {
                "status": update.status,
                "message": update.message,
                "created_at": update.created_at,
                "automatic": update.is_automatic,
            },
        },
        now=now,
    )


@transaction.atomic
def incident_open(
    *,
    actor: User | None,
    instance: ManagedInstance,
    kind: str,
    title: str,
    message: str,
    started_at: dt.datetime,
    maintenance_window: MaintenanceWindow | None = None,
    now: dt.datetime | None = None,
) -> Incident:
    """Open an incident and its Sev 1 ticket, and tell the customer.

    `actor` None means the monitoring opened it (the probe worker, the maintenance sweep). The
    ticket is opened for the organization's first org admin (else first contact); an organization
    with nobody gets the incident without a ticket, and the incident says so."""
    now = now or timezone.now()
    if actor is not None and not actor.is_agent:
        raise PermissionDenied("Only agents and leads open incidents.")
    title = " ".join(title.split())[:200]
    if not title:
        raise ValidationError({"title": "An incident needs a title."})
    if not message.strip():
        raise ValidationError({"message": "Say what is happening."})
    if started_at > now:
        raise ValidationError({"started_at": "An incident cannot start in the future."})
    organization = instance.organization
    incident = Incident.objects.create(
        organization=organization,
        instance=instance,
        kind=kind,
        title=title,
        status=IncidentStatus.INVESTIGATING,
        started_at=started_at,
        maintenance_window=maintenance_window,
        created_at=now,
        updated_at=now,
    )
    author = actor or monitoring_actor()
    requester = ticket_requester(organization)
    text = message.strip()
    if requester is not None:
        earliest = now - dt.timedelta(days=364)
        ticket = ticket_services.ticket_create(
            actor=author,
            requester=requester,
            subject=f"{instance.name}: {title}"[:250],
            description=(
                f"{text}\n\nIncident: {settings.SUPPORTDESK_SITE_URL}"
                f"{reverse('instances_portal:incident', args=[incident.pk])}\n"
                f"Started: {_utc(started_at)}"
            ),
            severity=Severity.SEV1,
            channel=Channel.MONITORING if actor is None else Channel.CONSOLE,
            reported_at=min(max(started_at, earliest), now),
            tags=["incident", instance.name],
            now=now,
        )
        incident.ticket = ticket
        incident.save(update_fields=["ticket"])
    else:
        text += "\n\n(No ticket was opened: the organization has no active contact.)"
    update = IncidentUpdate.objects.create(
        incident=incident,
        status=IncidentStatus.INVESTIGATING,
        message=text,
        author=actor,
        is_automatic=actor is None,
        created_at=now,
    )
    _tell(incident, update, event_type="incident.created", now=now)
    return incident


@transaction.atomic
def incident_update_post(
    *,
    actor: User | None,
    incident: Incident,
    status: str,
    message: str,
    now: dt.datetime | None = None,
) -> IncidentUpdate:
    """Post a timestamped update (and move the status). `actor` None: an automatic update.

    A resolved incident takes further notes (a post-mortem) but stays resolved."""
    now = now or timezone.now()
    if actor is not None and not actor.is_agent:
        raise PermissionDenied("Only agents and leads update incidents.")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if status not in IncidentStatus.values:
        raise ValidationError({"status": f"{status!r} is not an incident status."})
    if incident.status == IncidentStatus.RESOLVED and status != IncidentStatus.RESOLVED:
        raise ValidationError(
            {"status": "This incident is resolved. If it is happening again, open a new one."}
        )
    if not message.strip():
        raise ValidationError({"message": "Write the update the customer will read."})
    was_resolved = incident.status == IncidentStatus.RESOLVED
    update = IncidentUpdate.objects.create(
        incident=incident,
        status=status,
        message=message.strip(),
        author=actor,
        is_automatic=actor is None,
        created_at=now,
    )
    incident.status = status
    incident.updated_at = now
    if status == IncidentStatus.RESOLVED and incident.resolved_at is None:
        incident.resolved_at = now
        if incident.recovered_at is None:
            incident.recovered_at = now
    incident.save()
    if incident.ticket_id is not None:
        _reply_on_ticket(incident, update, actor=actor, now=now, solve=not was_resolved)
    _tell(incident, update, event_type=EVENT_FOR_STATUS[IncidentStatus(status)], now=now)
    return update


def _reply_on_ticket(
    incident: Incident,
    update: IncidentUpdate,
    *,
    actor: User | None,
    now: dt.datetime,
    solve: bool,
) -> None:
    ticket = incident.ticket
    assert ticket is not None
    expectations = {
        IncidentStatus.INVESTIGATING: "We will post the next update here and on the status page "
        "as soon as we know more.",
        IncidentStatus.IDENTIFIED: "We are working on the fix and will update you when it is in "
        "place.",
        IncidentStatus.MONITORING: "We keep watching; if it stays healthy we resolve the "
        "incident, and you hear from us either way.",
        IncidentStatus.RESOLVED: "Nothing is needed from you. Reply here if you still see "
        "problems and this ticket reopens.",
    }[IncidentStatus(update.status)]
    resolving = solve and update.status == IncidentStatus.RESOLVED
    ticket_services.ticket_reply_add(
        actor=actor or monitoring_actor(),
        ticket=ticket,
        status_part=f"Incident {incident.get_status_display().lower()}: {update.message}",
        next_steps_part="See the incident page for the full timeline: "
        + settings.SUPPORTDESK_SITE_URL
        + reverse("instances_portal:incident", args=[incident.pk]),
        expectations_part=expectations,
        new_status=Status.SOLVED if resolving and ticket.status != Status.CLOSED else None,
        resolution_kind=ResolutionKind.FIX if resolving else None,
        channel=Channel.MONITORING if actor is None else Channel.CONSOLE,
        is_automatic=actor is None,
        now=now,
    )


# -- what the monitoring does on its own -------------------------------------------------------


def open_incident_for(instance: ManagedInstance) -> Incident | None:
    return (
        Incident.objects.filter(instance=instance)
        .exclude(status=IncidentStatus.RESOLVED)
        .order_by("-started_at")
        .first()
    )


def incident_outage_detected(
    *,
    monitor: Monitor,
    started_at: dt.datetime,
    failures: int,
    now: dt.datetime,
    kind: str = Incident.Kind.OUTAGE,
    maintenance_window: MaintenanceWindow | None = None,
) -> Incident:
    """The instance is down: open an incident, or reopen the investigation of the open one."""
    instance = monitor.instance
    existing = open_incident_for(instance)
    if existing is not None:
        if existing.status == IncidentStatus.MONITORING:
            incident_update_post(
                actor=None,
                incident=existing,
                status=IncidentStatus.INVESTIGATING,
                message=f"{instance.name} is failing its health checks again since "
                f"{_utc(started_at)}. We are investigating.",
                now=now,
            )
            existing.refresh_from_db()
        return existing
    if kind == Incident.Kind.OVERRUN and maintenance_window is not None:
        title = f"Maintenance overran: {maintenance_window.title}"[:200]
        message = (
            f"The maintenance window “{maintenance_window.title}” was scheduled to end at "
            f"{_utc(maintenance_window.end)}, but {instance.name} is still not answering its "
            "health checks. The time from the scheduled end counts as downtime. We are on it."
        )
    else:
        title = f"{instance.name} is down"
        message = (
            f"{instance.name} has failed {failures} consecutive health checks since "
            f"{_utc(started_at)}. We are investigating."
        )
    return incident_open(
        actor=None,
        instance=instance,
        kind=kind,
        title=title,
        message=message,
        started_at=started_at,
        maintenance_window=maintenance_window,
        now=now,
    )


def incident_recovery_detected(
    *, monitor: Monitor, down_since: dt.datetime | None, now: dt.datetime
) -> Incident | None:
    """The instance answers again: the open incident moves to monitoring."""
    incident = open_incident_for(monitor.instance)
    if incident is None or incident.status == IncidentStatus.MONITORING:
        return incident
    Incident.objects.filter(pk=incident.pk).update(recovered_at=now)
    lasted = f" after {format_duration(now - incident.started_at)}" if incident.started_at else ""
    incident_update_post(
        actor=None,
        incident=incident,
        status=IncidentStatus.MONITORING,
        message=f"{monitor.instance.name} passes its health checks again since {_utc(now)}"
        f"{lasted}. We are monitoring it.",
        now=now,
    )
    incident.refresh_from_db()
    return incident


def incidents_auto_resolve(*, now: dt.datetime | None = None) -> int:
    """Periodic: resolve incidents that have been in monitoring, with the instance up, for
    SUPPORTDESK_INCIDENT_AUTO_RESOLVE_MINUTES. Safe to run twice (it re-reads under a lock)."""
    now = now or timezone.now()
    quiet = dt.timedelta(minutes=settings.SUPPORTDESK_INCIDENT_AUTO_RESOLVE_MINUTES)
    resolved = 0
    candidates = Incident.objects.filter(
        status=IncidentStatus.MONITORING, updated_at__lte=now - quiet
    ).values_list("pk", flat=True)
    for pk in list(candidates):
        with transaction.atomic():
            incident = Incident.objects.select_for_update().select_related("instance").get(pk=pk)
            if incident.status != IncidentStatus.MONITORING or incident.updated_at > now - quiet:
                continue
            monitor = Monitor.objects.filter(instance=incident.instance).first()
            if monitor is not None and monitor.status == MonitorStatus.DOWN:
                continue
            incident_update_post(
                actor=None,
                incident=incident,
                status=IncidentStatus.RESOLVED,
                message=f"{incident.instance.name} has been healthy for "
                f"{format_duration(quiet)}. This incident is resolved.",
                now=now,
            )
            resolved += 1
    return resolved
