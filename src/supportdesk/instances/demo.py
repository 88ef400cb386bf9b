"""Demo monitoring history for the managed demo organizations (Globex, Hooli): 90 days of 60 s
probes with outages, a monitoring gap, flapping single failures, and maintenance windows that kept
the promise and some that did not, all through the real services, so that the status pages,
incidents and reports show something real right after `make run`.

The demo instances' health URLs (*.demo.test) do not resolve, so their live probing is switched
off (`Monitor.enabled`, the "Probe live" box on the console's instance page); their status turns
"unknown" a few minutes after the demo history ends, which is what the monitoring would report.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import numpy as np

from supportdesk.accounts.models import User
from supportdesk.instances import incidents, maintenance
from supportdesk.instances.common import epoch
from supportdesk.instances.models import (
    AvailabilitySettings,
    IncidentStatus,
    Monitor,
    MonitorStatus,
)
from supportdesk.instances.monitoring import history_store
from supportdesk.organizations.models import ManagedInstance, Organization

DAY = 86_400
INTERVAL = 60


@dataclass(frozen=True)
class Outage:
    days_ago: float
    minutes: int
    what: str
    cause: str = ""


OUTAGES = {
    "globex-prod": [
        Outage(40.3, 26, "outage", "A failed disk on the database primary; failed over."),
        Outage(12.6, 4, "outage", "A deploy restarted the frontend pods all at once."),
    ],
    "globex-staging": [Outage(70.2, 180, "outage", "Staging cluster node pool upgrade.")],
    "hooli-prod": [
        Outage(8.4, 125, "outage", "Certificate expired on the load balancer."),
        Outage(20.1, 95, "outage", "Search index corruption after an out-of-memory kill."),
    ],
}
# (instance, days ago, length in minutes, minutes down inside it, overrun minutes, emergency)
PAST_WINDOWS = [
    ("globex-prod", 20.0, 60, 45, 0, False, "Upgrade to 6.0.1"),
    ("globex-prod", 33.0, 60, 60, 20, False, "Database major version upgrade"),
    ("globex-prod", 5.0, 45, 30, 0, True, "Emergency security patch"),
    ("hooli-prod", 27.0, 90, 50, 0, False, "Upgrade to 6.0.1"),
]
GAP = ("globex-prod", 60.0, 120)  # instance, days ago, minutes without probes


def _history(name: str, now_t: int, rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    start = now_t - 90 * DAY
    t = np.arange(start - start % INTERVAL, now_t, INTERVAL, dtype=np.int64)
    t = t + np.array([rng.randint(0, 3) for _ in range(t.size)], dtype=np.int64)
    ok = np.ones(t.size, dtype=np.bool_)
    for _ in range(40):  # flapping: single failures, never an outage
        i = rng.randrange(1, t.size - 1)
        if ok[i - 1] and ok[i + 1]:
            ok[i] = False
    for outage in OUTAGES.get(name, []):
        begin = now_t - int(outage.days_ago * DAY)
        ok[(t >= begin) & (t < begin + outage.minutes * 60)] = False
    for instance, days, _length, down, overrun, _, _ in PAST_WINDOWS:
        if instance == name:
            begin = _window_start(now_t, days)
            ok[(t >= begin) & (t < begin + (down + overrun) * 60)] = False
    keep = np.ones(t.size, dtype=np.bool_)
    if GAP[0] == name:
        begin = now_t - int(GAP[1] * DAY)
        keep = (t < begin) | (t >= begin + GAP[2] * 60)
    return t[keep], ok[keep]


def _window_start(now_t: int, days_ago: float) -> int:
    """Demo windows start on the hour, at night."""
    t = now_t - int(days_ago * DAY)
    return t - t % 3600


def _at(t: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def create_demo_monitoring(*, agent: User, now: dt.datetime, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data
    now = now.replace(microsecond=0)
    now_t = epoch(now)
    created = {"runs": 0, "windows": 0, "incidents": 0}
    for slug, zone in (("globex", "Europe/Berlin"), ("hooli", "America/Los_Angeles")):
        organization = Organization.objects.get(slug=slug)
        AvailabilitySettings.objects.update_or_create(
            organization=organization, defaults={"time_zone": zone}
        )
    for instance in ManagedInstance.objects.filter(organization__slug__in=["globex", "hooli"]):
        monitor, _ = Monitor.objects.update_or_create(
            instance=instance, defaults={"enabled": False, "interval_seconds": INTERVAL}
        )
        times, oks = _history(instance.name, now_t, rng)
        outcome = history_store(monitor=monitor, location="main", times=times, oks=oks, now=now)
        created["runs"] += outcome.runs
        admin = instance.organization.members.filter(role="org_admin").first()
        assert admin is not None
        for outage in OUTAGES.get(instance.name, []):
            begin = now_t - int(outage.days_ago * DAY)
            _past_incident(monitor, agent, begin, outage.minutes, outage.cause)
            created["incidents"] += 1
        for name, days, length, down, overrun, emergency, title in PAST_WINDOWS:
            if name != instance.name:
                continue
            _past_window(
                monitor,
                agent,
                admin,
                _window_start(now_t, days),
                length,
                down,
                overrun,
                emergency,
                title,
            )
            created["windows"] += 1
        Monitor.objects.filter(pk=monitor.pk).update(
            status=MonitorStatus.UP, status_since=_at(int(times[-1]))
        )
    _upcoming(agent, now)
    created["windows"] += 3
    return created


def _past_incident(monitor: Monitor, agent: User, begin: int, minutes: int, cause: str) -> None:
    detected = begin + 2 * INTERVAL
    incident = incidents.incident_outage_detected(
        monitor=monitor, started_at=_at(begin), failures=2, now=_at(detected)
    )
    incidents.incident_update_post(
        actor=agent,
        incident=incident,
        status=IncidentStatus.IDENTIFIED,
        message=f"Cause found: {cause} Working on it.",
        now=_at(detected + 8 * 60),
    )
    end = begin + minutes * 60
    incidents.incident_recovery_detected(monitor=monitor, down_since=_at(begin), now=_at(end))
    incidents.incidents_auto_resolve(now=_at(end + 31 * 60))


def _past_window(
    monitor: Monitor,
    agent: User,
    admin: User,
    start_t: int,
    length: int,
    down: int,
    overrun: int,
    emergency: bool,
    title: str,
) -> None:
    start = _at(start_t)
    end = _at(start_t + length * 60)
    if emergency:
        proposed_at = start - dt.timedelta(hours=3)
        window = maintenance.maintenance_window_propose(
            actor=agent,
            instance=monitor.instance,
            title=title,
            start=start,
            end=end,
            emergency=True,
            emergency_reason="A vulnerability in the web server is being exploited; "
            "the patch cannot wait for 24 hours' notice.",
            now=proposed_at,
        )
    else:
        proposed_at = start - dt.timedelta(days=3)
        window = maintenance.maintenance_window_propose(
            actor=agent,
            instance=monitor.instance,
            title=title,
            start=start,
            end=end,
            now=proposed_at,
        )
        maintenance.maintenance_window_confirm(
            actor=admin, window=window, now=proposed_at + dt.timedelta(hours=5)
        )
    maintenance.maintenance_sweep(now=start - dt.timedelta(hours=24))
    maintenance.maintenance_sweep(now=start - dt.timedelta(minutes=59))
    maintenance.maintenance_sweep(now=start)
    Monitor.objects.filter(pk=monitor.pk).update(
        status=MonitorStatus.MAINTENANCE if overrun else MonitorStatus.UP
    )
    maintenance.maintenance_sweep(now=end + dt.timedelta(seconds=20))
    if overrun:
        back = end + dt.timedelta(minutes=overrun)
        window.refresh_from_db()
        maintenance.maintenance_window_complete(actor=agent, window=window, now=back)
        Monitor.objects.filter(pk=monitor.pk).update(status=MonitorStatus.UP)
        incidents.incident_recovery_detected(monitor=monitor, down_since=end, now=back)
        incidents.incidents_auto_resolve(now=back + dt.timedelta(minutes=31))


def _upcoming(agent: User, now: dt.datetime) -> None:
    prod = ManagedInstance.objects.get(name="globex-prod")
    staging = ManagedInstance.objects.get(name="globex-staging")
    hooli = ManagedInstance.objects.get(name="hooli-prod")
    bob = User.objects.get(email="bob@globex.demo.test")
    night = (now + dt.timedelta(days=4)).replace(hour=2, minute=0, second=0)
    window = maintenance.maintenance_window_propose(
        actor=agent,
        instance=prod,
        title="Upgrade to 6.1.0",
        description="Rolling upgrade; search may be slow for a few minutes.",
        start=night,
        end=night + dt.timedelta(hours=1, minutes=30),
        now=now - dt.timedelta(hours=6),
    )
    maintenance.maintenance_window_confirm(
        actor=bob, window=window, now=now - dt.timedelta(hours=2)
    )
    later = (now + dt.timedelta(days=6)).replace(hour=3, minute=0, second=0)
    maintenance.maintenance_window_propose(
        actor=bob,
        instance=staging,
        title="Try the 6.1 release candidate on staging",
        start=later,
        end=later + dt.timedelta(hours=2),
        now=now - dt.timedelta(hours=1),
    )
    soon = (now + dt.timedelta(hours=30)).replace(minute=0, second=0)
    maintenance.maintenance_window_propose(
        actor=agent,
        instance=hooli,
        title="Move to the new load balancer",
        start=soon,
        end=soon + dt.timedelta(hours=2, minutes=30),
        emergency=True,
        emergency_reason="The old load balancer's certificate handling caused last week's "
        "outage; moving now prevents a repeat.",
        now=now - dt.timedelta(minutes=30),
    )
