"""Compact probe storage: runs of equal results instead of one row per probe.

A probe every 60 s is 130,000 rows per instance per quarter. The availability definitions only need
to know, for every stretch of time, which probe covers it and whether that probe failed inside a
long enough streak of failures. A :class:`ProbeRun` keeps exactly that: a maximal sequence of
consecutive probes with the same result and no gap larger than ``max_gap`` between two of them.
A new run starts at every change of result and at every big gap.

Why this is exact (no assumption about regular spacing): inside a run every gap is at most
``max_gap``, so by the definition each probe covers up to the next one and the run covers
``[first_t, last_t)`` without a hole. The last probe of the run covers up to the next run's
``first_t`` when that gap is at most ``max_gap``, otherwise ``[last_t, last_t + interval)``. Down
needs streaks of consecutive failing probes; a run knows how many probes it holds, and a streak is
the sum of the counts of adjacent failing runs (a gap ends a run but not a streak: the definition
counts consecutive failures in the sorted probe sequence, whatever the time between them).

The fold records the largest gap inside each run (``max_step``) so that a computation with a
smaller ``max_gap`` than the runs were folded with is detected and refused instead of being
silently wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from supportdesk.availability.timebase import MAX_SECONDS, format_instant


class ProbeOrderError(ValueError):
    """A probe is not later than the probes already folded (runs are append-only)."""


@dataclass(frozen=True, slots=True)
class ProbeRun:
    """``count`` consecutive probes, all ``ok`` or all failed, from ``first_t`` to ``last_t``.

    Times are epoch seconds (see :func:`~supportdesk.availability.timebase.epoch_seconds`).

    ``max_step`` is the largest gap between two consecutive probes of the run (0 for one probe).
    """

    first_t: int
    last_t: int
    count: int
    ok: bool
    max_step: int = 0

    def __post_init__(self) -> None:
        span = self.last_t - self.first_t
        if not isinstance(self.ok, bool):
            raise TypeError(f"ok must be a bool, not {type(self.ok).__name__}")
        if self.count < 1:
            raise ValueError(f"a run holds at least one probe, not {self.count}")
        if self.count == 1:
            consistent = span == 0 and self.max_step == 0
        else:
            # count - 1 steps, each between 1 and max_step seconds, one of them exactly max_step.
            consistent = 1 <= self.max_step <= span - (self.count - 2) and span <= self.max_step * (
                self.count - 1
            )
        if not consistent:
            raise ValueError(
                f"inconsistent run: first_t={self.first_t} last_t={self.last_t} "
                f"count={self.count} max_step={self.max_step}"
            )


@dataclass(frozen=True, slots=True)
class Fold:
    """What to store after one probe: replace the last run (``extends_last``) or append ``run``."""

    run: ProbeRun
    extends_last: bool


def fold_probe(last: ProbeRun | None, t: int, ok: bool, *, max_gap: int) -> Fold:
    """Fold one probe (at ``t`` epoch seconds) into the instance's latest run.

    This is the probe worker's write path: load the latest run, fold, then update that row when
    ``extends_last`` or insert ``run`` as a new row otherwise. Probes must arrive in time order;
    an older or same-second probe raises :class:`ProbeOrderError` (drop it, or rebuild the runs
    with :func:`runs_from_probes` when importing history).
    """
    if not isinstance(ok, bool):
        raise TypeError(f"ok must be a bool, not {type(ok).__name__}")
    if last is None:
        return Fold(ProbeRun(t, t, 1, ok, 0), extends_last=False)
    if t <= last.last_t:
        raise ProbeOrderError(
            f"probe at {format_instant(t)} is not after the last folded probe "
            f"at {format_instant(last.last_t)}"
        )
    step = t - last.last_t
    if ok is last.ok and step <= max_gap:
        extended = ProbeRun(last.first_t, t, last.count + 1, ok, max(last.max_step, step))
        return Fold(extended, extends_last=True)
    return Fold(ProbeRun(t, t, 1, ok, 0), extends_last=False)


def fold_probes(
    probes: Sequence[tuple[int, bool]], *, max_gap: int, runs: Sequence[ProbeRun] = ()
) -> list[ProbeRun]:
    """Fold probes one at a time onto existing ``runs`` (the incremental path, in plain Python)."""
    result = list(runs)
    for t, ok in probes:
        fold = fold_probe(result[-1] if result else None, t, ok, max_gap=max_gap)
        if fold.extends_last:
            result[-1] = fold.run
        else:
            result.append(fold.run)
    return result


def probe_arrays(
    times: npt.ArrayLike, oks: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Probe times and results as arrays sorted by time; duplicate times are refused."""
    t = np.asarray(times, dtype=np.int64).reshape(-1)
    ok = np.asarray(oks, dtype=np.bool_).reshape(-1)
    if t.shape != ok.shape:
        raise ValueError(f"{t.size} probe times but {ok.size} results")
    if t.size and (np.abs(t).max() > MAX_SECONDS):
        raise ValueError("a probe time is out of range")
    if t.size > 1 and not bool(np.all(t[1:] > t[:-1])):
        order = np.argsort(t, kind="stable")
        t, ok = t[order], ok[order]
        same = np.flatnonzero(t[1:] == t[:-1])
        if same.size:
            raise ValueError(f"two probes at the same time {format_instant(int(t[same[0]]))}")
    return t, ok


def runs_from_probes(times: npt.ArrayLike, oks: npt.ArrayLike, *, max_gap: int) -> list[ProbeRun]:
    """Fold a whole probe history into runs at once (vectorised; the import path).

    Gives the same runs as :func:`fold_probes` on the sorted probes (a property test holds it).
    """
    t, ok = probe_arrays(times, oks)
    if t.size == 0:
        return []
    steps = np.diff(t)
    breaks = (ok[1:] != ok[:-1]) | (steps > max_gap)
    starts = np.concatenate(([0], np.flatnonzero(breaks) + 1))
    ends = np.concatenate((starts[1:], [t.size])) - 1
    # The largest step inside each run. reduceat maximises from one multi-probe run's start to the
    # next one's; the steps in between all cross a break and were zeroed, so they cannot win.
    inner = np.where(breaks, 0, steps)
    max_steps = np.zeros(starts.size, dtype=np.int64)
    multi = ends > starts
    if bool(multi.any()):
        max_steps[multi] = np.maximum.reduceat(inner, starts[multi])
    return [
        ProbeRun(int(t[s]), int(t[e]), int(e - s + 1), bool(ok[s]), int(m))
        for s, e, m in zip(starts.tolist(), ends.tolist(), max_steps.tolist(), strict=True)
    ]
