"""The stored calendars as the pure engine's objects, cached per process.

A calendar's versions are immutable rows (an edit adds a version), so a parsed version is cached by
its id for good, and a calendar's engine clock by the tuple of its version ids: one small query
tells which versions exist, nothing is parsed twice, and equal histories share one clock (and its
precomputed table)."""

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

_parsed: dict[int, BusinessCalendar] = {}
_lock = threading.Lock()


def _parse(version_id: int, toml: str, source: str) -> BusinessCalendar:
    with _lock:
        found = _parsed.get(version_id)
    if found is None:
        found = calendar_from_toml(toml, source=source)
        with _lock:
            _parsed[version_id] = found
    return found


def versioned(rows: Iterable[tuple[int, dt.datetime | None, str, str]]) -> VersionedCalendar:
    """(version id, effective_from, toml, source name) rows, initial first → the engine's
    history."""
    ordered = sorted(rows, key=lambda r: (r[1] is not None, r[1] or dt.datetime.min, r[0]))
    if not ordered or ordered[0][1] is not None:
        raise ValueError("a calendar needs an initial version (effective_from empty)")
    initial = _parse(ordered[0][0], ordered[0][2], ordered[0][3])
    changes = tuple(
        EngineVersion(effective, _parse(pk, toml, source))
        for pk, effective, toml, source in ordered[1:]
        if effective is not None
    )
    return VersionedCalendar(initial, changes)


def calendar_clocks(calendar_ids: Iterable[int] | None = None) -> dict[int, BusinessClock]:
    """Engine clocks for the given calendars (all when None), in two small queries at most."""
    versions = CalendarVersion.objects.all()
    if calendar_ids is not None:
        versions = versions.filter(calendar_id__in=list(calendar_ids))
    known = list(versions.values_list("id", "calendar_id", "effective_from"))
    missing = [pk for pk, _cal, _eff in known if pk not in _parsed]
    toml_by_id: dict[int, str] = {}
    if missing:
        toml_by_id = dict(CalendarVersion.objects.filter(pk__in=missing).values_list("id", "toml"))
    by_calendar: dict[int, list[tuple[int, dt.datetime | None, str, str]]] = defaultdict(list)
    for pk, calendar_id, effective in known:
        by_calendar[calendar_id].append(
            (pk, effective, toml_by_id.get(pk, ""), f"calendar {calendar_id} version {pk}")
        )
    return {cid: clock_for(versioned(rows)) for cid, rows in by_calendar.items()}


def calendar_clock(calendar: Calendar | int) -> BusinessClock:
    calendar_id = calendar if isinstance(calendar, int) else calendar.pk
    return calendar_clocks([calendar_id])[calendar_id]


def current_calendar(calendar: Calendar) -> BusinessCalendar:
    """The calendar's hours as they are now (its newest version)."""
    version = calendar.versions.order_by("-id").first()
    if version is None:
        raise ValueError(f"calendar {calendar} has no version")
    return _parse(version.pk, version.toml, calendar.slug)


def is_24x7(calendar: BusinessCalendar) -> bool:
    always = BusinessCalendar.always_open(calendar.timezone)
    return (
        calendar.hours == always.hours
        and not calendar.closed_dates
        and not calendar.special_days
        and calendar.public_holidays is None
    )
