"""supportdesk's SLA engine: business calendars, due dates and elapsed business time.

Pure Python and numpy, no Django (an import-linter contract keeps it that way), exact to the second
and DST-proof. The rules are SPEC.md §3; ``docs/sla.md`` explains them with worked examples.

Typical use::

    from datetime import datetime, timedelta, UTC
    from supportdesk.sla import BusinessCalendar, WeeklyHours, PublicHolidays, clock_for

    calendar = BusinessCalendar(
        timezone="America/Los_Angeles",
        hours=WeeklyHours.weekdays("09:00-17:00"),
        public_holidays=PublicHolidays("US"),
    )
    clock = clock_for(calendar)
    clock.due(datetime(2026, 3, 7, 0, 30, tzinfo=UTC), timedelta(hours=24))
    # -> 2026-03-11 23:30 UTC, i.e. Wednesday 16:30 PDT

The Django side stores calendars (TOML text: :func:`calendar_from_toml` / :func:`calendar_to_toml`)
and their edits (:class:`VersionedCalendar`), and asks a :class:`BusinessClock` for due dates.
"""

from supportdesk.sla.calendar import (
    WEEKDAYS,
    BusinessCalendar,
    CalendarVersion,
    PublicHolidays,
    SpecialDay,
    TimeRange,
    VersionedCalendar,
    WeeklyHours,
)
from supportdesk.sla.calendar_file import calendar_from_toml, calendar_to_toml
from supportdesk.sla.clock import (
    MAX_EPOCH,
    MIN_EPOCH,
    BusinessClock,
    EpochPause,
    Pause,
    clock_for,
    merge_pauses,
)
from supportdesk.sla.durations import (
    duration_seconds,
    format_duration,
    parse_duration,
    parse_duration_seconds,
)
from supportdesk.sla.errors import CalendarError, DurationError, HorizonError, SlaError
from supportdesk.sla.timeline import MAX_YEAR, MIN_YEAR

__all__ = [
    "MAX_EPOCH",
    "MAX_YEAR",
    "MIN_EPOCH",
    "MIN_YEAR",
    "WEEKDAYS",
    "BusinessCalendar",
    "BusinessClock",
    "CalendarError",
    "CalendarVersion",
    "DurationError",
    "EpochPause",
    "HorizonError",
    "Pause",
    "PublicHolidays",
    "SlaError",
    "SpecialDay",
    "TimeRange",
    "VersionedCalendar",
    "WeeklyHours",
    "calendar_from_toml",
    "calendar_to_toml",
    "clock_for",
    "duration_seconds",
    "format_duration",
    "merge_pauses",
    "parse_duration",
    "parse_duration_seconds",
]
