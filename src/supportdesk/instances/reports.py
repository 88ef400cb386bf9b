"""Availability from stored data: load the runs and announced windows a period needs, build the
pure core's timeline (one per location, combined by quorum), and ask it for figures.

Nothing here re-does the arithmetic; see `supportdesk.availability` and docs/managed-instances.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from django.db.models import Q
from django.utils import timezone

from supportdesk.availability import (
    AvailabilityConfig,
    AvailabilityFigures,
    Outage,
    Period,
    Timeline,
    aggregate,
    combine_locations,
    parse_period,
    recent_days,
    runs_needed,
)
from supportdesk.availability import ProbeRun as PureRun
from supportdesk.availability.figures import EMPTY
from supportdesk.availability.timebase import format_duration
from supportdesk.instances.common import from_epoch
from supportdesk.instances.models import (
    ANNOUNCED_STATUSES,
    AvailabilitySettings,
    MaintenanceWindow,
    Monitor,
    ProbeRun,
)
from supportdesk.organizations.models import ManagedInstance, Organization
from supportdesk.tickets.models import Ticket

UPTIME_DAYS = 90


def availability_settings(organization: Organization) -> AvailabilitySettings:
    row, _ = AvailabilitySettings.objects.get_or_create(organization=organization)
    return row


def _monitor(instance: ManagedInstance) -> Monitor:
    try:
        return instance.monitor
    except Monitor.DoesNotExist:
        return Monitor(instance=instance)  # unsaved defaults: no history yet


def announced_windows(
    instance: ManagedInstance, start: dt.datetime, end: dt.datetime
) -> list[MaintenanceWindow]:
    """The windows that count: announced (confirmed), not cancelled, overlapping [start, end)."""
    return list(
        MaintenanceWindow.objects.filter(
            instance=instance,
            status__in=ANNOUNCED_STATUSES,
            announced_at__isnull=False,
            start__lt=end,
            end__gt=start,
        ).order_by("start")
    )


def _runs(
    monitor: Monitor, location: str, span: Period, config: AvailabilityConfig
) -> list[PureRun]:
    need = runs_needed(span, config)
    rows = ProbeRun.objects.filter(monitor=monitor, location=location)
    middle = list(
        rows.filter(last_t__gte=need.last_t_from, first_t__lt=need.first_t_before).order_by(
            "first_t"
        )
    )
    if middle:
        before = list(
            rows.filter(first_t__lt=middle[0].first_t).order_by("-first_t")[: need.context_runs]
        )
        after = list(
            rows.filter(first_t__gt=middle[-1].first_t).order_by("first_t")[: need.context_runs]
        )
    else:
        before = list(
            rows.filter(last_t__lt=need.last_t_from).order_by("-first_t")[: need.context_runs]
        )
        after = list(
            rows.filter(first_t__gte=need.first_t_before).order_by("first_t")[: need.context_runs]
        )
    return [
        PureRun(r.first_t, r.last_t, r.count, r.ok, r.max_step)
        for r in [*reversed(before), *middle, *after]
    ]


def instance_timeline(
    instance: ManagedInstance, span: Period, *, target: Fraction | None = None
) -> Timeline:
    """The instance's timeline, exact for any period inside `span`."""
    monitor = _monitor(instance)
    config = monitor.availability_config(target)
    windows = [w.as_pure() for w in announced_windows(instance, span.start, span.end)]
    locations = (
        list(
            ProbeRun.objects.filter(monitor=monitor)
            .values_list("location", flat=True)
            .distinct()
            .order_by("location")
        )
        if monitor.pk
        else []
    )
    timelines = [
        Timeline.from_runs(_runs(monitor, location, span, config), config=config, windows=windows)
        for location in locations
    ]
    return combine_locations(timelines, quorum=monitor.quorum, config=config, windows=windows)


@dataclass(frozen=True)
class DayBar:
    period: Period
    figures: AvailabilityFigures

    @property
    def state(self) -> str:
        """How the bar is coloured: no data, all up, maintenance only, or downtime."""
        f = self.figures
        if f.known_seconds == 0:
            return "unknown"
        if f.downtime_seconds:
            return "down" if f.downtime_seconds >= 300 else "degraded"
        if f.maintenance_seconds:
            return "maintenance"
        return "up"

    @property
    def label(self) -> str:
        f = self.figures
        if f.known_seconds == 0:
            return f"{self.period.label}: no data"
        parts = [f"{self.period.label}: {percent(f.raw_availability)} up"]
        if f.downtime_seconds:
            parts.append(f"{format_duration(f.downtime_seconds)} downtime")
        if f.maintenance_seconds:
            parts.append(f"{format_duration(f.maintenance_seconds)} maintenance")
        if f.unknown_seconds:
            parts.append(f"{format_duration(f.unknown_seconds)} without data")
        return ", ".join(parts)


@dataclass(frozen=True)
class InstanceOverview:
    instance: ManagedInstance
    monitor: Monitor
    bars: list[DayBar]
    last_90: AvailabilityFigures
    last_30: AvailabilityFigures
    outages: list[Outage]


def instance_overview(
    instance: ManagedInstance,
    *,
    tz: str,
    target: Fraction,
    now: dt.datetime | None = None,
    days: int = UPTIME_DAYS,
) -> InstanceOverview:
    now = now or timezone.now()
    day_periods = recent_days(days, tz=tz, now=now)
    span = Period(day_periods[0].start, day_periods[-1].end)
    timeline = instance_timeline(instance, span, target=target)
    figures = timeline.figures_for(day_periods)
    last_30 = parse_period("30d", tz=tz, now=now)
    return InstanceOverview(
        instance=instance,
        monitor=_monitor(instance),
        bars=[DayBar(p, f) for p, f in zip(day_periods, figures, strict=True)],
        last_90=timeline.figures(span),
        last_30=timeline.figures(last_30),
        outages=timeline.outages(span),
    )


@dataclass(frozen=True)
class InstanceReport:
    instance: ManagedInstance
    figures: AvailabilityFigures
    outages: list[Outage]
    windows: list[tuple[MaintenanceWindow, bool, str]]  # window, compliant, explanation
    days: list[DayBar]


@dataclass(frozen=True)
class OrganizationReport:
    organization: Organization
    period: Period
    time_zone: str
    target: Fraction
    instances: list[InstanceReport]
    total: AvailabilityFigures


def organization_report(
    organization: Organization, period: Period, *, tz: str, target: Fraction
) -> OrganizationReport:
    from supportdesk.availability import day_periods

    local_first = period.start.astimezone(_zone(tz)).date()
    local_last = (period.end - dt.timedelta(seconds=1)).astimezone(_zone(tz)).date()
    days = [
        Period(max(d.start, period.start), min(d.end, period.end), d.label)
        for d in day_periods(local_first, local_last, tz)
    ]
    reports = []
    for instance in organization.instances.order_by("name"):
        timeline = instance_timeline(instance, period, target=target)
        windows = announced_windows(instance, period.start, period.end)
        verdicts = timeline.verdicts
        reports.append(
            InstanceReport(
                instance=instance,
                figures=timeline.figures(period),
                outages=timeline.outages(period),
                windows=[
                    (w, v.compliant, v.explain()) for w, v in zip(windows, verdicts, strict=True)
                ],
                days=[
                    DayBar(p, f)
                    for p, f in zip(days, timeline.figures_for(days), strict=True)
                    if p.seconds
                ],
            )
        )
    total = aggregate(r.figures for r in reports) if reports else EMPTY
    return OrganizationReport(organization, period, tz, target, reports, total)


def _zone(tz: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


def percent(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:.{digits}f} %"


def report_rows(report: OrganizationReport) -> list[dict[str, object]]:
    """One row per instance and one for the organization: what the CSV and --json carry."""
    rows: list[dict[str, object]] = []
    for item in [
        *((r.instance.name, r.figures) for r in report.instances),
        ("(all)", report.total),
    ]:
        name, figures = item
        rows.append(
            {
                "organization": report.organization.name,
                "instance": name,
                "period": report.period.label,
                "from": report.period.start.isoformat().replace("+00:00", "Z"),
                "to": report.period.end.isoformat().replace("+00:00", "Z"),
                "time_zone": report.time_zone,
                "target": float(report.target),
                **figures.to_dict(),
            }
        )
    return rows


def report_csv(report: OrganizationReport) -> str:
    rows = report_rows(report)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def windows_for_page(
    instances: Sequence[ManagedInstance], *, now: dt.datetime, past_days: int = 90
) -> tuple[list[MaintenanceWindow], list[MaintenanceWindow]]:
    """Upcoming (and running) windows, and the past ones of the last `past_days` days."""
    base = MaintenanceWindow.objects.filter(instance__in=instances).select_related(
        "instance", "proposed_by", "confirmed_by"
    )
    upcoming = list(
        base.filter(end__gt=now).exclude(status__in=["completed", "cancelled"]).order_by("start")
    )
    past = list(
        base.filter(
            Q(end__lte=now) | Q(status__in=["completed", "cancelled"]),
            start__gte=now - dt.timedelta(days=past_days),
        ).order_by("-start")
    )
    return upcoming, past


def when_utc(seconds: int) -> dt.datetime:
    return from_epoch(seconds)


def ticket_panel(ticket: Ticket) -> dict[str, object]:
    """What the ticket page's customer-context panel shows about managed instances: each
    instance's health, the organization's open maintenance, and the incident behind the ticket."""
    from supportdesk.instances.models import OPEN_WINDOW_STATUSES, Incident

    organization = ticket.organization
    if organization is None:
        return {"instance_health": [], "open_maintenance": [], "ticket_incident": None}
    instances = list(organization.instances.select_related("monitor").order_by("name"))
    health: list[tuple[ManagedInstance, Monitor | None]] = []
    for instance in instances:
        try:
            health.append((instance, instance.monitor))
        except Monitor.DoesNotExist:
            health.append((instance, None))
    return {
        "instance_health": health,
        "open_maintenance": list(
            MaintenanceWindow.objects.filter(
                organization=organization, status__in=OPEN_WINDOW_STATUSES
            )
            .select_related("instance")
            .order_by("start")[:5]
        ),
        "ticket_incident": Incident.objects.filter(ticket=ticket).first(),
    }
