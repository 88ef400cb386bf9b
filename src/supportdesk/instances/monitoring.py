"""Monitoring: settings per instance, probe results folded into runs, the instance's state decided
from its locations (N consecutive failures; a quorum with several locations), and history imports.

The probe engine (`prober.py`) does the network part; everything that touches the database is
here, in plain synchronous Django code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from supportdesk.accounts.models import User
from supportdesk.availability import ProbeOrderError, fold_probe, runs_from_probes
from supportdesk.availability import ProbeRun as PureRun
from supportdesk.availability.runs import probe_arrays
from supportdesk.instances.common import epoch, from_epoch
from supportdesk.instances.models import (
    LocationState,
    Monitor,
    MonitorStatus,
    ProbeLocation,
    ProbeRun,
    WindowStatus,
)
from supportdesk.organizations.models import ManagedInstance

# --- settings -----------------------------------------------------------------------------------


def monitor_for(instance: ManagedInstance) -> Monitor:
    """The instance's monitor, created with the defaults on first use."""
    monitor, _ = Monitor.objects.get_or_create(instance=instance)
    return monitor


def monitors_sync() -> int:
    """Give every managed instance a monitor (instances are created elsewhere). Returns how many
    were created."""
    missing = ManagedInstance.objects.filter(monitor__isnull=True)
    created = [Monitor(instance=instance) for instance in missing]
    Monitor.objects.bulk_create(created, ignore_conflicts=True)
    return len(created)


@transaction.atomic
def monitor_configure(
    *,
    actor: User,
    instance: ManagedInstance,
    health_url: str,
    enabled: bool,
    expected_status: int,
    body_keyword: str,
    timeout_seconds: int,
    interval_seconds: int,
    max_gap_seconds: int | None,
    failures_to_down: int,
    quorum: int,
) -> Monitor:
    """Change how an instance is probed. `max_gap_seconds` None: 3 × the interval.

    `max_gap` cannot go below the largest gap inside the stored runs: their coverage would no
    longer be exact (docs/managed-instances.md, "Storing probes compactly")."""
    if not actor.is_agent:
        raise PermissionDenied("Only agents and leads change monitoring.")
    monitor = Monitor.objects.select_for_update().get(pk=monitor_for(instance).pk)
    errors: dict[str, str] = {}
    if timeout_seconds >= interval_seconds:
        errors["timeout_seconds"] = "The timeout must be shorter than the interval."
    max_gap = 3 * interval_seconds if max_gap_seconds is None else max_gap_seconds
    if max_gap < interval_seconds:
        errors["max_gap_seconds"] = "The maximum gap is at least the interval."
    largest = monitor.runs.aggregate(m=Max("max_step"))["m"] or 0
    if max_gap < largest:
        errors["max_gap_seconds"] = (
            f"Stored probe history has gaps of {largest} s inside runs; the maximum gap cannot "
            f"go below that."
        )
    if enabled and not health_url:
        errors["health_url"] = "Probing needs a health URL."
    if errors:
        raise ValidationError(errors)
    if instance.health_url != health_url:
        ManagedInstance.objects.filter(pk=instance.pk).update(health_url=health_url)
        instance.health_url = health_url
    monitor.enabled = enabled
    monitor.expected_status = expected_status
    monitor.body_keyword = body_keyword.strip()
    monitor.timeout_seconds = timeout_seconds
    monitor.interval_seconds = interval_seconds
    monitor.max_gap_seconds = max_gap
    monitor.failures_to_down = failures_to_down
    monitor.quorum = quorum
    monitor.updated_at = timezone.now()
    monitor.full_clean()
    monitor.save()
    return monitor


# --- probe results -> runs ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeResult:
    """One probe as the engine saw it. `t` is the second the request was sent (epoch seconds)."""

    monitor_id: int
    t: int
    ok: bool
    max_gap: int
    failures_to_down: int
    status_code: int | None = None
    latency_ms: int | None = None
    error: str = ""


def _pure(row: ProbeRun) -> PureRun:
    return PureRun(row.first_t, row.last_t, row.count, row.ok, row.max_step)


class RunStore:
    """Folds one location's probe results into stored runs.

    The process that holds the location's lease is the only writer of its runs, so it keeps the
    latest run of each monitor in memory and writes one UPDATE (or INSERT) per probe, batched.
    """

    def __init__(self, location: str) -> None:
        self.location = location
        self._last: dict[int, tuple[int, PureRun]] = {}

    def forget(self) -> None:
        self._last.clear()

    def _load(self, monitor_ids: Iterable[int]) -> None:
        wanted = [m for m in monitor_ids if m not in self._last]
        if not wanted:
            return
        latest = (
            ProbeRun.objects.filter(monitor_id__in=wanted, location=self.location)
            .values("monitor_id")
            .annotate(first=Max("first_t"))
        )
        keys = Q()
        for row in latest:
            keys |= Q(monitor_id=row["monitor_id"], first_t=row["first"])
        if latest:
            for run in ProbeRun.objects.filter(keys, location=self.location):
                self._last[run.monitor_id] = (run.pk, _pure(run))

    def record(self, results: Sequence[ProbeResult], *, now: dt.datetime) -> list[int]:
        """Store a batch in one transaction. Returns the monitors whose down/up state at this
        location changed (crossed N failures, or recovered), to be evaluated after commit."""
        if not results:
            return []
        ordered = sorted(results, key=lambda r: (r.monitor_id, r.t))
        ids = sorted({r.monitor_id for r in ordered})
        flipped: list[int] = []
        with transaction.atomic():
            self._load(ids)
            existing = set(Monitor.objects.filter(pk__in=ids).values_list("pk", flat=True))
            states = {
                s.monitor_id: s
                for s in LocationState.objects.filter(monitor_id__in=ids, location=self.location)
            }
            updates: dict[int, ProbeRun] = {}
            inserts: dict[int, list[ProbeRun]] = {}
            for result in ordered:
                if result.monitor_id not in existing:
                    continue  # deleted meanwhile
                last = self._last.get(result.monitor_id)
                try:
                    fold = fold_probe(
                        last[1] if last else None, result.t, result.ok, max_gap=result.max_gap
                    )
                except ProbeOrderError:
                    continue  # a clock step backwards: drop the probe rather than corrupt runs
                run = fold.run
                row = ProbeRun(
                    monitor_id=result.monitor_id,
                    location=self.location,
                    first_t=run.first_t,
                    last_t=run.last_t,
                    count=run.count,
                    ok=run.ok,
                    max_step=run.max_step,
                )
                if fold.extends_last and last is not None:
                    pending = inserts.get(result.monitor_id)
                    if pending and pending[-1].first_t == run.first_t:
                        pending[-1] = row  # extends a run created in this same batch
                    else:
                        row.pk = last[0]
                        updates[last[0]] = row
                    self._last[result.monitor_id] = (last[0], run)
                else:
                    inserts.setdefault(result.monitor_id, []).append(row)
                    self._last[result.monitor_id] = (-1, run)
                flipped_here = self._update_state(states, result)
                if flipped_here and result.monitor_id not in flipped:
                    flipped.append(result.monitor_id)
            if updates:
                ProbeRun.objects.bulk_update(
                    list(updates.values()), ["last_t", "count", "max_step"], batch_size=500
                )
            created = [row for rows in inserts.values() for row in rows]
            if created:
                ProbeRun.objects.bulk_create(created, batch_size=500)
                for monitor_id, rows in inserts.items():
                    newest = rows[-1]
                    if newest.pk is None:  # a backend that does not return ids
                        newest = ProbeRun.objects.get(
                            monitor_id=monitor_id, location=self.location, first_t=newest.first_t
                        )
                    self._last[monitor_id] = (newest.pk, _pure(newest))
            new_states = [s for s in states.values() if s.pk is None]
            old_states = [s for s in states.values() if s.pk is not None]
            if new_states:
                LocationState.objects.bulk_create(new_states)
            if old_states:
                LocationState.objects.bulk_update(
                    old_states,
                    [
                        "last_probe_at",
                        "last_ok",
                        "failures",
                        "failing_since",
                        "last_status_code",
                        "last_latency_ms",
                        "last_error",
                    ],
                    batch_size=500,
                )
        return flipped

    def _update_state(self, states: dict[int, LocationState], result: ProbeResult) -> bool:
        state = states.get(result.monitor_id)
        at = from_epoch(result.t)
        if state is None:
            state = LocationState(
                monitor_id=result.monitor_id,
                location=self.location,
                last_probe_at=at,
                last_ok=result.ok,
                failures=0,
            )
            states[result.monitor_id] = state
        was_down = state.failures >= result.failures_to_down
        if result.ok:
            state.failures = 0
            state.failing_since = None
        else:
            if state.failures == 0:
                state.failing_since = at
            state.failures += 1
        state.last_probe_at = at
        state.last_ok = result.ok
        state.last_status_code = result.status_code
        state.last_latency_ms = result.latency_ms
        state.last_error = result.error[:300]
        now_down = state.failures >= result.failures_to_down
        return was_down != now_down or state.pk is None


# --- the instance's state -------------------------------------------------------------------------


def monitor_evaluate(monitor_id: int, *, now: dt.datetime | None = None) -> str:
    """Decide the instance's state from its locations, and act on a change: an outage opens an
    incident (unless an announced window covers it: maintenance), a recovery moves the incident to
    monitoring and completes an overrunning window. Safe to call any number of times."""
    from supportdesk.instances.incidents import (
        incident_outage_detected,
        incident_recovery_detected,
    )
    from supportdesk.instances.maintenance import maintenance_window_complete, window_in_progress

    now = now or timezone.now()
    with transaction.atomic():
        monitor = Monitor.objects.select_for_update().select_related("instance").get(pk=monitor_id)
        fresh = list(
            monitor.locations.filter(
                last_probe_at__gte=now - dt.timedelta(seconds=monitor.max_gap_seconds)
            )
        )
        reporting = len(fresh)
        down = sorted(
            (s.failing_since or s.last_probe_at)
            for s in fresh
            if s.failures >= monitor.failures_to_down
        )
        needed = min(monitor.quorum, reporting)
        if reporting == 0:
            new = MonitorStatus.UNKNOWN
        elif len(down) >= needed:
            new = MonitorStatus.DOWN
        else:
            new = MonitorStatus.UP
        down_since = down[needed - 1] if new == MonitorStatus.DOWN else None
        window = None
        if new == MonitorStatus.DOWN:
            window = window_in_progress(monitor.instance_id, now)
            if window is not None:
                new = MonitorStatus.MAINTENANCE
        old = monitor.status
        if new == old:
            return new
        monitor.status = new
        monitor.status_since = now if down_since is None else down_since
        monitor.updated_at = now
        monitor.save(update_fields=["status", "status_since", "updated_at"])
        if new == MonitorStatus.DOWN and down_since is not None:
            overrunning = monitor.instance.maintenance_windows.filter(
                status=WindowStatus.OVERRUNNING
            ).first()
            incident_outage_detected(
                monitor=monitor,
                started_at=down_since,
                failures=max(s.failures for s in fresh),
                now=now,
                maintenance_window=overrunning,
            )
        elif new == MonitorStatus.UP and old in (MonitorStatus.DOWN, MonitorStatus.MAINTENANCE):
            incident_recovery_detected(monitor=monitor, down_since=None, now=now)
            for overrunning in monitor.instance.maintenance_windows.filter(
                status=WindowStatus.OVERRUNNING
            ):
                maintenance_window_complete(actor=None, window=overrunning, now=now)
        return new


def monitors_sweep(*, now: dt.datetime | None = None) -> int:
    """Periodic: create missing monitors and re-decide every monitor's state (a location that
    stopped reporting, a window that began). Returns how many changed."""
    now = now or timezone.now()
    monitors_sync()
    changed = 0
    for monitor_id, status in list(Monitor.objects.values_list("pk", "status")):
        if monitor_evaluate(monitor_id, now=now) != status:
            changed += 1
    return changed


# --- the location lease -------------------------------------------------------------------------


def location_lease_acquire(
    *, location: str, holder: str, seconds: int = 30, now: dt.datetime | None = None
) -> bool:
    """Hold `location` for `seconds` (renewing when `holder` has it already). One process probes
    from a location at a time, so several workers never double the probes or race on runs."""
    now = now or timezone.now()
    ProbeLocation.objects.get_or_create(name=location)
    won = (
        ProbeLocation.objects.filter(name=location)
        .filter(Q(holder=holder) | Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(holder=holder, lease_until=now + dt.timedelta(seconds=seconds), last_seen_at=now)
    )
    return won == 1


def location_lease_release(*, location: str, holder: str) -> None:
    ProbeLocation.objects.filter(name=location, holder=holder).update(lease_until=None)


def location_is_live(location: str, *, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return ProbeLocation.objects.filter(name=location, lease_until__gte=now).exists()


# --- importing history ----------------------------------------------------------------------------


class HistoryConflict(ValueError):
    """Imported probes that would interleave with the stored runs of that location."""


@dataclass(frozen=True)
class ImportOutcome:
    probes: int
    runs: int
    first_t: int
    last_t: int
    location: str


def history_store(
    *,
    monitor: Monitor,
    location: str,
    times: Sequence[int] | np.ndarray,
    oks: Sequence[bool] | np.ndarray,
    now: dt.datetime | None = None,
) -> ImportOutcome:
    """Store a probe history (any order; the same second twice is refused) as runs.

    Stored runs are never rewritten from probes they no longer hold, so the history must lie
    entirely before or entirely after what `location` has already (and after only while no live
    prober holds that location). Importing the same file twice is refused the same way."""
    now = now or timezone.now()
    t, ok = probe_arrays(times, oks)
    if t.size == 0:
        raise ValueError("no probes to import")
    if int(t[-1]) > epoch(now) + 60:
        raise ValueError(f"a probe at {from_epoch(int(t[-1])).isoformat()} is in the future")
    max_gap = max(monitor.max_gap_seconds, monitor.interval_seconds)
    runs = runs_from_probes(t, ok, max_gap=max_gap)
    with transaction.atomic():
        Monitor.objects.select_for_update().get(pk=monitor.pk)
        stored = ProbeRun.objects.filter(monitor=monitor, location=location)
        bounds = stored.aggregate(first=Min("first_t"), last=Max("last_t"))
        first_stored, last_stored = bounds["first"], bounds["last"]
        if first_stored is None:
            rows = runs
        elif int(t[-1]) < first_stored:
            neighbour = stored.order_by("first_t").first()
            assert neighbour is not None
            rows = _join(runs, [_pure(neighbour)], max_gap=max_gap)
            neighbour.delete()
        elif int(t[0]) > last_stored:
            if location_is_live(location, now=now):
                raise HistoryConflict(
                    f"location {location!r} is being probed live; import newer history into "
                    "another --location, or stop its prober first"
                )
            neighbour = stored.order_by("-first_t").first()
            assert neighbour is not None
            rows = _join([_pure(neighbour)], runs, max_gap=max_gap)
            neighbour.delete()
        else:
            raise HistoryConflict(
                f"the probes from {from_epoch(int(t[0])).isoformat()} to "
                f"{from_epoch(int(t[-1])).isoformat()} overlap the history stored for location "
                f"{location!r} ({from_epoch(first_stored).isoformat()} to "
                f"{from_epoch(last_stored).isoformat()}); import only older or newer probes"
            )
        ProbeRun.objects.bulk_create(
            [
                ProbeRun(
                    monitor=monitor,
                    location=location,
                    first_t=r.first_t,
                    last_t=r.last_t,
                    count=r.count,
                    ok=r.ok,
                    max_step=r.max_step,
                )
                for r in rows
            ],
            batch_size=1000,
        )
        if first_stored is None or int(t[0]) > last_stored:
            _state_from_history(monitor, location, t, ok)
    monitor_evaluate(monitor.pk, now=now)
    return ImportOutcome(int(t.size), len(runs), int(t[0]), int(t[-1]), location)


def _join(earlier: list[PureRun], later: list[PureRun], *, max_gap: int) -> list[PureRun]:
    """Two run lists, the second after the first; merge the touching pair as a fold would."""
    if not earlier or not later:
        return [*earlier, *later]
    a, b = earlier[-1], later[0]
    step = b.first_t - a.last_t
    if a.ok == b.ok and step <= max_gap:
        merged = PureRun(
            a.first_t, b.last_t, a.count + b.count, a.ok, max(a.max_step, b.max_step, step)
        )
        return [*earlier[:-1], merged, *later[1:]]
    return [*earlier, *later]


def _state_from_history(monitor: Monitor, location: str, t: np.ndarray, ok: np.ndarray) -> None:
    failing_tail = 0
    while failing_tail < t.size and not ok[t.size - 1 - failing_tail]:
        failing_tail += 1
    LocationState.objects.update_or_create(
        monitor=monitor,
        location=location,
        defaults={
            "last_probe_at": from_epoch(int(t[-1])),
            "last_ok": bool(ok[-1]),
            "failures": failing_tail,
            "failing_since": from_epoch(int(t[t.size - failing_tail])) if failing_tail else None,
            "last_error": "" if ok[-1] else "imported history",
            "last_status_code": None,
            "last_latency_ms": None,
        },
    )
