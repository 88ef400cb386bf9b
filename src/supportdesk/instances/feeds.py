"""An organization's maintenance windows as iCalendar (RFC 5545) and its incidents and
maintenance as an Atom feed (RFC 4287), both behind the secret status-page token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from supportdesk.instances.maintenance import describe_times, verdict_of
from supportdesk.instances.models import Incident, MaintenanceWindow, WindowStatus
from supportdesk.organizations.models import Organization

PRODID = "-//supportdesk//Managed instance maintenance//EN"


def _escape(text: str) -> str:
    """TEXT values (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 5545 3.1), never inside a UTF-8 character."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current = b""
    limit = 75
    for char in line:
        piece = char.encode("utf-8")
        if len(current) + len(piece) > limit:
            parts.append(current.decode("utf-8"))
            current = b""
            limit = 74  # continuation lines start with a space
        current += piece
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


ICAL_STATUS = {
    WindowStatus.PROPOSED: "TENTATIVE",
    WindowStatus.CANCELLED: "CANCELLED",
}


def maintenance_ical(
    organization: Organization, windows: Iterable[MaintenanceWindow], *, now: dt.datetime
) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(organization.name + ' maintenance')}",
        "X-WR-TIMEZONE:UTC",
    ]
    for window in windows:
        verdict = verdict_of(window, now=now)
        compliance = (
            verdict.explain() if window.announced_at else "Awaiting confirmation by both sides."
        )
        description = "\n".join(
            part
            for part in (
                window.description,
                f"Instance: {window.instance.name}",
                describe_times(window),
                f"Emergency: {window.emergency_reason}" if window.emergency else "",
                compliance,
                f"Cancelled: {window.cancel_reason}" if window.cancel_reason else "",
            )
            if part
        )
        url = settings.SUPPORTDESK_SITE_URL + reverse(
            "instances_portal:maintenance", args=[window.pk]
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{window.uid}@supportdesk",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(window.start)}",
            f"DTEND:{_stamp(window.end)}",
            f"SEQUENCE:{window.sequence}",
            f"LAST-MODIFIED:{_stamp(window.updated_at)}",
            f"CREATED:{_stamp(window.created_at)}",
            f"SUMMARY:{_escape(f'{window.instance.name}: {window.title}')}",
            f"DESCRIPTION:{_escape(description)}",
            f"STATUS:{ICAL_STATUS.get(WindowStatus(window.status), 'CONFIRMED')}",
            "TRANSP:OPAQUE",
            f"CATEGORIES:{'EMERGENCY MAINTENANCE' if window.emergency else 'MAINTENANCE'}",
            f"URL:{url}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def activity_atom(
    organization: Organization,
    *,
    incidents: Iterable[Incident],
    windows: Iterable[MaintenanceWindow],
    feed_url: str,
    page_url: str,
    now: dt.datetime,
) -> str:
    feed = Atom1Feed(
        title=f"{organization.name}: incidents and maintenance",
        link=page_url,
        description=f"Status of {organization.name}'s managed instances",
        feed_url=feed_url,
        feed_guid=f"tag:supportdesk,2026:status:{organization.slug}",
        language="en",
    )
    entries: list[tuple[dt.datetime, dict[str, object]]] = []
    for incident in incidents:
        updates = list(incident.updates.all())
        body = "\n".join(
            f"{u.created_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC: {u.get_status_display()}: "
            f"{u.message}"
            for u in reversed(updates)
        )
        updated = updates[-1].created_at if updates else incident.updated_at
        entries.append(
            (
                updated,
                {
                    "title": f"[{incident.get_status_display()}] {incident.title}",
                    "link": settings.SUPPORTDESK_SITE_URL
                    + reverse("instances_portal:incident", args=[incident.pk]),
                    "description": body,
                    "unique_id": f"tag:supportdesk,2026:incident:{incident.pk}",
                    "updateddate": updated,
                    "pubdate": incident.created_at,
                    "categories": ["incident", incident.instance.name],
                },
            )
        )
    for window in windows:
        verdict = verdict_of(window, now=now)
        body = "\n".join(
            part
            for part in (
                describe_times(window),
                window.description,
                f"Status: {window.get_status_display()}",
                verdict.explain() if window.announced_at else "",
                f"Emergency: {window.emergency_reason}" if window.emergency else "",
                f"Cancelled: {window.cancel_reason}" if window.cancel_reason else "",
            )
            if part
        )
        entries.append(
            (
                window.updated_at,
                {
                    "title": f"Maintenance ({window.get_status_display().lower()}): "
                    f"{window.instance.name}: {window.title}",
                    "link": settings.SUPPORTDESK_SITE_URL
                    + reverse("instances_portal:maintenance", args=[window.pk]),
                    "description": body,
                    "unique_id": f"tag:supportdesk,2026:maintenance:{window.uid}",
                    "updateddate": window.updated_at,
                    "pubdate": window.created_at,
                    "categories": ["maintenance", window.instance.name],
                },
            )
        )
    for _, item in sorted(entries, key=lambda e: e[0], reverse=True)[:100]:
        feed.add_item(**item)  # type: ignore[arg-type]
    return feed.writeString("utf-8")
