"""Report periods in a stated time zone: months, quarters, rolling days, daily bars."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportdesk.availability import (
    Period,
    PeriodError,
    day_periods,
    month_period,
    parse_period,
    quarter_period,
    recent_days,
)
from supportdesk.availability.tests.examples import FAST

NOW = datetime(2026, 10, 5, 12, 30, 15, 999_999, tzinfo=UTC)
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/Santiago",
    "Pacific/Chatham",
]


def test_a_month_of_28_days_and_its_budget() -> None:
    period = parse_period("2026-02", tz="UTC", now=NOW)
    assert (period.start, period.end) == (
        datetime(2026, 2, 1, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert period.seconds == 28 * 86_400
    assert period.label == "2026-02"


def test_a_month_of_31_days_in_a_time_zone_whose_clocks_go_back() -> None:
    period = parse_period("2026-10", tz="Europe/Berlin", now=NOW)
    assert period.start == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    assert period.end == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert period.seconds == (31 * 24 + 1) * 3600


def test_a_quarter() -> None:
    period = parse_period("2026-Q4", tz="America/New_York", now=NOW)
    assert period.start == datetime(2026, 10, 1, 4, 0, tzinfo=UTC)
    assert period.end == datetime(2027, 1, 1, 5, 0, tzinfo=UTC)
    assert parse_period("2026-q4", tz="America/New_York", now=NOW) == period


def test_rolling_30_days_end_now_on_the_second() -> None:
    period = parse_period("30d", tz="Europe/Berlin", now=NOW)
    assert period.end == NOW.replace(microsecond=0)
    assert period.seconds == 30 * 86_400 == 2_592_000
    assert period.label == "30d"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "month must be 01 to 12"),
        ("2026-00", "month must be 01 to 12"),
        ("2026-Q5", "quarter must be 1 to 4"),
        ("0d", "1 to 3660 days"),
        ("99999d", "1 to 3660 days"),
        ("last month", "is not a period: write YYYY-MM"),
        ("2026", "is not a period"),
        ("", "is not a period"),
        ("0000-01", "period '0000-01'"),
    ],
)
def test_bad_periods_are_explained(text: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        parse_period(text, tz="UTC", now=NOW)


def test_bad_zone_and_naive_now_are_refused() -> None:
    with pytest.raises(PeriodError, match="unknown time zone 'Mars/Olympus'"):
        parse_period("2026-10", tz="Mars/Olympus", now=NOW)
    with pytest.raises(PeriodError, match="unknown time zone"):
        parse_period("2026-10", tz="../../etc/passwd", now=NOW)
    with pytest.raises(PeriodError, match="no time zone"):
        parse_period("30d", tz="UTC", now=datetime(2026, 10, 5))


def test_a_day_whose_midnight_does_not_exist_starts_at_the_jump() -> None:
    """Chile moves its clocks from 00:00 to 01:00 on the first Sunday of September."""
    [day] = day_periods(date(2026, 9, 6), date(2026, 9, 6), "America/Santiago")
    assert day.start.astimezone(ZoneInfo("America/Santiago")).hour == 1
    assert day.seconds == 23 * 3600


def test_recent_days_for_the_uptime_bar_chart() -> None:
    days = recent_days(90, tz="Europe/Berlin", now=NOW)
    assert len(days) == 90
    assert days[-1].end == NOW.replace(microsecond=0)
    assert days[-1].label == "2026-10-05"
    assert days[0].label == "2026-07-08"
    assert all(a.end == b.start for a, b in itertools.pairwise(days))
    berlin = ZoneInfo("Europe/Berlin")
    assert all(d.start.astimezone(berlin).time().hour == 0 for d in days)


def test_a_period_must_be_aware_whole_seconds_and_not_reversed() -> None:
    with pytest.raises(ValueError, match="before its start"):
        Period.from_epoch(10, 5)
    with pytest.raises(ValueError, match="fraction of a second"):
        Period(NOW, NOW + timedelta(hours=1))
    assert Period.from_epoch(5, 5).seconds == 0


@FAST
@given(st.integers(1971, 2100), st.integers(1, 12), st.sampled_from(ZONES))
def test_months_start_at_local_midnight_and_tile(year: int, month: int, tz: str) -> None:
    period = month_period(year, month, tz)
    local = period.start.astimezone(ZoneInfo(tz))
    assert local.date() == date(year, month, 1)
    assert period.start.tzinfo is UTC
    following = month_period(year + month // 12, month % 12 + 1, tz)
    assert period.end == following.start
    # Within a DST hour (Lord Howe: half an hour) of the calendar length.
    days = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    assert abs(period.seconds - days * 86_400) <= 3600


@FAST
@given(st.integers(1971, 2100), st.integers(1, 4), st.sampled_from(ZONES))
def test_a_quarter_is_its_three_months(year: int, quarter: int, tz: str) -> None:
    period = quarter_period(year, quarter, tz)
    months = [month_period(year, 3 * quarter - 2 + i, tz) for i in range(3)]
    assert period.start == months[0].start
    assert period.end == months[2].end
    assert period.seconds == sum(m.seconds for m in months)
