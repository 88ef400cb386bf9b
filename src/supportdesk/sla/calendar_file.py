"""Calendar files: the TOML format support leads keep their calendars in, and the CLI reads.

::

    timezone = "America/Los_Angeles"
    [hours]                 # mon tue wed thu fri sat sun; an omitted day is closed
    mon = ["09:00-17:00"]
    tue = ["09:00-12:00", "13:00-17:00"]
    [holidays]
    country = "US"          # optional, with optional subdivision = "CA"
    dates = ["2026-12-24"]  # optional closed local dates
    [[holidays.special]]    # optional: a date with its own hours instead of its weekday's
    date = "2026-12-31"
    hours = ["09:00-12:00"]

Every mistake is reported as one :class:`CalendarError` line naming the source, the field and what
is wrong, e.g. ``team.toml: hours.tue: '09:00-13:00' overlaps '12:00-17:00'``. Unknown keys are
errors too: a misspelt ``[hollidays]`` must not silently mean "no holidays".
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import tomli_w

from supportdesk.sla.calendar import (
    WEEKDAYS,
    BusinessCalendar,
    PublicHolidays,
    SpecialDay,
    TimeRange,
    WeeklyHours,
    day_ranges,
)
from supportdesk.sla.errors import CalendarError
from supportdesk.sla.zones import zone

_TOP_KEYS = ("timezone", "hours", "holidays")
_HOLIDAY_KEYS = ("country", "subdivision", "dates", "special")
_SPECIAL_KEYS = ("date", "hours")


class _Reader:
    """Reads one parsed file, prefixing every error with ``source: field:``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, what: str) -> CalendarError:
        return CalendarError(
            f"{self.source}: {where}: {what}" if where else f"{self.source}: {what}"
        )

    def table(self, value: object, where: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, f"must be a table, got {_describe(value)}")
        for key in value:
            if key not in keys:
                raise self.error(
                    f"{where}.{key}" if where else key,
                    f"unknown key (expected one of: {', '.join(keys)})",
                )
        return value

    def ranges(self, value: object, where: str) -> tuple[TimeRange, ...]:
        if not isinstance(value, list):
            raise self.error(where, f'must be a list like ["09:00-17:00"], got {_describe(value)}')
        parsed: list[TimeRange] = []
        for index, item in enumerate(value):
            try:
                parsed.append(TimeRange.parse(item))
            except CalendarError as exc:
                raise self.error(f"{where}[{index}]", str(exc)) from None
        try:
            return day_ranges(parsed)
        except CalendarError as exc:
            raise self.error(where, str(exc)) from None

    def date(self, value: object, where: str) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.error(where, f"{value!r} is not a date (write YYYY-MM-DD, e.g. 2026-12-24)")

    def text(self, value: object, where: str) -> str:
        if not isinstance(value, str):
            raise self.error(where, f"must be a string, got {_describe(value)}")
        return value


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def calendar_from_toml(text: str, *, source: str = "<calendar>") -> BusinessCalendar:
    """Read a calendar file; ``source`` (usually the file name) prefixes every error message."""
    reader = _Reader(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise reader.error("", f"not valid TOML: {exc}") from None
    reader.table(data, "", _TOP_KEYS)

    if "timezone" not in data:
        raise reader.error("timezone", 'missing (e.g. timezone = "America/Los_Angeles")')
    timezone = reader.text(data["timezone"], "timezone")
    try:
        zone(timezone)
    except CalendarError as exc:
        raise reader.error("timezone", str(exc)) from None

    if "hours" not in data:
        raise reader.error(
            "hours", 'missing: no working time at all (add e.g. [hours] mon = ["09:00-17:00"])'
        )
    hours_table = data["hours"]
    if not isinstance(hours_table, dict):
        raise reader.error("hours", f"must be a table, got {_describe(hours_table)}")
    for key in hours_table:
        if key not in WEEKDAYS:
            raise reader.error(f"hours.{key}", f"unknown weekday (use {' '.join(WEEKDAYS)})")
    weekly = {key: reader.ranges(value, f"hours.{key}") for key, value in hours_table.items()}
    hours = WeeklyHours(**weekly)
    if hours.is_closed_all_week():
        raise reader.error("hours", "no working time at all: every weekday is closed")

    public: PublicHolidays | None = None
    closed: set[date] = set()
    specials: list[SpecialDay] = []
    if "holidays" in data:
        holidays = reader.table(data["holidays"], "holidays", _HOLIDAY_KEYS)
        if "country" in holidays:
            country = reader.text(holidays["country"], "holidays.country")
            subdivision = None
            if "subdivision" in holidays:
                subdivision = reader.text(holidays["subdivision"], "holidays.subdivision")
            try:
                public = PublicHolidays(country, subdivision)
            except CalendarError as exc:
                raise reader.error("holidays.country", str(exc)) from None
        elif "subdivision" in holidays:
            raise reader.error("holidays.subdivision", "needs a country too")
        dates = holidays.get("dates", [])
        if not isinstance(dates, list):
            raise reader.error("holidays.dates", f"must be a list of dates, got {_describe(dates)}")
        for index, item in enumerate(dates):
            day = reader.date(item, f"holidays.dates[{index}]")
            if day in closed:
                raise reader.error(f"holidays.dates[{index}]", f"{day.isoformat()} is listed twice")
            closed.add(day)
        special_list = holidays.get("special", [])
        if not isinstance(special_list, list):
            raise reader.error(
                "holidays.special", "must be [[holidays.special]] tables with a date and hours"
            )
        seen: set[date] = set()
        for index, item in enumerate(special_list):
            where = f"holidays.special[{index}]"
            special = reader.table(item, where, _SPECIAL_KEYS)
            if "date" not in special:
                raise reader.error(f"{where}.date", "missing")
            if "hours" not in special:
                raise reader.error(
                    f"{where}.hours", 'missing (use [] for a closed day, or e.g. ["09:00-12:00"])'
                )
            day = reader.date(special["date"], f"{where}.date")
            if day in seen:
                raise reader.error(f"{where}.date", f"{day.isoformat()} is a special day twice")
            if day in closed:
                raise reader.error(
                    f"{where}.date",
                    f"{day.isoformat()} is also in holidays.dates; keep one of them",
                )
            seen.add(day)
            specials.append(SpecialDay(day, reader.ranges(special["hours"], f"{where}.hours")))

    try:
        return BusinessCalendar(
            timezone=timezone,
            hours=hours,
            closed_dates=frozenset(closed),
            special_days=tuple(specials),
            public_holidays=public,
        )
    except CalendarError as exc:
        raise reader.error("", str(exc)) from None


def calendar_to_toml(calendar: BusinessCalendar) -> str:
    """Write a calendar in the file format; ``calendar_from_toml`` reads back an equal value."""
    document: dict[str, Any] = {"timezone": calendar.timezone}
    document["hours"] = {
        key: [str(r) for r in calendar.hours.on(index)]
        for index, key in enumerate(WEEKDAYS)
        if calendar.hours.on(index)
    }
    holidays: dict[str, Any] = {}
    if calendar.public_holidays is not None:
        holidays["country"] = calendar.public_holidays.country
        if calendar.public_holidays.subdivision is not None:
            holidays["subdivision"] = calendar.public_holidays.subdivision
    if calendar.closed_dates:
        holidays["dates"] = [day.isoformat() for day in sorted(calendar.closed_dates)]
    if calendar.special_days:
        holidays["special"] = [
            {"date": s.date.isoformat(), "hours": [str(r) for r in s.hours]}
            for s in calendar.special_days
        ]
    if holidays:
        document["holidays"] = holidays
    return tomli_w.dumps(document)
