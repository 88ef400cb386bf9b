"""A slow, obviously-correct SLA clock, for checking the engine against.

It uses nothing from the engine but the calendar's plain data (time zone name, weekly ranges,
closed dates, special days, holiday country): the precedence rule and the "is this instant business
time?" predicate are written out here again from SPEC §3, and time is walked one UTC minute at a
time with ``zoneinfo`` doing every conversion.

Why minutes are enough: every boundary in the tests' calendars is on a whole minute of wall-clock
time, and every zone's offset and offset change is a whole number of minutes, so the predicate is
constant within each UTC minute. That assumption is *checked* on every minute walked (first and last
second must agree), not trusted. Pause and query instants may be any second: the walk also cuts at
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays

from supportdesk.sla.calendar import BusinessCalendar, VersionedCalendar

EpochPause = tuple[int, int | None]


@cache
def _holiday_list(country: str, subdivision: str | None) -> holidays.HolidayBase:
    # expand=True (the default): asking about any date computes that date's year.
    return holidays.country_holidays(country, subdiv=subdivision, observed=True)


def working_ranges(calendar: BusinessCalendar, day: date) -> list[tuple[int, int]]:
    """SPEC §3 precedence, written out: special day > closed date / public holiday > weekday."""
    for special in calendar.special_days:
        if special.date == day:
            return [(r.start, r.end) for r in special.hours]
    if day in calendar.closed_dates:
        return []
    ph = calendar.public_holidays
    if ph is not None and day in _holiday_list(ph.country, ph.subdivision):
        return []
    weekday_key = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
    return [(r.start, r.end) for r in getattr(calendar.hours, weekday_key)]


def calendar_at(calendar: BusinessCalendar | VersionedCalendar, t: int) -> BusinessCalendar:
    if isinstance(calendar, BusinessCalendar):
        return calendar
    current = calendar.initial
    for change in calendar.changes:
        if change.effective_from.timestamp() <= t:
            current = change.calendar
    return current


class _Oracle:
    """The predicate, with each (calendar, local date)'s ranges remembered during one walk."""

    def __init__(self, calendar: BusinessCalendar | VersionedCalendar) -> None:
        self.calendar = calendar
        self.ranges: dict[tuple[int, date], list[tuple[int, int]]] = {}

    def is_business(self, t: int) -> bool:
        """Is epoch second ``t`` business time? Its wall-clock date and time decide."""
        cal = calendar_at(self.calendar, t)
        wall = datetime.fromtimestamp(t, ZoneInfo(cal.timezone))
        key = (id(cal), wall.date())
        if key not in self.ranges:
            self.ranges[key] = working_ranges(cal, wall.date())
        second_of_day = wall.hour * 3600 + wall.minute * 60 + wall.second
        return any(a <= second_of_day < b for a, b in self.ranges[key])

    def counted(self, a: int, b: int, pauses: Sequence[EpochPause]) -> bool:
        """Whether the piece ``[a, b)`` counts (checking it is uniform, as the walk assumes)."""
        business = self.is_business(a)
        assert business == self.is_business(b - 1), f"predicate not constant on [{a}, {b})"
        return business and not _paused(a, pauses)


def is_business(calendar: BusinessCalendar | VersionedCalendar, t: int) -> bool:
    return _Oracle(calendar).is_business(t)


def _paused(t: int, pauses: Sequence[EpochPause]) -> bool:
    return any(a <= t and (b is None or t < b) for a, b in pauses)


def _pieces(start: int, stop: int, cuts: Iterable[int]) -> Iterable[tuple[int, int]]:
    """``[start, stop)`` cut at every UTC minute boundary and at ``cuts``."""
    points = {start, stop, *(c for c in cuts if start < c < stop)}
    points.update(range((start // 60 + 1) * 60, stop, 60))
    ordered = sorted(points)
    return pairwise(ordered)


def _cuts(
    calendar: BusinessCalendar | VersionedCalendar, pauses: Sequence[EpochPause]
) -> list[int]:
    cuts = [p for pause in pauses for p in pause if p is not None]
    if isinstance(calendar, VersionedCalendar):
        cuts += [int(c.effective_from.timestamp()) for c in calendar.changes]
    return cuts


def elapsed(
    calendar: BusinessCalendar | VersionedCalendar,
    start: int,
    end: int,
    pauses: Sequence[EpochPause] = (),
) -> int:
    """Business seconds in ``[start, end)`` outside every pause."""
    oracle = _Oracle(calendar)
    return sum(
        b - a
        for a, b in _pieces(start, end, _cuts(calendar, pauses))
        if oracle.counted(a, b, pauses)
    )


def due(
    calendar: BusinessCalendar | VersionedCalendar,
    start: int,
    target: int,
    pauses: Sequence[EpochPause] = (),
    *,
    give_up: int,
) -> int | None:
    """Earliest ``t`` with ``elapsed(start, t) >= target``, searching up to ``give_up``.

    Returns ``None`` if not reached by then (the tests choose ``give_up`` so that it is reached,
    or it is unreachable because of an open pause).
    """
    if target == 0:
        return start
    oracle = _Oracle(calendar)
    used = 0
    for a, b in _pieces(start, give_up, _cuts(calendar, pauses)):
        if oracle.counted(a, b, pauses):
            if used + (b - a) >= target:
                return a + (target - used)
            used += b - a
    return None


def to_epoch(moment: datetime) -> int:
    assert moment.tzinfo is not None
    return int(moment.timestamp())


def from_epoch(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)
