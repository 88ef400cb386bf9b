"""A slow, obviously correct reference: classify every second of a period from the definitions.

Written straight from issue 6's wording, sharing no code with the implementation, for small
periods (a few thousand seconds) in property tests.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

UNKNOWN, UP, DOWN, MAINTENANCE = "unknown", "up", "down", "maintenance"


@dataclass(frozen=True)
class RefWindow:
    announced_at: int
    start: int
    end: int
    emergency: bool = False


@dataclass(frozen=True)
class RefResult:
    states: list[str]  # one per second of the period
    known: int
    down: int
    maintenance: int
    downtime: int
    eligible: int

    @property
    def unknown(self) -> int:
        return len(self.states) - self.known


def probe_is_down(oks: Sequence[bool], n: int) -> list[bool]:
    """Per probe: failed, and part of a run of at least n consecutive failures."""
    down = [False] * len(oks)
    i = 0
    while i < len(oks):
        if oks[i]:
            i += 1
            continue
        j = i
        while j < len(oks) and not oks[j]:
            j += 1
        if j - i >= n:
            for k in range(i, j):
                down[k] = True
        i = j
    return down


def reference(
    probes: Sequence[tuple[int, bool]],
    windows: Sequence[RefWindow],
    start: int,
    end: int,
    *,
    interval: int,
    max_gap: int,
    n: int,
    min_notice: int = 86_400,
    max_duration: int = 7_200,
) -> RefResult:
    ordered = sorted(probes)
    times = [t for t, _ in ordered]
    down_probe = probe_is_down([ok for _, ok in ordered], n)
    compliant = [
        (w.start, w.end)
        for w in windows
        if not w.emergency
        and w.start - w.announced_at >= min_notice
        and w.end - w.start <= max_duration
    ]
    states: list[str] = []
    known = down = maintenance = eligible = 0
    for second in range(start, end):
        k = bisect_right(times, second) - 1  # the latest probe at or before this second
        if k < 0:
            covered = False
        else:
            next_close = k + 1 < len(times) and times[k + 1] - times[k] <= max_gap
            covered = next_close or second < times[k] + interval
        in_window = any(ws <= second < we for ws, we in compliant)
        if not covered:
            states.append(UNKNOWN)
            continue
        known += 1
        if not in_window:
            eligible += 1
        if down_probe[k]:
            down += 1
            if in_window:
                maintenance += 1
                states.append(MAINTENANCE)
            else:
                states.append(DOWN)
        else:
            states.append(UP)
    return RefResult(states, known, down, maintenance, down - maintenance, eligible)


def down_stretches(states: Sequence[str], start: int) -> list[tuple[int, int, int]]:
    """Maximal runs of down or maintenance seconds: (start, end, maintenance seconds)."""
    result: list[tuple[int, int, int]] = []
    i = 0
    while i < len(states):
        if states[i] in (DOWN, MAINTENANCE):
            j = i
            while j < len(states) and states[j] in (DOWN, MAINTENANCE):
                j += 1
            result.append((start + i, start + j, states[i:j].count(MAINTENANCE)))
            i = j
        else:
            i += 1
    return result
