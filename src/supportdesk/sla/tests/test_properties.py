"""The engine agrees with the slow reference on random calendars, zones, starts, targets, pauses.

Zones include the southern hemisphere (Sydney, Santiago, Adelaide), half- and quarter-hour offsets
(Kolkata, Adelaide, Kathmandu, Chatham), a 30-minute DST shift (Lord Howe) and Casablanca's
several changes a year; half of the starts are within days of an offset change. The reference
walks minute by minute, so horizons are kept to a few days and example counts modest: the whole
file runs in a few seconds.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportdesk.sla import (
    BusinessCalendar,
    VersionedCalendar,
    calendar_from_toml,
    calendar_to_toml,
)
from supportdesk.sla.clock import BusinessClock
from supportdesk.sla.tests import reference
from supportdesk.sla.tests.strategies import ZONES, calendars, dst_scenarios, scenarios, starts

AGAINST_REFERENCE = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
ENGINE_ONLY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@AGAINST_REFERENCE
@given(st.one_of(scenarios(versioned=True), dst_scenarios()))
def test_elapsed_agrees_with_the_reference(
    scenario: tuple[BusinessCalendar | VersionedCalendar, int, int, list[tuple[int, int | None]]],
) -> None:
    calendar, start, horizon, pauses = scenario
    clock = BusinessClock(calendar)
    end = start + horizon
    assert clock.elapsed_epoch(start, end, pauses) == reference.elapsed(
        calendar, start, end, pauses
    )


@AGAINST_REFERENCE
@given(st.one_of(scenarios(versioned=True), dst_scenarios()), st.data())
def test_due_agrees_with_the_reference(
    scenario: tuple[BusinessCalendar | VersionedCalendar, int, int, list[tuple[int, int | None]]],
    data: st.DataObject,
) -> None:
    calendar, start, horizon, pauses = scenario
    clock = BusinessClock(calendar)
    # A target that the reference reaches within the horizon (the walk must stay short)...
    available = reference.elapsed(calendar, start, start + horizon, pauses)
    target = data.draw(st.integers(0, available), label="target")
    if data.draw(st.booleans(), label="aim at a closing instant"):
        # A budget that runs out exactly at the end of a working interval must be due *at* that
        # end (17:00), not at the next opening: aim at such ends on purpose.
        window = (reference.from_epoch(start), reference.from_epoch(start + horizon))
        ends = [reference.to_epoch(end) for _, end in clock.working_intervals(*window)]
        if ends:
            target = reference.elapsed(calendar, start, data.draw(st.sampled_from(ends)), pauses)
    expected = reference.due(calendar, start, target, pauses, give_up=start + horizon)
    assert expected is not None
    assert clock.due_epoch(start, target, pauses) == expected
    # ...and one just beyond: with an open pause the clock stops for good, so due is undefined.
    open_pause_started = any(end is None and begin < start + horizon for begin, end in pauses)
    if open_pause_started:
        assert clock.due_epoch(start, available + 1, pauses) is None


@ENGINE_ONLY
@given(scenarios(versioned=True, max_horizon=60 * 86400), st.data())
def test_elapsed_from_start_to_due_is_the_target_and_due_is_the_earliest(
    scenario: tuple[BusinessCalendar | VersionedCalendar, int, int, list[tuple[int, int | None]]],
    data: st.DataObject,
) -> None:
    calendar, start, horizon, pauses = scenario
    clock = BusinessClock(calendar)
    target = data.draw(st.integers(0, 400 * 3600), label="target")
    if data.draw(st.booleans(), label="aim at a closing instant"):
        window = (reference.from_epoch(start), reference.from_epoch(start + horizon))
        ends = [reference.to_epoch(end) for _, end in clock.working_intervals(*window)]
        if ends:
            target = clock.elapsed_epoch(start, data.draw(st.sampled_from(ends)), pauses)
    due = clock.due_epoch(start, target, pauses)
    if due is None:
        open_since = min(begin for begin, end in pauses if end is None)
        assert clock.elapsed_epoch(start, max(start, open_since), pauses) < target
        return
    assert clock.elapsed_epoch(start, due, pauses) == target
    if target > 0:
        assert clock.elapsed_epoch(start, due - 1, pauses) < target


@ENGINE_ONLY
@given(st.sampled_from(ZONES).flatmap(lambda z: st.tuples(st.just(z), starts(z))), st.data())
def test_batches_agree_with_single_queries(
    zone_and_start: tuple[str, int], data: st.DataObject
) -> None:
    zone_key, first_start = zone_and_start
    calendar = data.draw(calendars(zone_key, first_start), label="calendar")
    clock = BusinessClock(calendar)
    offsets = data.draw(st.lists(st.integers(0, 30 * 86400), min_size=1, max_size=20))
    targets = data.draw(
        st.lists(st.integers(0, 100 * 3600), min_size=len(offsets), max_size=len(offsets))
    )
    batch_starts = np.array([first_start + o for o in offsets], dtype=np.int64)
    # Aim half of the targets at closing instants (the "due at closing" rule).
    for k, start in enumerate(batch_starts.tolist()):
        window = (reference.from_epoch(start), reference.from_epoch(start + 5 * 86400))
        ends = [reference.to_epoch(end) for _, end in clock.working_intervals(*window)]
        aim = data.draw(st.booleans(), label="aim at a closing instant")
        if ends and aim:
            targets[k] = clock.elapsed_epoch(start, data.draw(st.sampled_from(ends)))
    batch_targets = np.array(targets, dtype=np.int64)
    dues = clock.due_batch(batch_starts, batch_targets)
    assert dues.tolist() == [
        clock.due_epoch(int(s), int(x)) for s, x in zip(batch_starts, batch_targets, strict=True)
    ]
    elapsed = clock.elapsed_batch(batch_starts, dues)
    assert elapsed.tolist() == targets


@ENGINE_ONLY
@given(st.sampled_from(ZONES).flatmap(lambda z: st.tuples(st.just(z), starts(z))), st.data())
def test_calendar_files_round_trip(zone_and_start: tuple[str, int], data: st.DataObject) -> None:
    zone_key, start = zone_and_start
    calendar = data.draw(calendars(zone_key, start))
    assert calendar_from_toml(calendar_to_toml(calendar)) == calendar
