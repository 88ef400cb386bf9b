"""Hypothesis strategies: small probe histories, windows and periods, in integer seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hypothesis import strategies as st

from supportdesk.availability import (
    AvailabilityConfig,
    MaintenancePolicy,
    MaintenanceWindow,
    Period,
    utc_datetime,
)
from supportdesk.availability.tests.reference import RefWindow

# Small numbers keep the per-second reference fast; the policy is scaled down to match, which
# also exercises a non-default policy.
MIN_NOTICE, MAX_DURATION = 30, 20
POLICY = MaintenancePolicy(
    min_notice=timedelta(seconds=MIN_NOTICE), max_duration=timedelta(seconds=MAX_DURATION)
)


@dataclass(frozen=True)
class Scenario:
    interval: int
    max_gap: int
    n: int
    probes: list[tuple[int, bool]]  # sorted by time
    windows: list[RefWindow]
    start: int  # the period
    end: int

    @property
    def config(self) -> AvailabilityConfig:
        return AvailabilityConfig(
            interval=self.interval, failures_to_down=self.n, max_gap=self.max_gap, policy=POLICY
        )

    @property
    def period(self) -> Period:
        return Period.from_epoch(self.start, self.end)

    @property
    def times(self) -> list[int]:
        return [t for t, _ in self.probes]

    @property
    def oks(self) -> list[bool]:
        return [ok for _, ok in self.probes]

    @property
    def maintenance_windows(self) -> list[MaintenanceWindow]:
        return [
            MaintenanceWindow(
                utc_datetime(w.announced_at),
                utc_datetime(w.start),
                utc_datetime(w.end),
                w.emergency,
            )
            for w in self.windows
        ]


@st.composite
def windows(draw: st.DrawFn, low: int, high: int) -> RefWindow:
    start = draw(st.integers(low, high))
    length = draw(st.integers(1, 2 * MAX_DURATION))
    notice = draw(st.integers(-10, 2 * MIN_NOTICE))
    return RefWindow(start - notice, start, start + length, draw(st.booleans()))


@st.composite
def scenarios(draw: st.DrawFn, *, regular: bool = False, max_probes: int = 40) -> Scenario:
    """Probe histories with runs, flapping and monitoring gaps.

    ``regular``: probes every ``interval`` seconds except for occasional gaps larger than
    ``max_gap`` (a monitor outage), the shape real histories have.
    """
    interval = draw(st.integers(1, 8))
    max_gap = draw(st.integers(interval, 4 * interval))
    n = draw(st.integers(1, 4))
    count = draw(st.integers(0, max_probes))
    if regular:
        # One draw per step: mostly ``interval``, sometimes a gap beyond ``max_gap``.
        codes = draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))
        big = draw(st.integers(max_gap + 1, max_gap + 3 * interval))
        steps = [interval if code else big for code in codes]
    else:
        steps = draw(st.lists(st.integers(1, 5 * interval), min_size=count, max_size=count))
    origin = draw(st.integers(-30, 30))
    times: list[int] = []
    for step in steps:
        times.append(origin if not times else times[-1] + step)
    # Results in streaks of 1 to 6 probes (1: flapping), alternating between up and down.
    streaks = draw(st.lists(st.integers(1, 6), min_size=1, max_size=max(1, count)))
    state = draw(st.booleans())
    oks: list[bool] = []
    while len(oks) < count:
        for length in streaks:
            oks.extend([state] * length)
            state = not state
    del oks[count:]
    low = (times[0] if times else origin) - 2 * interval - 5
    high = (times[-1] if times else origin) + 2 * max_gap + 5
    drawn_windows = draw(st.lists(windows(low, high), max_size=3))
    start = draw(st.integers(low, high))
    end = draw(st.integers(start, high + 10))
    return Scenario(
        interval, max_gap, n, list(zip(times, oks, strict=True)), drawn_windows, start, end
    )
