"""Business calendars: when a support team is at work, in its own time zone.

A :class:`BusinessCalendar` says, for every *local date* of its IANA zone, which wall-clock
intervals are working time:

1. a :class:`SpecialDay` for that date, if there is one (a half day, or extra hours on a holiday;
   a special day with no hours is closed);
2. otherwise, nothing if the date is closed: an explicit ``closed_dates`` entry or a public holiday
   (observed days included) of :class:`PublicHolidays`;
3. otherwise the :class:`WeeklyHours` of its weekday.

Intervals are half-open ``[start, end)`` in seconds after local midnight; ``end`` may be ``24:00``
(86400, the end of that date). An instant is business time when its local wall-clock date and time
fall inside one of that date's intervals, which decides the DST cases without special rules: a
00:00–24:00 day is 23 h or 25 h long on a change, a boundary inside a skipped hour effectively
starts at the end of the gap, and a repeated hour counts twice if it is inside working hours.

A :class:`VersionedCalendar` is a calendar that was edited over time: each :class:`CalendarVersion`
takes effect at an instant, so business time already consumed under the old hours stays consumed.

Everything here is an immutable, hashable value; the tables that make queries fast live in
:mod:`supportdesk.sla.clock`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from supportdesk.sla.errors import CalendarError, SlaError
from supportdesk.sla.public_holidays import check_country, public_holiday_dates
from supportdesk.sla.zones import DAY, zone

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday keys in ``date.weekday()`` order, as used by calendar files."""

_RANGE = re.compile(r"(\d\d):(\d\d)(?::(\d\d))?-(\d\d):(\d\d)(?::(\d\d))?")


def _clock_seconds(hours: str, minutes: str, seconds: str | None, text: str) -> int:
    h, m, s = int(hours), int(minutes), int(seconds or 0)
    if m > 59 or s > 59 or h > 24 or (h == 24 and (m or s)):
        raise CalendarError(f"{text!r}: times run from 00:00 to 24:00")
    return h * 3600 + m * 60 + s


def _format_clock(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}" if s else f"{h:02d}:{m:02d}"


@dataclass(frozen=True, order=True, slots=True)
class TimeRange:
    """A half-open wall-clock interval ``[start, end)`` of one local date, in seconds after
    midnight.

    ``end == 86400`` is ``24:00``, the end of the date. Write ``TimeRange.parse("09:00-17:00")``.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (isinstance(self.start, int) and isinstance(self.end, int)):
            raise CalendarError(
                f"a time range needs whole seconds, got {self.start!r}-{self.end!r}"
            )
        if not (0 <= self.start <= DAY and 0 <= self.end <= DAY):
            raise CalendarError(f"{self}: times run from 00:00 to 24:00")
        if self.end <= self.start:
            raise CalendarError(f"{str(self)!r}: the end must be after the start")

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        """Read ``"HH:MM-HH:MM"`` (seconds optional: ``"HH:MM:SS"``); ``24:00`` may end it."""
        if not isinstance(text, str):
            raise CalendarError(
                f"{text!r} is not a time range: write HH:MM-HH:MM, e.g. 09:00-17:00"
            )
        match = _RANGE.fullmatch(text.strip())
        if match is None:
            raise CalendarError(
                f"{text!r} is not a time range: write HH:MM-HH:MM, e.g. 09:00-17:00"
            )
        h1, m1, s1, h2, m2, s2 = match.groups()
        start = _clock_seconds(h1, m1, s1, text)
        end = _clock_seconds(h2, m2, s2, text)
        if start == DAY:
            raise CalendarError(f"{text!r}: a range cannot start at 24:00")
        if end <= start:
            raise CalendarError(f"{text!r}: the end must be after the start")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{_format_clock(self.start)}-{_format_clock(self.end)}"


def day_ranges(ranges: Iterable[TimeRange | str]) -> tuple[TimeRange, ...]:
    """Sorted, validated ranges of one day; raises :class:`CalendarError` if two of them overlap.

    Ranges that merely touch (``09:00-12:00`` and ``12:00-17:00``) are fine: they are half-open.
    """
    parsed = sorted(r if isinstance(r, TimeRange) else TimeRange.parse(r) for r in ranges)
    for before, after in pairwise(parsed):
        if after.start < before.end:
            raise CalendarError(f"'{before}' overlaps '{after}'")
    return tuple(parsed)


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Working hours per weekday, several ranges a day allowed; a day without ranges is closed.

    >>> WeeklyHours.of({"mon": ["09:00-12:00", "13:00-17:00"]}).mon
    (TimeRange(start=32400, end=43200), TimeRange(start=46800, end=61200))
    """

    mon: tuple[TimeRange, ...] = ()
    tue: tuple[TimeRange, ...] = ()
    wed: tuple[TimeRange, ...] = ()
    thu: tuple[TimeRange, ...] = ()
    fri: tuple[TimeRange, ...] = ()
    sat: tuple[TimeRange, ...] = ()
    sun: tuple[TimeRange, ...] = ()

    def __post_init__(self) -> None:
        for key in WEEKDAYS:
            try:
                object.__setattr__(self, key, day_ranges(getattr(self, key)))
            except CalendarError as exc:
                raise CalendarError(f"{key}: {exc}") from None

    @classmethod
    def of(cls, days: Mapping[str, Sequence[TimeRange | str]]) -> WeeklyHours:
        """Hours from a ``{"mon": ["09:00-17:00"], …}`` mapping; unknown weekdays are an error."""
        for key in days:
            if key not in WEEKDAYS:
                raise CalendarError(f"unknown weekday {key!r} (use {' '.join(WEEKDAYS)})")
        return cls(**{key: day_ranges(ranges) for key, ranges in days.items()})

    @classmethod
    def weekdays(cls, *ranges: str) -> WeeklyHours:
        """The same ranges Monday to Friday, closed at the weekend.

        ``WeeklyHours.weekdays("09:00-17:00")`` is the classic office calendar.
        """
        same = day_ranges(ranges)
        return cls(mon=same, tue=same, wed=same, thu=same, fri=same)

    @classmethod
    def always(cls) -> WeeklyHours:
        """Every day ``00:00-24:00``: round the clock."""
        full = (TimeRange(0, DAY),)
        return cls(*(full,) * 7)

    def on(self, weekday: int) -> tuple[TimeRange, ...]:
        """The ranges of a weekday number (Monday = 0, as ``date.weekday()``)."""
        ranges: tuple[TimeRange, ...] = getattr(self, WEEKDAYS[weekday])
        return ranges

    def is_closed_all_week(self) -> bool:
        return not any(self.on(weekday) for weekday in range(7))


@dataclass(frozen=True, order=True, slots=True)
class SpecialDay:
    """A local date with its own hours instead of its weekday's (a half day); no hours = closed."""

    date: date
    hours: tuple[TimeRange, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.date, date) or isinstance(self.date, datetime):
            raise CalendarError(f"a special day needs a date, got {self.date!r}")
        try:
            object.__setattr__(self, "hours", day_ranges(self.hours))
        except CalendarError as exc:
            raise CalendarError(f"{self.date.isoformat()}: {exc}") from None


@dataclass(frozen=True, slots=True)
class PublicHolidays:
    """Public holidays, observed days included, of a country (ISO code) and optional subdivision."""

    country: str
    subdivision: str | None = None

    def __post_init__(self) -> None:
        check_country(self.country, self.subdivision)

    def dates_in(self, year: int) -> frozenset[date]:
        return public_holiday_dates(self.country, self.subdivision, year)


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Working hours in an IANA time zone, with closed dates, special days and public holidays.

    Precedence for a local date: special day > closed date or public holiday > weekly hours. A date
    may not be both in ``closed_dates`` and a special day (that is a contradiction, not a rule to
    resolve). Use :meth:`always_open` for a 24×7 calendar.
    """

    timezone: str
    hours: WeeklyHours
    closed_dates: frozenset[date] = frozenset()
    special_days: tuple[SpecialDay, ...] = ()
    public_holidays: PublicHolidays | None = None
    # The zone object, resolved once; not part of equality or the hash (the key is).
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", zone(self.timezone))
        if not isinstance(self.hours, WeeklyHours):
            raise CalendarError(f"hours must be WeeklyHours, got {type(self.hours).__name__}")
        if self.hours.is_closed_all_week():
            raise CalendarError("no working time at all: every weekday is closed")
        closed = frozenset(self.closed_dates)
        for day in closed:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise CalendarError(f"closed dates must be dates, got {day!r}")
        object.__setattr__(self, "closed_dates", closed)
        specials = tuple(sorted(self.special_days))
        seen: set[date] = set()
        for special in specials:
            if not isinstance(special, SpecialDay):
                raise CalendarError(f"special days must be SpecialDay, got {special!r}")
            if special.date in seen:
                raise CalendarError(f"{special.date.isoformat()} is a special day twice")
            if special.date in closed:
                raise CalendarError(
                    f"{special.date.isoformat()} is both a closed date and a special day"
                )
            seen.add(special.date)
        object.__setattr__(self, "special_days", specials)

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """A 24×7 calendar: every instant is business time, so business time is plain elapsed time.

        The zone only matters for displaying local times.
        """
        return cls(timezone=timezone, hours=WeeklyHours.always())

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def is_closed_on(self, day: date) -> bool:
        """Whether ``day`` is a closed date or a public holiday (special days are not consulted)."""
        if day in self.closed_dates:
            return True
        holidays = self.public_holidays
        return holidays is not None and day in holidays.dates_in(day.year)

    def hours_on(self, day: date) -> tuple[TimeRange, ...]:
        """The working ranges of a local date, after special days, closures and holidays."""
        for special in self.special_days:
            if special.date == day:
                return special.hours
        if self.is_closed_on(day):
            return ()
        return self.hours.on(day.weekday())


def aware_epoch_seconds(value: datetime, what: str) -> int:
    """Whole epoch seconds (floored) of a tz-aware datetime; a naive one is refused, not guessed."""
    if not isinstance(value, datetime):
        raise SlaError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise SlaError(
            f"{what} {value.isoformat()} has no UTC offset; give a timezone-aware datetime"
        )
    return int(value.timestamp() // 1)


@dataclass(frozen=True, slots=True)
class CalendarVersion:
    """A calendar that takes effect at an instant (the moment an edit was saved)."""

    effective_from: datetime
    calendar: BusinessCalendar

    def __post_init__(self) -> None:
        aware_epoch_seconds(self.effective_from, "effective_from")
        if not isinstance(self.calendar, BusinessCalendar):
            raise CalendarError(f"a version needs a BusinessCalendar, got {self.calendar!r}")


@dataclass(frozen=True, slots=True)
class VersionedCalendar:
    """A calendar's history: ``initial`` until the first change, then each change from its instant.

    The timeline is version *k*'s working time clipped to ``[effective_k, effective_k+1)``, so time
    consumed before an edit stays consumed and the remainder follows the new hours.
    """

    initial: BusinessCalendar
    changes: tuple[CalendarVersion, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.initial, BusinessCalendar):
            raise CalendarError(f"initial must be a BusinessCalendar, got {self.initial!r}")
        changes = tuple(self.changes)
        object.__setattr__(self, "changes", changes)
        previous: int | None = None
        for change in changes:
            if not isinstance(change, CalendarVersion):
                raise CalendarError(f"changes must be CalendarVersion, got {change!r}")
            instant = aware_epoch_seconds(change.effective_from, "effective_from")
            if previous is not None and instant <= previous:
                raise CalendarError(
                    "calendar versions must take effect in order: "
                    f"{change.effective_from.isoformat()} is not after the previous version"
                )
            previous = instant

    def with_change(
        self, effective_from: datetime, calendar: BusinessCalendar
    ) -> VersionedCalendar:
        """A new history with ``calendar`` in effect from ``effective_from`` (after the last
        change)."""
        return VersionedCalendar(
            self.initial, (*self.changes, CalendarVersion(effective_from, calendar))
        )

    def periods(self) -> list[tuple[int | None, int | None, BusinessCalendar]]:
        """``(from, until, calendar)`` in epoch seconds; ``None`` means unbounded."""
        bounds: list[int | None] = [None]
        bounds += [aware_epoch_seconds(c.effective_from, "effective_from") for c in self.changes]
        calendars = [self.initial, *(c.calendar for c in self.changes)]
        return [
            (bounds[k], bounds[k + 1] if k + 1 < len(bounds) else None, calendars[k])
            for k in range(len(calendars))
        ]

    def calendar_at(self, instant: datetime) -> BusinessCalendar:
        """The calendar in effect at ``instant``."""
        t = aware_epoch_seconds(instant, "instant")
        current = self.initial
        for change in self.changes:
            if aware_epoch_seconds(change.effective_from, "effective_from") <= t:
                current = change.calendar
        return current
