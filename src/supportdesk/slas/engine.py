"""The stored calendars as the pure engine's objects, cached per process.

A calendar's versions are immutable rows (an edit adds a version): one small query reads them,
each text is parsed once per process, and equal histories share one engine clock (and its
precomputed table, via `clock_for`'s cache)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable

from supportdesk.sla import (
    BusinessCalendar,
    BusinessClock,
    VersionedCalendar,
    calendar_from_toml,
    clock_for,
)
from supportdesk.sla import CalendarVersion as EngineVersion
from supportdesk.slas.models import Calendar, CalendarVersion

_parsed: dict[str, BusinessCalendar] = {}
_lock = threading.Lock()


def _parse(toml: str, source: str) -> BusinessCalendar:
    with _lock:
        found = _parsed.get(toml)
    if found is None:
        found = calendar_from_toml(toml, source=source)
        with _lock:
            _parsed[toml] = found
    return found


def versioned(rows: Iterable[tuple[dt.datetime | None, str, str]]) -> VersionedCalendar:
    """(effective_from, toml, source name) rows → the engine's history (initial first)."""
    ordered = sorted(rows, key=lambda r: (r[0] is not None, r[0].timestamp() if r[0] else 0))
    if not ordered or ordered[0][0] is not None:
        raise ValueError("a calendar needs an initial version (effective_from empty)")
    initial = _parse(ordered[0][1], ordered[0][2])
    changes = tuple(
        EngineVersion(effective, _parse(toml, source))
        for effective, toml, source in ordered[1:]
        if effective is not None
    )
    return VersionedCalendar(initial, changes)


def calendar_clocks(calendar_ids: Iterable[int] | None = None) -> dict[int, BusinessClock]:
    """Engine clocks for the given calendars (all when None), in one small query. Parsed
    calendars are cached by their text, and equal histories share one clock and its table."""
    versions = CalendarVersion.objects.all()
    if calendar_ids is not None:
        wanted = list(calendar_ids)
        if not wanted:  # e.g. a ticket without an SLA policy: nothing to read
            return {}
        versions = versions.filter(calendar_id__in=wanted)
    by_calendar: dict[int, list[tuple[dt.datetime | None, str, str]]] = defaultdict(list)
    for pk, calendar_id, effective, toml in versions.values_list(
        "id", "calendar_id", "effective_from", "toml"
    ):
        by_calendar[calendar_id].append((effective, toml, f"calendar {calendar_id} version {pk}"))
    return {cid: clock_for(versioned(rows)) for cid, rows in by_calendar.items()}


def calendar_clock(calendar: Calendar | int) -> BusinessClock:
    calendar_id = calendar if isinstance(calendar, int) else calendar.pk
    return calendar_clocks([calendar_id])[calendar_id]


def current_calendar(calendar: Calendar) -> BusinessCalendar:
    """The calendar's hours as they are now (its newest version)."""
    version = calendar.versions.order_by("-id").first()
    if version is None:
        raise ValueError(f"calendar {calendar} has no version")
    return _parse(version.toml, calendar.slug)


def is_24x7(calendar: BusinessCalendar) -> bool:
    always = BusinessCalendar.always_open(calendar.timezone)
    return (
        calendar.hours == always.hours
        and not calendar.closed_dates
        and not calendar.special_days
        and calendar.public_holidays is None
    )
