"""Several probe locations: the quorum rule against a per-second reference built on the
single-location reference."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportdesk.availability import (
    AvailabilityConfig,
    Period,
    Timeline,
    combine_locations,
    runs_from_probes,
)
from supportdesk.availability.tests.examples import FAST
from supportdesk.availability.tests.reference import DOWN, MAINTENANCE, UNKNOWN, reference
from supportdesk.availability.tests.strategies import (
    MAX_DURATION,
    MIN_NOTICE,
    Scenario,
    scenarios,
)


def location_timeline(s: Scenario, probes: list[tuple[int, bool]]) -> Timeline:
    runs = runs_from_probes([t for t, _ in probes], [ok for _, ok in probes], max_gap=s.max_gap)
    return Timeline.from_runs(runs, config=s.config, windows=s.maintenance_windows)


def reference_states(s: Scenario, probes: list[tuple[int, bool]]) -> list[str]:
    return reference(
        probes,
        s.windows,
        s.start,
        s.end,
        interval=s.interval,
        max_gap=s.max_gap,
        n=s.n,
        min_notice=MIN_NOTICE,
        max_duration=MAX_DURATION,
    ).states


@FAST
@given(
    scenarios(),
    st.lists(scenarios(), min_size=0, max_size=2),
    st.integers(1, 3),
)
def test_combined_figures_match_a_per_second_quorum_of_the_reference(
    s: Scenario, others: list[Scenario], quorum: int
) -> None:
    locations = [s.probes, *(o.probes for o in others)]
    combined = combine_locations([location_timeline(s, p) for p in locations], quorum=quorum)
    per_location = [reference_states(s, p) for p in locations]
    compliant = [
        (w.start, w.end)
        for w in s.windows
        if not w.emergency
        and w.start - w.announced_at >= MIN_NOTICE
        and w.end - w.start <= MAX_DURATION
    ]
    known = down = maintenance = eligible = 0
    for i, second in enumerate(range(s.start, s.end)):
        states = [column[i] for column in per_location]
        reporting = sum(state != UNKNOWN for state in states)
        failing = sum(state in (DOWN, MAINTENANCE) for state in states)
        if not reporting:
            continue
        in_window = any(a <= second < b for a, b in compliant)
        known += 1
        eligible += not in_window
        if failing >= min(quorum, reporting):
            down += 1
            maintenance += in_window
    figures = combined.figures(s.period)
    assert figures.known_seconds == known
    assert figures.down_seconds == down
    assert figures.maintenance_seconds == maintenance
    assert figures.eligible_seconds == eligible
    assert figures.budget_seconds == Fraction(5, 1000) * eligible


@FAST
@given(scenarios())
def test_one_location_is_exactly_the_single_location_definitions(s: Scenario) -> None:
    single = location_timeline(s, s.probes)
    for quorum in (1, 2):
        combined = combine_locations([single, location_timeline(s, [])], quorum=quorum)
        assert combined.figures(s.period) == single.figures(s.period)
        assert combined.outages(s.period) == single.outages(s.period)


def test_two_of_three_must_agree_while_all_three_report() -> None:
    config = AvailabilityConfig(interval=10, failures_to_down=2)
    up = [(t, True) for t in range(0, 600, 10)]
    down_from_300 = [(t, t < 300) for t in range(0, 600, 10)]
    one_down = [location_timeline_of(config, p) for p in (up, up, down_from_300)]
    two_down = [location_timeline_of(config, p) for p in (up, down_from_300, down_from_300)]
    period = Period.from_epoch(0, 600)
    assert combine_locations(one_down, quorum=2).figures(period).down_seconds == 0
    assert combine_locations(two_down, quorum=2).figures(period).down_seconds == 300
    assert combine_locations(one_down, quorum=1).figures(period).down_seconds == 300


def location_timeline_of(config: AvailabilityConfig, probes: list[tuple[int, bool]]) -> Timeline:
    runs = runs_from_probes(
        [t for t, _ in probes], [ok for _, ok in probes], max_gap=config.max_gap
    )
    return Timeline.from_runs(runs, config=config)


def test_quorum_and_spans_are_validated() -> None:
    config = AvailabilityConfig(interval=10)
    with pytest.raises(ValueError, match="quorum"):
        combine_locations([], quorum=0, config=config, windows=())
    with pytest.raises(ValueError, match="overlap"):
        Timeline.from_spans([0, 5], [10, 20], [False, True], config=config)
    with pytest.raises(ValueError, match="end after"):
        Timeline.from_spans([0], [0], [False], config=config)
    empty = combine_locations([], quorum=1, config=config, windows=())
    assert empty.figures(Period.from_epoch(0, 100)).unknown_seconds == 100
