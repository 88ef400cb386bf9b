"""Hypothesis strategies: random calendars, zones, starts, targets and pauses.

Starts are drawn either anywhere in 2024–2031 or within a few days of one of the zone's offset
changes, because that is where clocks go wrong. Weekly hours favour the awkward boundaries: 00:00,
24:00, and the small hours when DST changes happen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import strategies as st

from supportdesk.sla import (
    WEEKDAYS,
    BusinessCalendar,
    CalendarVersion,
    PublicHolidays,
    SpecialDay,
    TimeRange,
    VersionedCalendar,
    WeeklyHours,
)
from supportdesk.sla.zones import offset_segments

ZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "America/St_Johns",  # -03:30 with DST
    "Europe/Berlin",
    "Europe/London",
    "Australia/Sydney",  # southern hemisphere
    "America/Santiago",  # southern hemisphere, changes at local midnight
    "Asia/Kolkata",  # +05:30, no DST
    "Australia/Adelaide",  # +09:30 / +10:30, southern hemisphere
    "Australia/Lord_Howe",  # a DST shift of only 30 minutes
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",  # +12:45 / +13:45
    "Africa/Casablanca",  # DST suspended each Ramadan: several changes a year
    "UTC",
)

HOLIDAY_SETS = (None, ("US", None), ("DE", "BY"), ("AU", "NSW"), ("CL", None), ("GB", None))

FIRST, LAST = (
    int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2031, 12, 1, tzinfo=UTC).timestamp()),
)

_CHANGES: dict[str, list[int]] = {}


def offset_changes(zone_key: str) -> list[int]:
    """Instants at which the zone's offset changes in 2024–2031 (only used to aim the starts)."""
    if zone_key not in _CHANGES:
        begins, _ = offset_segments(zone_key, FIRST, LAST)
        _CHANGES[zone_key] = begins[1:]
    return _CHANGES[zone_key]


_MINUTE_MARKS = st.one_of(
    st.integers(0, 1440),
    st.sampled_from([0, 60, 90, 120, 150, 180, 1380, 1410, 1440]),  # midnight, small hours, 24:00
)


@st.composite
def day_ranges(draw: st.DrawFn, max_ranges: int = 3) -> tuple[TimeRange, ...]:
    """0–3 non-overlapping ranges of a day on whole minutes, sometimes touching 00:00 or 24:00."""
    count = draw(st.integers(0, max_ranges))
    marks = sorted(set(draw(st.lists(_MINUTE_MARKS, min_size=2 * count, max_size=2 * count))))
    if len(marks) % 2:
        marks = marks[:-1]
    return tuple(TimeRange(marks[k] * 60, marks[k + 1] * 60) for k in range(0, len(marks), 2))


@st.composite
def weekly_hours(draw: st.DrawFn) -> WeeklyHours:
    kind = draw(st.sampled_from(["random", "random", "random", "office", "always"]))
    if kind == "always":
        return WeeklyHours.always()
    if kind == "office":
        return WeeklyHours.weekdays("09:00-17:00")
    days = {key: draw(day_ranges()) for key in WEEKDAYS}
    if not any(days.values()):
        days[draw(st.sampled_from(WEEKDAYS))] = (TimeRange(0, 86400),)
    return WeeklyHours(**days)


_HOLIDAYS: dict[tuple[str, str | None], list[int]] = {}


def holiday_noons(holiday_set: tuple[str, str | None]) -> list[int]:
    """Noon UTC of each public holiday in 2024–2031 (only used to aim the starts)."""
    if holiday_set not in _HOLIDAYS:
        country, subdivision = holiday_set
        listed = holidays.country_holidays(country, subdiv=subdivision, years=range(2024, 2032))
        _HOLIDAYS[holiday_set] = sorted(
            int(datetime(d.year, d.month, d.day, 12, tzinfo=UTC).timestamp()) for d in listed
        )
    return _HOLIDAYS[holiday_set]


@st.composite
def starts(
    draw: st.DrawFn, zone_key: str, holiday_set: tuple[str, str | None] | None = None
) -> int:
    """An epoch second: anywhere in 2024–2031, or within days of one of the zone's offset changes,
    or (with ``holiday_set``) of a public holiday."""
    aims = ["anywhere"]
    if offset_changes(zone_key):
        aims += ["offset change", "offset change"]
    if holiday_set is not None:
        aims += ["holiday", "holiday"]
    aim = draw(st.sampled_from(aims))
    if aim == "anywhere":
        return draw(st.integers(FIRST, LAST))
    if aim == "offset change":
        return draw(st.sampled_from(offset_changes(zone_key))) + draw(st.integers(-2 * 86400, 3600))
    assert holiday_set is not None
    return draw(st.sampled_from(holiday_noons(holiday_set))) + draw(
        st.integers(-2 * 86400, 6 * 3600)
    )


def horizons(longest: int) -> st.SearchStrategy[int]:
    """Lengths up to ``longest``, mostly long (hypothesis on its own favours tiny integers)."""
    return st.one_of(st.integers(longest // 2, longest), st.integers(0, longest))


@st.composite
def calendars(
    draw: st.DrawFn,
    zone_key: str,
    near: int,
    holiday_set: tuple[str, str | None] | bool | None = True,
) -> BusinessCalendar:
    """A random calendar whose closed dates and special days fall near ``near``."""
    around = datetime.fromtimestamp(near, UTC).date()
    nearby = st.integers(-1, 3).map(lambda k: around + timedelta(days=k))
    closed = draw(st.sets(nearby, max_size=2))
    special_dates = draw(st.sets(nearby, max_size=2)) - closed
    specials = tuple(SpecialDay(d, draw(day_ranges(2))) for d in sorted(special_dates))
    if holiday_set is True:
        holiday_set = draw(st.sampled_from(HOLIDAY_SETS))
    elif holiday_set is False:
        holiday_set = None
    return BusinessCalendar(
        timezone=zone_key,
        hours=draw(weekly_hours()),
        closed_dates=frozenset(closed),
        special_days=specials,
        public_holidays=None if holiday_set is None else PublicHolidays(*holiday_set),
    )


@st.composite
def pauses(draw: st.DrawFn, start: int, horizon: int) -> list[tuple[int, int | None]]:
    """0–3 pauses (possibly overlapping, possibly before the start, the last possibly open)."""
    found: list[tuple[int, int | None]] = []
    for _ in range(draw(st.integers(0, 3))):
        previous = found[-1] if found else None
        if previous is not None and previous[1] is not None and draw(st.booleans()):
            begin = draw(st.integers(*previous))  # overlapping the previous pause
        else:
            begin = draw(st.integers(start - 86400, start + horizon))
        found.append((begin, begin + draw(st.integers(0, 86400))))
    if found and draw(st.integers(0, 4)) == 0:
        found[-1] = (found[-1][0], None)
    return found


@st.composite
def scenarios(
    draw: st.DrawFn, *, versioned: bool = False, max_horizon: int = 3 * 86400
) -> tuple[BusinessCalendar | VersionedCalendar, int, int, list[tuple[int, int | None]]]:
    """(calendar, start, horizon in seconds, pauses)."""
    zone_key = draw(st.sampled_from(ZONES))
    holiday_set = draw(st.sampled_from(HOLIDAY_SETS))
    start = draw(starts(zone_key, holiday_set))
    horizon = draw(horizons(max_horizon))
    calendar: BusinessCalendar | VersionedCalendar = draw(calendars(zone_key, start, holiday_set))
    if versioned and draw(st.booleans()):
        edited = draw(calendars(draw(st.sampled_from(ZONES)), start, holiday_set=False))
        at = start + draw(st.integers(-86400, horizon + 1))
        assert isinstance(calendar, BusinessCalendar)
        calendar = VersionedCalendar(
            calendar, (CalendarVersion(datetime.fromtimestamp(at, UTC), edited),)
        )
    return calendar, start, horizon, draw(pauses(start, horizon))


@st.composite
def dst_scenarios(
    draw: st.DrawFn,
) -> tuple[BusinessCalendar, int, int, list[tuple[int, int | None]]]:
    """Like :func:`scenarios`, aimed at one offset change: the same hours every day, with their
    boundaries within two hours of the change's wall-clock time, and a start a day or so before."""
    zone_key = draw(st.sampled_from([z for z in ZONES if offset_changes(z)]))
    change = draw(st.sampled_from(offset_changes(zone_key)))
    before = datetime.fromtimestamp(change - 1, ZoneInfo(zone_key)).utcoffset()
    assert before is not None
    wall_minute = (change + int(before.total_seconds())) % 86400 // 60
    near_change = st.integers(wall_minute - 90, wall_minute + 90).map(
        lambda m: min(max(m, 0), 1440)
    )
    count = draw(st.integers(1, 3))
    marks = sorted(set(draw(st.lists(near_change, min_size=2 * count, max_size=2 * count))))
    if len(marks) % 2:
        marks = marks[:-1]
    ranges = tuple(TimeRange(marks[k] * 60, marks[k + 1] * 60) for k in range(0, len(marks), 2))
    if not ranges:
        ranges = (TimeRange(0, 86400),)
    calendar = BusinessCalendar(timezone=zone_key, hours=WeeklyHours(*(ranges,) * 7))
    start = change + draw(st.integers(-36 * 3600, 3600))
    horizon = draw(horizons(2 * 86400))
    return calendar, start, horizon, draw(pauses(start, horizon))
