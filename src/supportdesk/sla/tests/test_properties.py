"""The engine agrees with the slow reference on random calendars, zones, starts, targets, pauses.

Zones include the southern hemisphere (Sydney, Santiago, Adelaide), half- and quarter-hour offsets
(Kolkata, Adelaide, Kathmandu, Chatham), a 30-minute DST shift (Lord Howe) and Casablanca's
several changes a year; half of the starts are within days of an offset change. The reference
walks minute by minute, so horizons are kept to a few days and example counts modest: the whole
file runs in a few seconds.
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

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
from supportdesk.sla.tests.strategies import (
    HOLIDAY_SETS,
    ZONES,
    calendars,
    dst_scenarios,
    holiday_noons,
    offset_changes,
    scenarios,
    starts,
)

# SLA_HYPOTHESIS_SCALE=10 runs ten times as many examples (the default keeps the suite fast).
SCALE = float(os.environ.get("SLA_HYPOTHESIS_SCALE", "1"))
AGAINST_REFERENCE = settings(
    max_examples=max(1, int(40 * SCALE)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ENGINE_ONLY = settings(
    max_examples=max(1, int(80 * SCALE)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
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
    if not pauses:  # the datetime API has its own hot path for this case
        assert clock.due(reference.from_epoch(start), target) == reference.from_epoch(expected)
    # ...and one just beyond: with an open pause the clock stops for good, so due is undefined.
    open_pause_started = any(end is None and begin < start + horizon for begin, end in pauses)
    if open_pause_started:
        assert clock.due_epoch(start, available + 1, pauses) is None


@AGAINST_REFERENCE
@given(st.sampled_from(ZONES), st.sampled_from([h for h in HOLIDAY_SETS if h]), st.data())
def test_whole_local_days_around_holidays_and_offset_changes_agree_with_the_reference(
    zone_key: str, holiday_set: tuple[str, str | None], data: st.DataObject
) -> None:
    """Three whole local days centred on a public holiday or an offset change, per day."""
    moments = holiday_noons(holiday_set) + offset_changes(zone_key)
    day = datetime.fromtimestamp(data.draw(st.sampled_from(moments)), ZoneInfo(zone_key)).date()
    midnights = [
        int(datetime.combine(day + timedelta(days=k), time(), ZoneInfo(zone_key)).timestamp())
        for k in (-1, 0, 1, 2)
    ]
    calendar = data.draw(calendars(zone_key, midnights[1], holiday_set), label="calendar")
    clock = BusinessClock(calendar)
    for since, until in pairwise(midnights):
        assert clock.elapsed_epoch(since, until) == reference.elapsed(calendar, since, until)


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
    if not pauses:  # the datetime API has its own hot path for this case
        assert clock.due(reference.from_epoch(start), target) == reference.from_epoch(due)


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
