"""The availability definitions of issue 6, evaluated exactly from probes or from runs.

The definitions, as implemented here:

* Probes sorted by time cover ``[t_i, t_{i+1})`` when that gap is at most ``max_gap``; otherwise
  probe i covers ``[t_i, t_i + interval)`` and the rest of the gap is unknown. The last probe covers
  ``[t_n, t_n + interval)``. Before the first probe and after the last coverage: unknown.
* A covered span is down when its probe failed and belongs to a streak of at least
  ``failures_to_down`` consecutive failing probes in the sorted sequence. A gap in the monitoring
  does not end a streak: the definition counts consecutive probes, not time.
* Down time inside a compliant maintenance window is maintenance; all other down time (overruns,
  emergency and other non-compliant windows) is downtime.
* For a period: known = period − unknown; eligible = known time outside compliant windows;
  raw = (known − down) / known; SLA = (eligible − downtime) / eligible; budget = (1 − target) ×
  eligible; remaining = budget − downtime.

How: a :class:`Timeline` cuts time at every coverage and window edge into segments, labels each
segment (covered, down, inside a compliant window) and keeps running totals at the cuts. The
figures of any period are then differences of two totals, found by binary search, so a report
for a quarter, 90 daily bars and a month costs the same small amount once the timeline is built.
Building is linear in the number of runs (or probes) and windows, plus one sort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from supportdesk.availability.figures import DEFAULT_TARGET, AvailabilityFigures
from supportdesk.availability.maintenance import (
    DEFAULT_POLICY,
    ComplianceVerdict,
    MaintenancePolicy,
    MaintenanceWindow,
    check_window,
)
from supportdesk.availability.periods import Period
from supportdesk.availability.runs import ProbeRun, probe_arrays
from supportdesk.availability.timebase import epoch_seconds, format_instant, utc_datetime

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Larger intervals or gaps than ten years are input mistakes, and keep int64 sums far from overflow.
MAX_STEP_SECONDS = 10 * 366 * 86_400


def _positive_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer number of seconds, not {value!r}")
    if not minimum <= value <= MAX_STEP_SECONDS:
        raise ValueError(f"{name} must be between {minimum} and {MAX_STEP_SECONDS}, not {value}")
    return value


@dataclass(frozen=True, init=False)
class AvailabilityConfig:
    """The parameters of the definitions: probe interval, N, max gap, SLA target, window policy."""

    interval: int
    failures_to_down: int
    max_gap: int
    target: Fraction
    policy: MaintenancePolicy

    def __init__(
        self,
        *,
        interval: int,
        failures_to_down: int = 2,
        max_gap: int | None = None,
        target: Fraction | str = DEFAULT_TARGET,
        policy: MaintenancePolicy = DEFAULT_POLICY,
    ) -> None:
        """``max_gap`` defaults to 3 × ``interval``; ``target`` is exact (``"0.995"``, no float)."""
        interval = _positive_int("interval", interval, 1)
        failures = _positive_int("failures_to_down", failures_to_down, 1)
        # max_gap < interval would let a lone probe's coverage overlap the next probe.
        gap = _positive_int("max_gap", 3 * interval if max_gap is None else max_gap, interval)
        exact_target = Fraction(target)
        if not 0 < exact_target <= 1:
            raise ValueError(f"target must be above 0 and at most 1, not {target}")
        object.__setattr__(self, "interval", interval)
        object.__setattr__(self, "failures_to_down", failures)
        object.__setattr__(self, "max_gap", gap)
        object.__setattr__(self, "target", exact_target)
        object.__setattr__(self, "policy", policy)


class State(StrEnum):
    """What a stretch of time was, for timelines and bar charts."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"  # counts as downtime
    MAINTENANCE = "maintenance"  # down inside a compliant window


_STATES = (State.UNKNOWN, State.UP, State.DOWN, State.MAINTENANCE)


@dataclass(frozen=True)
class StateSpan:
    start: datetime
    end: datetime
    state: State

    @property
    def seconds(self) -> int:
        return epoch_seconds(self.end) - epoch_seconds(self.start)


@dataclass(frozen=True)
class Outage:
    """A maximal down stretch within a period (clipped to it), split into downtime and maintenance.

    It begins at the first failing probe of the streak (the streak made it down retroactively).
    """

    start: datetime
    end: datetime
    downtime_seconds: int
    maintenance_seconds: int

    @property
    def seconds(self) -> int:
        return self.downtime_seconds + self.maintenance_seconds


@dataclass(frozen=True)
class RunSelection:
    """Which stored runs a report on a period needs to be exact.

    All runs with ``last_t >= last_t_from`` and ``first_t < first_t_before``, plus ``context_runs``
    runs on each side of those (ordered by ``first_t``). Runs ending more than ``max_gap`` before
    the period cannot cover any of it, nor can runs starting ``max_gap`` after it affect the
    coverage inside it; the context runs only complete failure streaks that cross the edges (a
    streak needs at most N − 1 more probes, and every run holds at least one).
    """

    last_t_from: int
    first_t_before: int
    context_runs: int


def runs_needed(period: Period, config: AvailabilityConfig) -> RunSelection:
    return RunSelection(
        last_t_from=period.start_t - config.max_gap,
        first_t_before=period.end_t + config.max_gap,
        context_runs=config.failures_to_down - 1,
    )


def _compliant_intervals(
    windows: Sequence[MaintenanceWindow], policy: MaintenancePolicy
) -> tuple[tuple[ComplianceVerdict, ...], Int64Array, Int64Array]:
    """Verdicts in input order, and the union of the compliant windows as sorted disjoint ranges."""
    verdicts = tuple(check_window(window, policy) for window in windows)
    spans = sorted(
        (
            epoch_seconds(v.window.start, what="window start"),
            epoch_seconds(v.window.end, what="window end"),
        )
        for v in verdicts
        if v.compliant
    )
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    starts = np.array([s for s, _ in merged], dtype=np.int64)
    ends = np.array([e for _, e in merged], dtype=np.int64)
    return verdicts, starts, ends


def _inside(points: Int64Array, starts: Int64Array, ends: Int64Array) -> BoolArray:
    """Whether each point lies in one of the sorted disjoint half-open ranges."""
    index = np.searchsorted(starts, points, side="right") - 1
    safe = np.clip(index, 0, None)
    if ends.size == 0:
        return np.zeros(points.shape, dtype=np.bool_)
    return (index >= 0) & (points < ends[safe])


class Timeline:
    """One instance's availability over time, built once, asked for figures of any period.

    Build it with :meth:`from_runs` (stored runs, the normal path) or :meth:`from_probes` (raw
    probe history, the CLI and imports). Both evaluate the same definitions exactly.
    """

    config: AvailabilityConfig
    verdicts: tuple[ComplianceVerdict, ...]
    """Compliance of each window passed in, in the order given."""

    def __init__(
        self,
        first: Int64Array,
        last: Int64Array,
        count: Int64Array,
        ok: BoolArray,
        *,
        config: AvailabilityConfig,
        windows: Sequence[MaintenanceWindow] = (),
    ) -> None:
        """Prefer the ``from_*`` constructors; this takes validated, sorted run columns."""
        # Coverage of each run: [first, cover_end). The last probe of a run covers up to the next
        # run when the gap is small enough, otherwise one interval.
        cover_end = last + config.interval
        if first.size > 1:
            gaps = first[1:] - last[:-1]
            cover_end[:-1] = np.where(gaps <= config.max_gap, first[1:], cover_end[:-1])

        # Down: failing runs whose streak (adjacent failing runs, counts summed) reaches N.
        failing = ~ok
        down = np.zeros(first.shape, dtype=np.bool_)
        if first.size:
            change = np.concatenate(([True], failing[1:] != failing[:-1]))
            streaks = np.add.reduceat(count, np.flatnonzero(change))
            group = np.cumsum(change) - 1
            down = failing & (streaks[group] >= config.failures_to_down)
        self._build(first, cover_end, down, config=config, windows=windows)

    def _build(
        self,
        first: Int64Array,
        cover_end: Int64Array,
        down: BoolArray,
        *,
        config: AvailabilityConfig,
        windows: Sequence[MaintenanceWindow],
    ) -> None:
        """Label time from disjoint sorted covered spans ``[first, cover_end)``, each up or down."""
        self.config = config
        self.verdicts, window_starts, window_ends = _compliant_intervals(windows, config.policy)

        # Cut time at every edge; label the segments between cuts. Coverage edges come already in
        # order (first, cover_end, next first, ...), so a stable sort, which finds sorted stretches,
        # and an adjacent-duplicate mask beat np.unique's hashing several times over.
        edges = np.empty(2 * first.size, dtype=np.int64)
        edges[0::2], edges[1::2] = first, cover_end
        points = np.sort(np.concatenate((edges, window_starts, window_ends)), kind="stable")
        distinct = np.ones(points.size, dtype=np.bool_)
        distinct[1:] = points[1:] != points[:-1]
        self._points: Int64Array = points[distinct]
        left = self._points[:-1]
        run = np.searchsorted(first, left, side="right") - 1
        safe = np.clip(run, 0, None)
        if first.size:
            covered = (run >= 0) & (left < cover_end[safe])
            is_down = covered & down[safe]
        else:
            covered = is_down = np.zeros(left.shape, dtype=np.bool_)
        in_window = _inside(left, window_starts, window_ends)
        # Rows: covered, down, covered in a compliant window, down in a compliant window.
        self._flags: Int64Array = np.vstack(
            (covered, is_down, covered & in_window, is_down & in_window)
        ).astype(np.int64)
        self._totals: Int64Array = np.zeros((4, self._points.size), dtype=np.int64)
        if self._points.size > 1:
            np.cumsum(self._flags * np.diff(self._points), axis=1, out=self._totals[:, 1:])

    @classmethod
    def from_spans(
        cls,
        starts: npt.ArrayLike,
        ends: npt.ArrayLike,
        down: npt.ArrayLike,
        *,
        config: AvailabilityConfig,
        windows: Sequence[MaintenanceWindow] = (),
    ) -> Timeline:
        """From covered spans ``[starts[i], ends[i])`` already decided up or down (``down[i]``).

        The spans must be sorted and disjoint (touching is fine); time outside them is unknown.
        This is how a decision made elsewhere (the quorum of several probe locations, see
        :func:`~supportdesk.availability.locations.combine_locations`) gets the same figures,
        outages and states as one location's runs.
        """
        first = np.asarray(starts, dtype=np.int64).reshape(-1)
        cover_end = np.asarray(ends, dtype=np.int64).reshape(-1)
        is_down = np.asarray(down, dtype=np.bool_).reshape(-1)
        if not first.shape == cover_end.shape == is_down.shape:
            raise ValueError("starts, ends and down must have the same length")
        if bool(np.any(cover_end <= first)):
            raise ValueError("every span must end after it starts")
        if first.size > 1 and bool(np.any(first[1:] < cover_end[:-1])):
            raise ValueError("spans must be sorted and must not overlap")
        timeline = cls.__new__(cls)
        timeline._build(first, cover_end.copy(), is_down, config=config, windows=windows)
        return timeline

    @classmethod
    def from_runs(
        cls,
        runs: Sequence[ProbeRun],
        *,
        config: AvailabilityConfig,
        windows: Sequence[MaintenanceWindow] = (),
    ) -> Timeline:
        """From stored runs in time order (for one period, see :func:`runs_needed`)."""
        first = np.fromiter((r.first_t for r in runs), dtype=np.int64, count=len(runs))
        last = np.fromiter((r.last_t for r in runs), dtype=np.int64, count=len(runs))
        count = np.fromiter((r.count for r in runs), dtype=np.int64, count=len(runs))
        ok = np.fromiter((r.ok for r in runs), dtype=np.bool_, count=len(runs))
        max_step = np.fromiter((r.max_step for r in runs), dtype=np.int64, count=len(runs))
        if first.size > 1:
            bad = np.flatnonzero(first[1:] <= last[:-1])
            if bad.size:
                i = int(bad[0])
                raise ValueError(
                    f"runs out of order or overlapping: run {i + 1} starts at "
                    f"{format_instant(int(first[i + 1]))}, not after run {i} ends at "
                    f"{format_instant(int(last[i]))}"
                )
        too_sparse = np.flatnonzero(max_step > config.max_gap)
        if too_sparse.size:
            i = int(too_sparse[0])
            raise ValueError(
                f"run {i} (from {format_instant(int(first[i]))}) has a gap of {int(max_step[i])} s "
                f"between probes, more than max_gap {config.max_gap} s; its coverage cannot be "
                "computed exactly (fold with the max_gap you compute with)"
            )
        return cls(first, last, count, ok, config=config, windows=windows)

    @classmethod
    def from_probes(
        cls,
        times: npt.ArrayLike,
        oks: npt.ArrayLike,
        *,
        config: AvailabilityConfig,
        windows: Sequence[MaintenanceWindow] = (),
    ) -> Timeline:
        """From raw probes (epoch seconds and results, any order; the same second twice is refused).

        Each probe is a run of one, which is the definition itself; it is the reference that the
        runs path is property-tested against. For long histories fold first
        (``from_runs(runs_from_probes(...))``): same figures, over ten times faster for a quarter
        of 60 s probes, since the timeline then has one segment per run, not per probe.
        """
        t, ok = probe_arrays(times, oks)
        return cls(t, t.copy(), np.ones(t.size, dtype=np.int64), ok, config=config, windows=windows)

    def coverage(self) -> tuple[Int64Array, BoolArray, BoolArray]:
        """The cut points and, per segment between two cuts, whether it is covered and down."""
        return self._points, self._flags[0].astype(np.bool_), self._flags[1].astype(np.bool_)

    @property
    def windows(self) -> tuple[MaintenanceWindow, ...]:
        return tuple(verdict.window for verdict in self.verdicts)

    # -- measures --------------------------------------------------------------------------------

    def _measure(self, at: Int64Array) -> Int64Array:
        """Running totals (4 × len(at)) of the labelled seconds before each instant in ``at``."""
        points, flags, totals = self._points, self._flags, self._totals
        segments = points.size - 1
        if segments < 1:
            return np.zeros((4, at.size), dtype=np.int64)
        index = np.searchsorted(points, at, side="right") - 1
        safe = np.clip(index, 0, segments - 1)
        result: Int64Array = totals[:, safe] + (at - points[safe]) * flags[:, safe]
        result[:, index < 0] = 0
        result[:, index >= segments] = totals[:, -1:]
        return result

    def figures_for(self, periods: Sequence[Period]) -> list[AvailabilityFigures]:
        """Figures of many periods at once (90 daily bars, twelve months) in one vectorised pass."""
        starts = np.array([p.start_t for p in periods], dtype=np.int64)
        ends = np.array([p.end_t for p in periods], dtype=np.int64)
        known, down, known_in_windows, down_in_windows = (
            self._measure(ends) - self._measure(starts)
        ).tolist()
        share = 1 - self.config.target
        return [
            AvailabilityFigures(
                period_seconds=period.seconds,
                known_seconds=k,
                eligible_seconds=k - kw,
                downtime_seconds=d - dw,
                maintenance_seconds=dw,
                budget_seconds=share * (k - kw),
            )
            for period, k, d, kw, dw in zip(
                periods, known, down, known_in_windows, down_in_windows, strict=True
            )
        ]

    def figures(self, period: Period) -> AvailabilityFigures:
        return self.figures_for([period])[0]

    def _pieces(self, period: Period) -> tuple[Int64Array, Int64Array]:
        """The period cut at every edge inside it, and the state code of each piece.

        Codes: 0 unknown, 1 up, 2 down, 3 maintenance (covered + down + down-in-window).
        """
        a, b = period.start_t, period.end_t
        points = self._points
        cuts = np.concatenate(([a], points[(points > a) & (points < b)], [b])).astype(np.int64)
        left = cuts[:-1]
        segments = points.size - 1
        codes = np.zeros(left.size, dtype=np.int64)
        if segments >= 1:
            index = np.searchsorted(points, left, side="right") - 1
            inside = (index >= 0) & (index < segments)
            flags = self._flags[:, index[inside]]
            codes[inside] = flags[0] + flags[1] + flags[3]
        # Merge neighbours in the same state.
        keep = np.concatenate(([True], codes[1:] != codes[:-1]))
        return np.append(left[keep], b), codes[keep]

    def states(self, period: Period) -> list[StateSpan]:
        """The period as consecutive spans of unknown, up, down and maintenance."""
        if period.seconds == 0:
            return []
        cuts, codes = self._pieces(period)
        return [
            StateSpan(utc_datetime(s), utc_datetime(e), _STATES[c])
            for s, e, c in zip(cuts[:-1].tolist(), cuts[1:].tolist(), codes.tolist(), strict=True)
        ]

    def outages(self, period: Period) -> list[Outage]:
        """Maximal down stretches inside the period, maintenance and downtime alike, in order."""
        if period.seconds == 0:
            return []
        cuts, codes = self._pieces(period)
        down = codes >= 2
        begins = np.flatnonzero(down & ~np.concatenate(([False], down[:-1])))
        finishes = np.flatnonzero(down & ~np.concatenate((down[1:], [False])))
        if begins.size == 0:
            return []
        starts, ends = cuts[begins], cuts[finishes + 1]
        maintenance = (self._measure(ends)[3] - self._measure(starts)[3]).tolist()
        return [
            Outage(utc_datetime(s), utc_datetime(e), e - s - m, m)
            for s, e, m in zip(starts.tolist(), ends.tolist(), maintenance, strict=True)
        ]
