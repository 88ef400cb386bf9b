"""The availability definitions: properties against the per-second reference, and named cases."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportdesk.availability import (
    AvailabilityConfig,
    AvailabilityFigures,
    MaintenanceWindow,
    Period,
    ProbeRun,
    State,
    Timeline,
    aggregate,
    epoch_seconds,
    month_period,
    runs_from_probes,
    runs_needed,
)
from supportdesk.availability.tests.examples import FAST
from supportdesk.availability.tests.reference import (
    DOWN,
    MAINTENANCE,
    UNKNOWN,
    UP,
    RefResult,
    down_stretches,
    reference,
)
from supportdesk.availability.tests.strategies import (
    MAX_DURATION,
    MIN_NOTICE,
    Scenario,
    scenarios,
)


def run_reference(s: Scenario, start: int | None = None, end: int | None = None) -> RefResult:
    return reference(
        s.probes,
        s.windows,
        s.start if start is None else start,
        s.end if end is None else end,
        interval=s.interval,
        max_gap=s.max_gap,
        n=s.n,
        min_notice=MIN_NOTICE,
        max_duration=MAX_DURATION,
    )


def assert_matches_reference(figures: AvailabilityFigures, s: Scenario) -> None:
    ref = run_reference(s)
    assert figures.period_seconds == s.end - s.start
    assert figures.known_seconds == ref.known
    assert figures.unknown_seconds == ref.unknown
    assert figures.down_seconds == ref.down
    assert figures.maintenance_seconds == ref.maintenance
    assert figures.downtime_seconds == ref.downtime
    assert figures.eligible_seconds == ref.eligible
    assert figures.budget_seconds == Fraction(5, 1000) * ref.eligible


# -- properties ----------------------------------------------------------------------------------


@FAST
@given(scenarios())
def test_figures_from_probes_match_the_per_second_reference(s: Scenario) -> None:
    timeline = Timeline.from_probes(s.times, s.oks, config=s.config, windows=s.maintenance_windows)
    assert_matches_reference(timeline.figures(s.period), s)


@FAST
@given(scenarios(regular=True))
def test_figures_from_runs_equal_figures_from_raw_probes_regular_spacing(s: Scenario) -> None:
    windows = s.maintenance_windows
    from_probes = Timeline.from_probes(s.times, s.oks, config=s.config, windows=windows)
    runs = runs_from_probes(s.times, s.oks, max_gap=s.max_gap)
    from_runs = Timeline.from_runs(runs, config=s.config, windows=windows)
    assert from_runs.figures(s.period) == from_probes.figures(s.period)
    assert from_runs.outages(s.period) == from_probes.outages(s.period)
    assert from_runs.states(s.period) == from_probes.states(s.period)
    assert_matches_reference(from_runs.figures(s.period), s)


@FAST
@given(scenarios())
def test_figures_from_runs_are_exact_for_irregular_spacing_too(s: Scenario) -> None:
    runs = runs_from_probes(s.times, s.oks, max_gap=s.max_gap)
    timeline = Timeline.from_runs(runs, config=s.config, windows=s.maintenance_windows)
    assert_matches_reference(timeline.figures(s.period), s)


@FAST
@given(scenarios())
def test_states_and_outages_match_the_reference_second_by_second(s: Scenario) -> None:
    timeline = Timeline.from_probes(s.times, s.oks, config=s.config, windows=s.maintenance_windows)
    ref = run_reference(s)
    walked: list[str] = []
    for span in timeline.states(s.period):
        walked.extend([str(span.state)] * span.seconds)
    assert walked == ref.states
    outages = [
        (epoch_seconds(o.start), epoch_seconds(o.end), o.maintenance_seconds)
        for o in timeline.outages(s.period)
    ]
    assert outages == down_stretches(ref.states, s.start)


@FAST
@given(scenarios(), st.lists(st.integers(0, 60), max_size=6))
def test_figures_of_adjacent_periods_add_up(s: Scenario, cut_offsets: list[int]) -> None:
    """Per-day bars must sum to the month: the vectorised bucket path is additive and exact."""
    cuts = sorted({s.start, s.end, *(min(s.start + c, s.end) for c in cut_offsets)})
    pieces = [Period.from_epoch(a, b) for a, b in itertools.pairwise(cuts)]
    timeline = Timeline.from_probes(s.times, s.oks, config=s.config, windows=s.maintenance_windows)
    whole = timeline.figures(s.period)
    parts = timeline.figures_for(pieces)
    assert aggregate(parts) == whole if pieces else whole.period_seconds == 0
    for piece, figures in zip(pieces, parts, strict=True):
        assert figures == timeline.figures(piece)


@FAST
@given(scenarios(regular=True, max_probes=60), st.integers(0, 60), st.integers(0, 60))
def test_the_runs_a_report_needs_give_the_full_history_figures(
    s: Scenario, skip_start: int, length: int
) -> None:
    """``runs_needed`` is what the Django side loads: the slice must be as good as everything."""
    runs = runs_from_probes(s.times, s.oks, max_gap=s.max_gap)
    start = (s.times[0] if s.times else 0) + skip_start
    period = Period.from_epoch(start, start + length)
    need = runs_needed(period, s.config)
    selected = [
        i
        for i, r in enumerate(runs)
        if r.last_t >= need.last_t_from and r.first_t < need.first_t_before
    ]
    if selected:
        lo = max(0, selected[0] - need.context_runs)
        hi = selected[-1] + 1 + need.context_runs
        sliced = runs[lo:hi]
    else:
        sliced = []
    windows = s.maintenance_windows
    full = Timeline.from_runs(runs, config=s.config, windows=windows)
    part = Timeline.from_runs(sliced, config=s.config, windows=windows)
    assert part.figures(period) == full.figures(period)
    assert part.outages(period) == full.outages(period)


@FAST
@given(st.lists(scenarios(max_probes=20), min_size=1, max_size=3))
def test_aggregate_is_time_weighted(instances: list[Scenario]) -> None:
    figures = [
        Timeline.from_probes(
            s.times, s.oks, config=s.config, windows=s.maintenance_windows
        ).figures(s.period)
        for s in instances
    ]
    total = aggregate(figures)
    known = sum(f.known_seconds for f in figures)
    eligible = sum(f.eligible_seconds for f in figures)
    if known:
        weighted = sum((f.raw_availability or 0) * f.known_seconds for f in figures) / known
        assert total.raw_availability == pytest.approx(weighted)
    else:
        assert total.raw_availability is None
    if eligible:
        weighted = sum((f.sla_availability or 0) * f.eligible_seconds for f in figures) / eligible
        assert total.sla_availability == pytest.approx(weighted)
    assert total.budget_remaining_seconds == sum(f.budget_remaining_seconds for f in figures)


# -- named cases, at the real scale: 60 s probes, 24 h notice, 2 h windows ------------------------

T0 = datetime(2026, 10, 5, 0, 0, tzinfo=UTC)
DAY = Period(T0, T0 + timedelta(days=1))
CONFIG = AvailabilityConfig(interval=60)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def probes_every_minute(
    *down: tuple[float, float], stop: float = 24
) -> tuple[list[int], list[bool]]:
    """Probes every 60 s over the day; failing inside the given (from, to) hour ranges."""
    times = list(range(epoch_seconds(T0), epoch_seconds(at(stop)), 60))
    oks = [
        not any(epoch_seconds(at(a)) <= t < epoch_seconds(at(b)) for a, b in down) for t in times
    ]
    return times, oks


def window(
    start: float, end: float, *, notice: timedelta, emergency: bool = False
) -> MaintenanceWindow:
    return MaintenanceWindow(at(start) - notice, at(start), at(end), emergency)


def test_a_compliant_window_turns_its_down_time_into_maintenance() -> None:
    times, oks = probes_every_minute((2, 3))
    w = window(2, 3.5, notice=timedelta(days=3))
    figures = Timeline.from_probes(times, oks, config=CONFIG, windows=[w]).figures(DAY)
    assert figures.maintenance_seconds == 3600
    assert figures.downtime_seconds == 0
    assert figures.eligible_seconds == 86_400 - 5_400
    assert figures.sla_availability == 1.0
    assert figures.raw_availability == pytest.approx(1 - 3600 / 86_400)


def test_maintenance_overrun_counts_as_downtime_past_the_scheduled_end() -> None:
    times, oks = probes_every_minute((2, 4.5))  # a 2 h window, down for 2.5 h
    w = window(2, 4, notice=timedelta(days=2))
    timeline = Timeline.from_probes(times, oks, config=CONFIG, windows=[w])
    figures = timeline.figures(DAY)
    assert figures.maintenance_seconds == 7_200
    assert figures.downtime_seconds == 1_800
    assert figures.budget_remaining_seconds == Fraction(5, 1000) * (86_400 - 7_200) - 1_800
    [outage] = timeline.outages(DAY)
    assert (outage.start, outage.end) == (at(2), at(4.5))
    assert (outage.maintenance_seconds, outage.downtime_seconds) == (7_200, 1_800)
    assert [s.state for s in timeline.states(DAY)] == [
        State.UP,
        State.MAINTENANCE,
        State.DOWN,
        State.UP,
    ]


@pytest.mark.parametrize(
    ("notice", "compliant"),
    [(timedelta(hours=23, minutes=59), False), (timedelta(hours=24), True)],
)
def test_notice_of_23_h_59_min_is_not_enough(notice: timedelta, compliant: bool) -> None:
    times, oks = probes_every_minute((2, 3))
    w = window(2, 3, notice=notice)
    timeline = Timeline.from_probes(times, oks, config=CONFIG, windows=[w])
    figures = timeline.figures(DAY)
    assert timeline.verdicts[0].compliant is compliant
    assert figures.downtime_seconds == (0 if compliant else 3600)
    assert figures.maintenance_seconds == (3600 if compliant else 0)


@pytest.mark.parametrize(
    ("length", "compliant"),
    [(timedelta(hours=2, minutes=1), False), (timedelta(hours=2), True)],
)
def test_a_window_of_2_h_01_min_is_too_long(length: timedelta, compliant: bool) -> None:
    times, oks = probes_every_minute((2, 3))
    w = MaintenanceWindow(at(2) - timedelta(days=2), at(2), at(2) + length)
    figures = Timeline.from_probes(times, oks, config=CONFIG, windows=[w]).figures(DAY)
    assert figures.downtime_seconds == (0 if compliant else 3600)
    assert figures.eligible_seconds == 86_400 - (length.seconds if compliant else 0)


def test_an_emergency_window_counts_as_downtime_and_excludes_nothing() -> None:
    times, oks = probes_every_minute((2, 3))
    emergency = window(2, 3, notice=timedelta(days=2), emergency=True)
    with_window = Timeline.from_probes(times, oks, config=CONFIG, windows=[emergency]).figures(DAY)
    without = Timeline.from_probes(times, oks, config=CONFIG).figures(DAY)
    assert with_window == without
    assert with_window.downtime_seconds == 3600
    assert with_window.sla_availability == with_window.raw_availability


def test_a_monitor_gap_is_unknown_and_shrinks_the_known_time_and_the_budget() -> None:
    times, oks = probes_every_minute()
    gap_from, gap_to = epoch_seconds(at(10)), epoch_seconds(at(11))
    kept = [(t, ok) for t, ok in zip(times, oks, strict=True) if not gap_from < t < gap_to]
    timeline = Timeline.from_probes([t for t, _ in kept], [ok for _, ok in kept], config=CONFIG)
    figures = timeline.figures(DAY)
    # The probe at 10:00 covers one interval; the rest of the hour is unknown.
    assert figures.unknown_seconds == 3600 - 60
    assert figures.raw_availability == 1.0
    assert figures.budget_seconds == Fraction(5, 1000) * (86_400 - 3540)
    assert [s.state for s in timeline.states(DAY)] == [State.UP, State.UNKNOWN, State.UP]


def test_a_gap_up_to_max_gap_is_covered_by_the_probe_before_it() -> None:
    t = epoch_seconds(T0)
    timeline = Timeline.from_probes([t, t + 180, t + 361], [True] * 3, config=CONFIG)
    figures = timeline.figures(Period.from_epoch(t, t + 421))
    # 0..180 covered (gap 180 = max_gap), 180..240 covered, 240..361 unknown, 361..421 covered.
    assert figures.unknown_seconds == 121


def test_flapping_single_failures_are_not_down() -> None:
    times, _ = probes_every_minute()
    flapping = [i % 2 == 0 for i in range(len(times))]
    figures = Timeline.from_probes(times, flapping, config=CONFIG).figures(DAY)
    assert figures.down_seconds == 0
    assert figures.raw_availability == 1.0
    strict = AvailabilityConfig(interval=60, failures_to_down=1)
    assert Timeline.from_probes(times, flapping, config=strict).figures(DAY).down_seconds == 43_200


def test_a_streak_of_failures_continues_across_a_monitoring_gap() -> None:
    """The definition counts consecutive probes; a gap in between does not reset the count."""
    t = epoch_seconds(T0)
    timeline = Timeline.from_probes([t, t + 3600], [False, False], config=CONFIG)
    figures = timeline.figures(Period.from_epoch(t, t + 7200))
    assert figures.down_seconds == 120
    assert figures.unknown_seconds == 7200 - 120


def test_an_outage_starts_at_the_first_failed_probe() -> None:
    times, oks = probes_every_minute((9, 9.5))
    [outage] = Timeline.from_probes(times, oks, config=CONFIG).outages(DAY)
    assert outage.start == at(9)
    assert outage.end == at(9.5)


def test_before_the_first_probe_and_after_the_last_coverage_is_unknown() -> None:
    times, oks = probes_every_minute(stop=12)
    figures = Timeline.from_probes(times[60:], oks[60:], config=CONFIG).figures(DAY)
    assert figures.known_seconds == 11 * 3600


def test_zero_denominators_give_none_not_a_crash() -> None:
    nothing = Timeline.from_probes([], [], config=CONFIG).figures(DAY)
    assert nothing.known_seconds == 0
    assert (nothing.raw_availability, nothing.sla_availability) == (None, None)
    assert nothing.to_dict()["raw_availability"] is None
    times, oks = probes_every_minute(stop=1)
    all_maintenance = Timeline.from_probes(
        times, oks, config=CONFIG, windows=[window(0, 2, notice=timedelta(days=1))]
    ).figures(DAY)
    assert all_maintenance.raw_availability == 1.0
    assert all_maintenance.sla_availability is None
    assert all_maintenance.budget_remaining_seconds == 0
    empty = Timeline.from_probes(times, oks, config=CONFIG).figures(Period(T0, T0))
    assert empty == aggregate([])


@pytest.mark.parametrize(
    ("month", "days", "budget"),
    [
        (2, 28, timedelta(hours=3, minutes=21, seconds=36)),
        (4, 30, timedelta(hours=3, minutes=36)),
        (3, 31, timedelta(hours=3, minutes=43, seconds=12)),
    ],
)
def test_month_budgets_with_full_coverage(month: int, days: int, budget: timedelta) -> None:
    period = month_period(2026, month, "UTC")
    assert period.seconds == days * 86_400
    times = range(period.start_t, period.end_t, 60)
    figures = Timeline.from_probes(times, [True] * len(times), config=CONFIG).figures(period)
    assert figures.eligible_seconds == days * 86_400
    assert figures.budget_seconds == budget.total_seconds()
    assert figures.budget_remaining_seconds == budget.total_seconds()


def test_runs_folded_with_a_larger_gap_are_refused() -> None:
    runs = [ProbeRun(0, 600, 2, True, 600)]
    with pytest.raises(ValueError, match="more than max_gap 180 s"):
        Timeline.from_runs(runs, config=CONFIG)


def test_overlapping_runs_are_refused() -> None:
    runs = [ProbeRun(0, 120, 3, True, 60), ProbeRun(120, 120, 1, False)]
    with pytest.raises(ValueError, match="out of order or overlapping"):
        Timeline.from_runs(runs, config=CONFIG)


def test_configuration_is_validated() -> None:
    assert AvailabilityConfig(interval=30).max_gap == 90
    with pytest.raises(ValueError, match="max_gap"):
        AvailabilityConfig(interval=60, max_gap=59)
    with pytest.raises(TypeError, match="interval"):
        AvailabilityConfig(interval=True)
    with pytest.raises(ValueError, match="target"):
        AvailabilityConfig(interval=60, target="1.5")
    assert AvailabilityConfig(interval=60, target="0.999").target == Fraction(999, 1000)


def test_window_times_must_be_whole_seconds() -> None:
    w = MaintenanceWindow(at(0), at(30), at(30.5) + timedelta(microseconds=1))
    with pytest.raises(ValueError, match="fraction of a second"):
        Timeline.from_probes([], [], config=CONFIG, windows=[w])


def test_reference_sanity() -> None:
    """The reference itself, on a case small enough to check by hand."""
    ref = reference(
        [(0, True), (1, False), (2, False), (5, True)], [], 0, 8, interval=1, max_gap=2, n=2
    )
    assert ref.states == [UP, DOWN, DOWN, UNKNOWN, UNKNOWN, UP, UNKNOWN, UNKNOWN]
    assert MAINTENANCE not in ref.states


@pytest.mark.parametrize(
    ("target", "budget"), [("0.995", 432), ("0.999", Fraction(432, 5)), ("1", 0)]
)
def test_the_target_sets_the_budget(target: str, budget: Fraction) -> None:
    times, oks = probes_every_minute()
    config = AvailabilityConfig(interval=60, target=target)
    figures = Timeline.from_probes(times, oks, config=config).figures(DAY)
    assert figures.budget_seconds == budget
