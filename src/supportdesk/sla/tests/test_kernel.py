"""The compiled single-query kernel (``_kernel.c``) answers exactly as the pure-Python path does.

``BusinessClock.due`` hands the common case (an aware ``datetime``, a whole-second target, no
pauses, inside the current table) to the kernel and everything else to Python; these tests run
the same queries through ``BusinessClock(calendar)`` and ``BusinessClock(calendar,
use_kernel=False)``, on random calendars and zones (those of the property tests), with starts in
UTC, in the calendar's zone, at a fixed offset, with microseconds and on both sides of a repeated
hour, and with the inputs the kernel must leave to Python.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportdesk.sla import BusinessCalendar, DurationError, HorizonError, SlaError, WeeklyHours
from supportdesk.sla import clock as clock_module
from supportdesk.sla.clock import BusinessClock
from supportdesk.sla.tests.strategies import ZONES, calendars, starts


def outcome(clock: BusinessClock, start: object, target: object) -> object:
    """What ``clock.due`` returns, or the type and message of what it raises."""
    try:
        return clock.due(start, target)  # type: ignore[arg-type]
    except SlaError as error:
        return (type(error), str(error))


def test_the_kernel_is_built() -> None:
    """Installing supportdesk compiles the kernel (setup.py); a missing one would only be slower,
    so the test suite makes sure the fast path is what it tests."""
    assert clock_module.KERNEL == "c"
    assert clock_module.Kernel is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ZONES).flatmap(lambda z: st.tuples(st.just(z), starts(z))), st.data())
def test_the_kernel_agrees_with_the_python_path(
    zone_and_start: tuple[str, int], data: st.DataObject
) -> None:
    zone_key, first = zone_and_start
    calendar = data.draw(calendars(zone_key, first), label="calendar")
    compiled, python = BusinessClock(calendar), BusinessClock(calendar, use_kernel=False)
    zone = ZoneInfo(zone_key)
    for _ in range(10):
        t = first + data.draw(st.integers(-3 * 86400, 40 * 86400), label="offset")
        micro = data.draw(st.sampled_from([0, 0, 1, 999_999]), label="microseconds")
        as_utc = datetime.fromtimestamp(t, UTC).replace(microsecond=micro)
        start = data.draw(
            st.sampled_from(
                [
                    as_utc,
                    as_utc.astimezone(zone),
                    as_utc.astimezone(zone).replace(fold=1),  # a repeated hour's second pass
                    as_utc.astimezone(timezone(timedelta(hours=-3, minutes=-30))),
                ]
            ),
            label="start",
        )
        seconds = data.draw(
            st.one_of(st.integers(0, 200 * 3600), st.sampled_from([1, 8 * 3600, 24 * 3600])),
            label="target seconds",
        )
        target = data.draw(st.sampled_from([seconds, timedelta(seconds=seconds)]), label="target")
        assert outcome(compiled, start, target) == outcome(python, start, target)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        pytest.param(datetime(2026, 3, 6, 16, 30), 3600, id="naive start"),
        pytest.param(datetime(2026, 3, 6, 16, 30, tzinfo=UTC), -1, id="negative int"),
        pytest.param(datetime(2026, 3, 6, 16, 30, tzinfo=UTC), timedelta(-1), id="negative delta"),
        pytest.param(
            datetime(2026, 3, 6, 16, 30, tzinfo=UTC), timedelta(seconds=1.5), id="sub-second"
        ),
        pytest.param(datetime(2026, 3, 6, 16, 30, tzinfo=UTC), True, id="bool target"),
        pytest.param(datetime(2026, 3, 6, 16, 30, tzinfo=UTC), 2.0, id="float target"),
        pytest.param(datetime(2026, 3, 6, 16, 30, tzinfo=UTC), 1 << 70, id="huge int"),
        pytest.param(datetime(2300, 1, 1, tzinfo=UTC), 3600, id="beyond the horizon"),
        pytest.param("2026-03-06T16:30:00Z", 3600, id="a string"),
    ],
)
def test_what_the_kernel_leaves_to_python_raises_the_same_errors(
    start: object, target: object
) -> None:
    calendar = BusinessCalendar(
        timezone="America/Los_Angeles", hours=WeeklyHours.weekdays("09:00-17:00")
    )
    compiled, python = BusinessClock(calendar), BusinessClock(calendar, use_kernel=False)
    compiled.due(datetime(2026, 1, 5, tzinfo=UTC), 1)  # a table exists, so the kernel is in use
    expected = outcome(python, start, target)
    assert isinstance(expected, tuple)
    assert expected[0] in (SlaError, DurationError, HorizonError)
    assert outcome(compiled, start, target) == expected


def test_starts_and_targets_outside_the_table_grow_it_and_agree() -> None:
    """The kernel reads only the current table: a start years later, or a target longer than
    what the table holds, goes to Python, which grows the table (and installs a new kernel)."""
    calendar = BusinessCalendar(timezone="Europe/Berlin", hours=WeeklyHours.weekdays("09:00-17:00"))
    compiled, python = BusinessClock(calendar), BusinessClock(calendar, use_kernel=False)
    first = datetime(2026, 6, 1, 7, tzinfo=UTC)  # 09:00 in Berlin (CEST)
    queries: list[tuple[datetime, timedelta | int]] = [
        (first, timedelta(hours=1)),
        (datetime(2040, 6, 1, 8, tzinfo=UTC), timedelta(hours=1)),  # start beyond the table
        (first, timedelta(days=3000)),  # a target beyond the table's total
        (datetime(2040, 6, 1, 8, 59, 59, 999_999, tzinfo=UTC), 1),
    ]
    for start, target in queries:
        assert compiled.due(start, target) == python.due(start, target)
    assert compiled.due(first, 8 * 3600) == datetime(2026, 6, 1, 15, tzinfo=UTC)


def test_a_datetime_subclass_takes_the_python_path_with_the_same_answer() -> None:
    class Stamp(datetime):
        pass

    calendar = BusinessCalendar.always_open("Australia/Adelaide")
    start = Stamp(2026, 4, 4, 15, 45, tzinfo=ZoneInfo("Australia/Adelaide"))
    assert BusinessClock(calendar).due(start, 3600) == BusinessClock(
        calendar, use_kernel=False
    ).due(start, 3600)
    assert BusinessClock(calendar).due(start, 3600) == start + timedelta(hours=1)


def test_a_tzinfo_whose_utcoffset_fails_raises_its_own_error() -> None:
    class Broken(timezone.__base__):  # type: ignore[misc,name-defined]
        def utcoffset(self, dt: datetime | None) -> timedelta:
            raise RuntimeError("no offset today")

    calendar = BusinessCalendar.always_open("UTC")
    start = datetime(2026, 1, 1, tzinfo=Broken())
    clock = BusinessClock(calendar)
    clock.due(datetime(2026, 1, 1, tzinfo=UTC), 1)
    with pytest.raises(RuntimeError, match="no offset today"):
        clock.due(start, 60)
