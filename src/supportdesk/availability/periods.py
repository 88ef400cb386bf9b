"""Report periods: a calendar month, a quarter or the last N days, as half-open UTC ranges.

Months and quarters are calendar periods in a stated IANA time zone, so "October 2026 in
Europe/Berlin" starts at local midnight on 1 October (22:00 UTC the day before) and lasts 31 days
and one hour, because the clocks go back that month. A rolling period is N × 24 h of elapsed time
ending now, independent of time zones (30 days are 2,592,000 s, and 99.5 % of them leaves a
budget of 3 h 36 min).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from supportdesk.availability.timebase import epoch_seconds, format_instant, utc_datetime

MAX_ROLLING_DAYS = 3660


class PeriodError(ValueError):
    """A period string or time zone that cannot be understood."""


@dataclass(frozen=True)
class Period:
    """The half-open range ``[start, end)``, held in UTC, on whole seconds.

    An empty period (``start == end``) is allowed: its figures are zeros and its ratios ``None``.
    """

    start: datetime
    end: datetime
    label: str = ""

    def __post_init__(self) -> None:
        start_t = epoch_seconds(self.start, what="period start")
        end_t = epoch_seconds(self.end, what="period end")
        if end_t < start_t:
            raise ValueError(
                f"period end {format_instant(end_t)} is before its start {format_instant(start_t)}"
            )
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))

    @classmethod
    def from_epoch(cls, start_t: int, end_t: int, label: str = "") -> Period:
        return cls(utc_datetime(start_t), utc_datetime(end_t), label)

    @property
    def start_t(self) -> int:
        return epoch_seconds(self.start)

    @property
    def end_t(self) -> int:
        return epoch_seconds(self.end)

    @property
    def seconds(self) -> int:
        return self.end_t - self.start_t


def zone(tz: str | tzinfo) -> tzinfo:
    """An IANA time zone by name (``Europe/Berlin``), or a tzinfo passed through."""
    if not isinstance(tz, str):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(
            f"unknown time zone {tz!r} (use an IANA name such as Europe/Berlin)"
        ) from None


def local_midnight(day: date, tz: str | tzinfo) -> datetime:
    """The instant a local calendar day begins, in UTC.

    Where a DST change skips midnight (clocks jump from 00:00 to 01:00), the day begins at the
    jump: ``fold=0`` takes the offset in force before it, which lands exactly on the transition.
    """
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


def month_period(year: int, month: int, tz: str | tzinfo) -> Period:
    if not 1 <= month <= 12:
        raise PeriodError(f"month must be 1 to 12, not {month}")
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    start = local_midnight(date(year, month, 1), tz)
    return Period(start, local_midnight(following, tz), f"{year:04d}-{month:02d}")


def quarter_period(year: int, quarter: int, tz: str | tzinfo) -> Period:
    if not 1 <= quarter <= 4:
        raise PeriodError(f"quarter must be 1 to 4, not {quarter}")
    first_month = 3 * quarter - 2
    following = date(year + 1, 1, 1) if quarter == 4 else date(year, first_month + 3, 1)
    start = local_midnight(date(year, first_month, 1), tz)
    return Period(start, local_midnight(following, tz), f"{year:04d}-Q{quarter}")


def _whole_second(now: datetime) -> datetime:
    epoch_seconds(now.replace(microsecond=0), what="now")  # refuses a naive now
    return now.replace(microsecond=0).astimezone(UTC)


def rolling_period(days: int, *, now: datetime) -> Period:
    """The ``days`` × 24 h ending at ``now`` (floored to the second: the future is not in it)."""
    if not 1 <= days <= MAX_ROLLING_DAYS:
        raise PeriodError(f"a rolling period is 1 to {MAX_ROLLING_DAYS} days, not {days}")
    end = _whole_second(now)
    return Period(end - timedelta(days=days), end, f"{days}d")


def day_periods(first: date, last: date, tz: str | tzinfo) -> list[Period]:
    """One period per local calendar day from ``first`` to ``last`` inclusive (23 to 25 hours)."""
    if last < first:
        return []
    midnights = [
        local_midnight(first + timedelta(days=i), tz) for i in range((last - first).days + 2)
    ]
    return [
        Period(start, end, (first + timedelta(days=i)).isoformat())
        for i, (start, end) in enumerate(pairwise(midnights))
    ]


def recent_days(count: int, *, tz: str | tzinfo, now: datetime) -> list[Period]:
    """The last ``count`` local days up to today, today ending at ``now`` (the uptime bar chart)."""
    if count < 1:
        raise PeriodError(f"count must be at least 1, not {count}")
    end = _whole_second(now)
    today = end.astimezone(zone(tz)).date()
    days = day_periods(today - timedelta(days=count - 1), today, tz)
    return [*days[:-1], Period(days[-1].start, end, days[-1].label)]


_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-[Qq](\d)")
_ROLLING = re.compile(r"(\d+)d")


def parse_period(text: str, *, tz: str | tzinfo, now: datetime) -> Period:
    """``2026-10`` (a month) or ``2026-Q4`` (a quarter) in ``tz``; ``30d``: 30 days to ``now``."""
    text = text.strip()
    try:
        if match := _MONTH.fullmatch(text):
            year, month = int(match[1]), int(match[2])
            if not 1 <= month <= 12:
                raise PeriodError(f"month must be 01 to 12, not {match[2]}")
            return month_period(year, month, tz)
        if match := _QUARTER.fullmatch(text):
            return quarter_period(int(match[1]), int(match[2]), tz)
        if match := _ROLLING.fullmatch(text):
            return rolling_period(int(match[1]), now=now)
    except PeriodError as error:
        raise PeriodError(f"period {text!r}: {error}") from None
    except ValueError as error:  # year 0, a naive now
        raise PeriodError(f"period {text!r}: {error}") from None
    raise PeriodError(
        f"{text!r} is not a period: write YYYY-MM (a calendar month), YYYY-Qn (a quarter) "
        "or Nd (the N days ending now), e.g. 2026-10, 2026-Q4, 30d"
    )
