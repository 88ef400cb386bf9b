"""UTC-offset history of an IANA zone, as constant-offset segments in epoch seconds.

Business hours are wall-clock times; the engine works in UTC epoch seconds. Between two offset
changes a zone is a fixed offset, so "wall clock inside [A, B)" is simply "UTC inside
[A - o, B - o)" there. This module finds those changes once per (zone, year) and caches them,
which is what makes building a ten-year table a matter of a few vectorised numpy operations
instead of one ``zoneinfo`` call per business day.

How the changes are found: sample the zone's ``utcoffset`` once a day, and where two samples differ
bisect to the exact second. This assumes that no zone changes its offset twice within 24 hours and
back again, which holds for every zone in the tz database in the years the engine supports.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from supportdesk.sla.errors import CalendarError

DAY = 86400
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def zone(key: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA key, with a one-line :class:`CalendarError` if it is unknown."""
    if not isinstance(key, str) or not key or key != key.strip():
        raise CalendarError(f"{key!r} is not an IANA time zone name (e.g. 'America/Los_Angeles')")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(
            f"unknown time zone {key!r} (use an IANA name such as 'America/Los_Angeles')"
        ) from None


def year_start_epoch(year: int) -> int:
    """Epoch seconds of ``year``-01-01 00:00 UTC (and the *local* epoch second of that midnight)."""
    return (date(year, 1, 1).toordinal() - EPOCH_ORDINAL) * DAY


def _offset(tz: ZoneInfo, t: int) -> int:
    delta = datetime.fromtimestamp(t, tz).utcoffset()
    assert delta is not None  # a ZoneInfo always knows its offset
    return delta.days * DAY + delta.seconds


@lru_cache(maxsize=8192)
def _year_transitions(key: str, year: int) -> tuple[tuple[int, int], ...]:
    """Offset changes ``(instant, new_offset)``, instants in (Jan 1 ``year``, Jan 1 ``year+1``]."""
    tz = ZoneInfo(key)
    start, end = year_start_epoch(year), year_start_epoch(year + 1)
    changes: list[tuple[int, int]] = []
    # The daily samples are half of a cold table build: they compare the timedeltas utcoffset()
    # returns, without a function call and a conversion to seconds each (_offset does that only
    # around a change).
    at = datetime.fromtimestamp
    prev_t, prev = start, at(start, tz).utcoffset()
    for t in range(start + DAY, end + 1, DAY):
        off = at(t, tz).utcoffset()
        if off != prev:
            prev_off = _offset(tz, prev_t)
            lo, hi = prev_t, t  # offset(lo) == prev_off != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(tz, mid) == prev_off:
                    lo = mid
                else:
                    hi = mid
            changes.append((hi, _offset(tz, t)))
        prev_t, prev = t, off
    return tuple(changes)


def offset_segments(key: str, start: int, end: int) -> tuple[list[int], list[int]]:
    """Constant-offset segments covering the UTC epoch-second range ``[start, end)``.

    Returns ``(begins, offsets)``: ``begins[0] == start``, ``begins`` strictly increasing and below
    ``end``; ``offsets[k]`` (seconds east of UTC) holds on ``[begins[k], begins[k+1])``, the last
    one up to ``end``.
    """
    tz = ZoneInfo(key)
    begins, offsets = [start], [_offset(tz, start)]
    first_year = datetime.fromtimestamp(start, UTC).year
    last_year = datetime.fromtimestamp(end, UTC).year
    for year in range(first_year - 1, last_year + 1):
        for instant, new_offset in _year_transitions(key, year):
            if start < instant < end:
                begins.append(instant)
                offsets.append(new_offset)
    return begins, offsets


def clear_caches() -> None:
    """Forget the cached offset changes (the benchmark uses it to time a cold build honestly)."""
    _year_transitions.cache_clear()
