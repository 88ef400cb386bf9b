"""The hard cases of SPEC §3 and issue 3, one named test each, with the arithmetic in the docstring.

Times are written in the calendar's zone where that makes the expected answer easy to check by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from supportdesk.sla import (
    BusinessCalendar,
    BusinessClock,
    CalendarError,
    CalendarVersion,
    DurationError,
    HorizonError,
    PublicHolidays,
    SlaError,
    SpecialDay,
    TimeRange,
    VersionedCalendar,
    WeeklyHours,
    clock_for,
)

LA = ZoneInfo("America/Los_Angeles")
NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600


def la_office(
    *,
    closed_dates: frozenset[date] = frozenset(),
    special_days: tuple[SpecialDay, ...] = (),
    public_holidays: PublicHolidays | None = None,
) -> BusinessCalendar:
    """Mon–Fri 09:00–17:00 America/Los_Angeles (the self-hosted policy's calendar)."""
    return BusinessCalendar(
        timezone="America/Los_Angeles",
        hours=WeeklyHours.weekdays("09:00-17:00"),
        closed_dates=closed_dates,
        special_days=special_days,
        public_holidays=public_holidays,
    )


def test_friday_1630_pst_plus_24_business_hours_is_wednesday_1630_pdt_across_march_dst() -> None:
    """Fri 16:30–17:00 (0.5 h) + Mon 8 h + Tue 8 h + Wed 09:00–16:30 (7.5 h) = 24 h.

    Clocks spring forward on Sunday 2026-03-08, so the answer is in PDT (UTC-7), not PST."""
    start = datetime(2026, 3, 6, 16, 30, tzinfo=LA)
    due = clock_for(la_office()).due(start, timedelta(hours=24))
    assert due == datetime(2026, 3, 11, 16, 30, tzinfo=LA)
    assert due == datetime(2026, 3, 11, 23, 30, tzinfo=UTC)
    assert due is not None
    assert due.tzinfo is UTC


def test_24x7_counts_real_hours_across_the_november_dst_change() -> None:
    """24 h from Sat 2025-11-01 12:00 PDT: the night has 25 wall-clock hours, so Sun 11:00 PST."""
    clock = clock_for(BusinessCalendar.always_open("America/Los_Angeles"))
    due = clock.due(datetime(2025, 11, 1, 12, 0, tzinfo=LA), timedelta(hours=24))
    assert due == datetime(2025, 11, 2, 11, 0, tzinfo=LA)
    assert clock.to_local(due).utcoffset() == timedelta(hours=-8)


def test_24x7_counts_real_hours_across_the_march_dst_change() -> None:
    """24 h from Sat 2025-03-08 12:00 PST: the night has 23 wall-clock hours, so Sun 13:00 PDT."""
    clock = clock_for(BusinessCalendar.always_open("America/Los_Angeles"))
    due = clock.due(datetime(2025, 3, 8, 12, 0, tzinfo=LA), timedelta(hours=24))
    assert due == datetime(2025, 3, 9, 13, 0, tzinfo=LA)


def test_a_24x7_calendar_is_one_continuous_interval() -> None:
    """Round the clock, business time is plain elapsed time: no seams at midnight or DST."""
    clock = BusinessClock(BusinessCalendar.always_open("Europe/Berlin"))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2026, 12, 31, tzinfo=UTC)
    assert clock.elapsed(start, end) == int((end - start).total_seconds())
    assert len(clock.working_intervals(start, end)) == 1


def test_berlin_calendar_with_a_ticket_opened_in_new_york_while_only_the_us_is_on_summer_time() -> (
    None
):
    """2026: the US springs forward on 8 March, the EU on 29 March. In between New York is 5 h
    behind Berlin, not 6. A ticket opened Mon 16 March 10:00 EDT is 15:00 in Berlin (not 16:00):
    2 h left that day, then 2 h on Tuesday: due Tue 11:00 CET = 06:00 EDT."""
    berlin = BusinessCalendar(timezone="Europe/Berlin", hours=WeeklyHours.weekdays("09:00-17:00"))
    clock = clock_for(berlin)
    opened = datetime(2026, 3, 16, 10, 0, tzinfo=NY)
    assert clock.due(opened, timedelta(hours=4)) == datetime(2026, 3, 17, 11, 0, tzinfo=BERLIN)
    assert clock.due(opened, timedelta(hours=4)) == datetime(2026, 3, 17, 6, 0, tzinfo=NY)


def test_berlin_calendar_across_the_eu_change_while_new_york_is_already_on_summer_time() -> None:
    """Fri 27 March 2026 09:00 EDT = 14:00 CET: 3 h on Friday; the EU springs forward on Sunday,
    so the remaining 5 h end Mon 30 March 14:00 CEST = 08:00 EDT."""
    clock = clock_for(
        BusinessCalendar(timezone="Europe/Berlin", hours=WeeklyHours.weekdays("09:00-17:00"))
    )
    due = clock.due(datetime(2026, 3, 27, 9, 0, tzinfo=NY), timedelta(hours=8))
    assert due == datetime(2026, 3, 30, 14, 0, tzinfo=BERLIN)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=NY)


def test_observed_holiday_july_4_2026_is_a_saturday_so_friday_july_3_is_closed() -> None:
    """Thu 2 July 16:00 + 2 h: 1 h on Thursday, Friday is the observed Independence Day, so Mon
    6 July 10:00."""
    clock = clock_for(la_office(public_holidays=PublicHolidays("US")))
    due = clock.due(datetime(2026, 7, 2, 16, 0, tzinfo=LA), timedelta(hours=2))
    assert due == datetime(2026, 7, 6, 10, 0, tzinfo=LA)
    assert not clock.is_business_time(datetime(2026, 7, 3, 12, 0, tzinfo=LA))


def test_holidays_never_expire() -> None:
    """Public holidays come from the package for whatever year is asked: Christmas 2087."""
    clock = clock_for(la_office(public_holidays=PublicHolidays("US")))
    assert not clock.is_business_time(datetime(2087, 12, 25, 12, 0, tzinfo=LA))
    assert clock.is_business_time(datetime(2087, 12, 24, 12, 0, tzinfo=LA))


def test_subdivision_holidays_apply() -> None:
    """California's Cesar Chavez Day (31 March) closes a US-CA calendar but not a US one."""
    moment = datetime(2026, 3, 31, 12, 0, tzinfo=LA)
    assert not clock_for(la_office(public_holidays=PublicHolidays("US", "CA"))).is_business_time(
        moment
    )
    assert clock_for(la_office(public_holidays=PublicHolidays("US"))).is_business_time(moment)


def test_split_days_skip_the_lunch_break() -> None:
    """Tuesday 09:00–12:00 and 13:00–17:00: from 11:00, 2 h ends at 14:00."""
    calendar = BusinessCalendar(
        timezone="America/Los_Angeles",
        hours=WeeklyHours.of({"tue": ["09:00-12:00", "13:00-17:00"]}),
    )
    clock = clock_for(calendar)
    start = datetime(2026, 3, 10, 11, 0, tzinfo=LA)
    assert clock.due(start, timedelta(hours=2)) == datetime(2026, 3, 10, 14, 0, tzinfo=LA)
    assert clock.elapsed(start, datetime(2026, 3, 10, 17, 0, tzinfo=LA)) == 5 * HOUR


def test_24_00_runs_into_the_next_morning_without_a_seam() -> None:
    """Friday 20:00–24:00 and Saturday 00:00–04:00: from Fri 23:00, 2 h ends Sat 01:00."""
    calendar = BusinessCalendar(
        timezone="America/Los_Angeles",
        hours=WeeklyHours.of({"fri": ["20:00-24:00"], "sat": ["00:00-04:00"]}),
    )
    clock = clock_for(calendar)
    due = clock.due(datetime(2026, 3, 13, 23, 0, tzinfo=LA), timedelta(hours=2))
    assert due == datetime(2026, 3, 14, 1, 0, tzinfo=LA)
    week = clock.working_intervals(
        datetime(2026, 3, 9, tzinfo=LA), datetime(2026, 3, 16, tzinfo=LA)
    )
    assert [(a.astimezone(LA).hour, b.astimezone(LA).hour) for a, b in week] == [(20, 4)]


def test_a_00_00_to_24_00_day_is_23_hours_in_march_and_25_hours_in_november() -> None:
    calendar = BusinessCalendar(
        timezone="America/Los_Angeles", hours=WeeklyHours.of({"sun": ["00:00-24:00"]})
    )
    clock = clock_for(calendar)

    def sunday(day: date) -> int:
        start = datetime(day.year, day.month, day.day, tzinfo=LA)
        return clock.elapsed(start, start + timedelta(days=2))

    assert sunday(date(2026, 3, 8)) == 23 * HOUR
    assert sunday(date(2026, 11, 1)) == 25 * HOUR
    assert sunday(date(2026, 6, 7)) == 24 * HOUR


def test_hours_starting_inside_the_skipped_hour_start_at_its_end() -> None:
    """Sun 2026-03-08 02:30–04:00 in Los Angeles: 02:30 does not exist (02:00 → 03:00), so the
    working time is 03:00–04:00 PDT, one real hour."""
    calendar = BusinessCalendar(
        timezone="America/Los_Angeles", hours=WeeklyHours.of({"sun": ["02:30-04:00"]})
    )
    clock = clock_for(calendar)
    day = datetime(2026, 3, 8, tzinfo=LA)
    assert clock.elapsed(day, day + timedelta(days=1)) == HOUR
    assert clock.working_intervals(day, day + timedelta(days=1)) == [
        (datetime(2026, 3, 8, 10, 0, tzinfo=UTC), datetime(2026, 3, 8, 11, 0, tzinfo=UTC))
    ]


def test_a_repeated_hour_inside_working_hours_counts_twice() -> None:
    """Sun 2026-11-01 01:00–02:00 in Los Angeles happens twice (PDT, then PST): 2 real hours."""
    calendar = BusinessCalendar(
        timezone="America/Los_Angeles", hours=WeeklyHours.of({"sun": ["01:00-02:00"]})
    )
    clock = clock_for(calendar)
    day = datetime(2026, 11, 1, tzinfo=LA)
    assert clock.elapsed(day, day + timedelta(days=1)) == 2 * HOUR
    assert clock.due(day, timedelta(minutes=90)) == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def test_half_day_special_hours_replace_the_weekday() -> None:
    """New Year's Eve 2026 (Thursday) is 09:00–12:00; New Year's Day is a public holiday. From
    11:00, 2 h: 1 h on the 31st, then Monday 4 January 10:00 (Friday the 1st is closed)."""
    calendar = la_office(
        public_holidays=PublicHolidays("US"),
        special_days=(SpecialDay(date(2026, 12, 31), (TimeRange.parse("09:00-12:00"),)),),
    )
    clock = clock_for(calendar)
    due = clock.due(datetime(2026, 12, 31, 11, 0, tzinfo=LA), timedelta(hours=2))
    assert due == datetime(2027, 1, 4, 10, 0, tzinfo=LA)


def test_a_special_day_beats_a_public_holiday() -> None:
    """Precedence: special day > closed date / holiday > weekday. Open 10:00–14:00 on July 3."""
    calendar = la_office(
        public_holidays=PublicHolidays("US"),
        special_days=(SpecialDay(date(2026, 7, 3), (TimeRange.parse("10:00-14:00"),)),),
    )
    clock = clock_for(calendar)
    day = datetime(2026, 7, 3, tzinfo=LA)
    assert clock.elapsed(day, day + timedelta(days=1)) == 4 * HOUR
    assert calendar.hours_on(date(2026, 7, 3)) == (TimeRange.parse("10:00-14:00"),)


def test_a_special_day_without_hours_is_closed_and_closed_dates_close() -> None:
    calendar = la_office(
        closed_dates=frozenset({date(2026, 12, 24)}),
        special_days=(SpecialDay(date(2026, 12, 23), ()),),
    )
    clock = clock_for(calendar)
    start = datetime(2026, 12, 22, 17, 0, tzinfo=LA)
    assert clock.due(start, timedelta(hours=1)) == datetime(2026, 12, 25, 10, 0, tzinfo=LA)


def test_start_exactly_at_opening() -> None:
    """Mon 09:00 + 8 h is due at Monday's closing, 17:00, not Tuesday 09:00."""
    clock = clock_for(la_office())
    due = clock.due(datetime(2026, 3, 9, 9, 0, tzinfo=LA), timedelta(hours=8))
    assert due == datetime(2026, 3, 9, 17, 0, tzinfo=LA)


def test_a_budget_running_out_at_closing_is_due_at_closing() -> None:
    """Mon 13:00 + 4 h: due Monday 17:00, the closing instant (a reply then still meets it)."""
    clock = clock_for(la_office())
    due = clock.due(datetime(2026, 3, 9, 13, 0, tzinfo=LA), timedelta(hours=4))
    assert due == datetime(2026, 3, 9, 17, 0, tzinfo=LA)


def test_start_exactly_at_closing() -> None:
    """Mon 17:00 is not business time ([09:00, 17:00) is half-open): 1 h is due Tue 10:00, and a
    zero target is due at the start itself."""
    clock = clock_for(la_office())
    start = datetime(2026, 3, 9, 17, 0, tzinfo=LA)
    assert not clock.is_business_time(start)
    assert clock.due(start, timedelta(hours=1)) == datetime(2026, 3, 10, 10, 0, tzinfo=LA)
    assert clock.due(start, timedelta(0)) == start


def test_start_outside_hours_waits_for_the_next_opening() -> None:
    clock = clock_for(la_office())
    saturday = datetime(2026, 3, 14, 12, 0, tzinfo=LA)
    assert clock.due(saturday, timedelta(minutes=1)) == datetime(2026, 3, 16, 9, 1, tzinfo=LA)
    assert clock.elapsed(saturday, datetime(2026, 3, 16, 9, 0, tzinfo=LA)) == 0


def test_pause_inside_working_hours_pushes_the_due_date_by_its_length() -> None:
    """Mon 09:00 + 4 h, paused 10:00–11:30: due 14:30 instead of 13:00."""
    clock = clock_for(la_office())
    start = datetime(2026, 3, 9, 9, 0, tzinfo=LA)
    pause = (datetime(2026, 3, 9, 10, 0, tzinfo=LA), datetime(2026, 3, 9, 11, 30, tzinfo=LA))
    assert clock.due(start, timedelta(hours=4), [pause]) == datetime(2026, 3, 9, 14, 30, tzinfo=LA)
    assert clock.elapsed(start, datetime(2026, 3, 9, 17, 0, tzinfo=LA), [pause]) == int(6.5 * HOUR)


def test_pause_across_closing_only_removes_the_business_part() -> None:
    """Mon 09:00 + 8 h, paused Mon 16:00 – Tue 10:00: 1 h of business time is paused (16–17 and
    09–10 → 2 h), so the 8 h end Tue 11:00."""
    clock = clock_for(la_office())
    start = datetime(2026, 3, 9, 9, 0, tzinfo=LA)
    pause = (datetime(2026, 3, 9, 16, 0, tzinfo=LA), datetime(2026, 3, 10, 10, 0, tzinfo=LA))
    assert clock.due(start, timedelta(hours=8), [pause]) == datetime(2026, 3, 10, 11, 0, tzinfo=LA)


def test_pause_outside_working_hours_changes_nothing() -> None:
    clock = clock_for(la_office())
    start = datetime(2026, 3, 9, 9, 0, tzinfo=LA)
    night = (datetime(2026, 3, 9, 18, 0, tzinfo=LA), datetime(2026, 3, 10, 8, 0, tzinfo=LA))
    assert clock.due(start, timedelta(hours=10), [night]) == clock.due(start, timedelta(hours=10))


def test_overlapping_pauses_are_not_subtracted_twice() -> None:
    clock = clock_for(la_office())
    start = datetime(2026, 3, 9, 9, 0, tzinfo=LA)
    a = (datetime(2026, 3, 9, 10, 0, tzinfo=LA), datetime(2026, 3, 9, 12, 0, tzinfo=LA))
    b = (datetime(2026, 3, 9, 11, 0, tzinfo=LA), datetime(2026, 3, 9, 13, 0, tzinfo=LA))
    end = datetime(2026, 3, 9, 17, 0, tzinfo=LA)
    assert clock.elapsed(start, end, [a, b]) == 5 * HOUR
    assert clock.elapsed(start, end, [b, a, a]) == 5 * HOUR


def test_a_pause_that_began_before_the_start_only_counts_from_the_start() -> None:
    clock = clock_for(la_office())
    start = datetime(2026, 3, 9, 10, 0, tzinfo=LA)
    pause = (datetime(2026, 3, 9, 9, 0, tzinfo=LA), datetime(2026, 3, 9, 11, 0, tzinfo=LA))
    assert clock.due(start, timedelta(hours=1), [pause]) == datetime(2026, 3, 9, 12, 0, tzinfo=LA)


def test_an_open_pause_makes_due_undefined_unless_the_target_was_reached_before_it() -> None:
    """Waiting on the customer since Mon 11:00 with no end yet: a 4 h target (2 h used) has no
    due date while paused; a 2 h target was due at 11:00 exactly, which is before the pause."""
    clock = clock_for(la_office())
    start = datetime(2026, 3, 9, 9, 0, tzinfo=LA)
    open_pause = (datetime(2026, 3, 9, 11, 0, tzinfo=LA), None)
    assert clock.due(start, timedelta(hours=4), [open_pause]) is None
    assert clock.due(start, timedelta(hours=2), [open_pause]) == datetime(
        2026, 3, 9, 11, 0, tzinfo=LA
    )
    assert clock.elapsed(start, datetime(2026, 3, 10, 17, 0, tzinfo=LA), [open_pause]) == 2 * HOUR


def test_a_calendar_edited_while_a_ticket_is_in_flight() -> None:
    """Mon 09:00 + 16 h on 09:00–17:00. On Tue at 12:00 the team cuts its hours to 09:00–13:00.
    Consumed before the edit: Mon 8 h + Tue 3 h = 11 h, which stays consumed. The remaining 5 h
    follow the new hours: Tue 12:00–13:00 (1 h), Wed 09:00–13:00 (4 h): due Wednesday 13:00."""
    edit_at = datetime(2026, 3, 10, 12, 0, tzinfo=LA)
    history = VersionedCalendar(
        la_office(),
        (
            CalendarVersion(
                edit_at,
                BusinessCalendar(
                    timezone="America/Los_Angeles", hours=WeeklyHours.weekdays("09:00-13:00")
                ),
            ),
        ),
    )
    clock = clock_for(history)
    start = datetime(2026, 3, 9, 9, 0, tzinfo=LA)
    assert clock.due(start, timedelta(hours=16)) == datetime(2026, 3, 11, 13, 0, tzinfo=LA)
    assert clock.elapsed(start, edit_at) == 11 * HOUR
    # Without the edit, 16 h would be Monday and Tuesday: due Tuesday 17:00.
    assert clock_for(la_office()).due(start, timedelta(hours=16)) == datetime(
        2026, 3, 10, 17, 0, tzinfo=LA
    )


def test_a_calendar_edit_can_change_the_time_zone() -> None:
    """Before the edit the team works 09:00–17:00 in Los Angeles, afterwards in Berlin."""
    edit_at = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    history = VersionedCalendar(la_office()).with_change(
        edit_at,
        BusinessCalendar(timezone="Europe/Berlin", hours=WeeklyHours.weekdays("09:00-17:00")),
    )
    clock = clock_for(history)
    assert clock.zone_at(edit_at - timedelta(seconds=1)) == LA
    assert clock.zone_at(edit_at) == BERLIN
    # Fri 29 May 16:00 PDT + 2 h: 1 h on Friday in LA, then Monday 1 June 10:00 in Berlin.
    due = clock.due(datetime(2026, 5, 29, 16, 0, tzinfo=LA), timedelta(hours=2))
    assert due == datetime(2026, 6, 1, 10, 0, tzinfo=BERLIN)
    assert history.calendar_at(due).timezone == "Europe/Berlin"


def test_target_zero_is_due_at_the_start_even_outside_hours() -> None:
    clock = clock_for(la_office())
    sunday = datetime(2026, 3, 8, 12, 0, tzinfo=LA)
    assert clock.due(sunday, 0) == sunday
    assert clock.due_batch(np.array([int(sunday.timestamp())]), 0).tolist() == [
        int(sunday.timestamp())
    ]


def test_second_precision_boundaries() -> None:
    """Ranges may carry seconds, and sub-second parts of instants are floored."""
    calendar = BusinessCalendar(timezone="UTC", hours=WeeklyHours.weekdays("09:00:30-09:00:45"))
    clock = clock_for(calendar)
    start = datetime(2026, 3, 9, 9, 0, 0, 999_999, tzinfo=UTC)
    assert clock.due(start, 15) == datetime(2026, 3, 9, 9, 0, 45, tzinfo=UTC)
    assert clock.due(start, 16) == datetime(2026, 3, 10, 9, 0, 31, tzinfo=UTC)


def test_long_targets_grow_the_table_and_far_ones_are_refused() -> None:
    clock = BusinessClock(la_office())
    start = datetime(2026, 1, 5, 9, 0, tzinfo=LA)
    # 52 weeks × 40 h: exactly a year of Mondays to Fridays later (no holidays in this calendar).
    due = clock.due(start, timedelta(hours=52 * 40))
    assert due == datetime(2027, 1, 1, 17, 0, tzinfo=LA)
    with pytest.raises(HorizonError, match="not reached before 2200"):
        clock.due(start, timedelta(hours=200 * 52 * 40))
    with pytest.raises(HorizonError, match="outside the range"):
        clock.due(datetime(2250, 1, 1, tzinfo=UTC), timedelta(hours=1))


def test_naive_datetimes_are_refused_with_a_clear_error() -> None:
    clock = clock_for(la_office())
    naive = datetime(2026, 3, 9, 9, 0)
    with pytest.raises(SlaError, match="has no UTC offset"):
        clock.due(naive, timedelta(hours=1))
    with pytest.raises(SlaError, match="has no UTC offset"):
        clock.elapsed(naive, datetime(2026, 3, 9, 10, 0, tzinfo=LA))
    with pytest.raises(SlaError, match=r"pause start .* has no UTC offset"):
        clock.due(datetime(2026, 3, 9, 9, 0, tzinfo=LA), 60, [(naive, None)])


def test_bad_arguments_are_refused() -> None:
    clock = clock_for(la_office())
    start = datetime(2026, 3, 9, 9, 0, tzinfo=LA)
    with pytest.raises(DurationError, match="negative"):
        clock.due(start, -1)
    with pytest.raises(DurationError, match="whole number of seconds"):
        clock.due(start, timedelta(milliseconds=1500))
    with pytest.raises(SlaError, match="before the start"):
        clock.elapsed(start, start - timedelta(seconds=1))
    with pytest.raises(SlaError, match="cannot end"):
        clock.due(start, 60, [(start, start - timedelta(hours=1))])


def test_calendar_construction_errors() -> None:
    with pytest.raises(CalendarError, match="unknown time zone 'Mars/Olympus'"):
        BusinessCalendar(timezone="Mars/Olympus", hours=WeeklyHours.always())
    with pytest.raises(CalendarError, match="no working time at all"):
        BusinessCalendar(timezone="UTC", hours=WeeklyHours())
    with pytest.raises(CalendarError, match="overlaps"):
        WeeklyHours.of({"mon": ["09:00-13:00", "12:00-17:00"]})
    with pytest.raises(CalendarError, match="unknown weekday 'monday'"):
        WeeklyHours.of({"monday": ["09:00-17:00"]})
    with pytest.raises(CalendarError, match="both a closed date and a special day"):
        la_office(
            closed_dates=frozenset({date(2026, 12, 24)}),
            special_days=(SpecialDay(date(2026, 12, 24), ()),),
        )
    with pytest.raises(CalendarError, match="no country 'XX'"):
        PublicHolidays("XX")
    with pytest.raises(CalendarError, match="no subdivision 'ZZ'"):
        PublicHolidays("US", "ZZ")
    with pytest.raises(CalendarError, match="in order"):
        VersionedCalendar(la_office()).with_change(
            datetime(2026, 2, 1, tzinfo=UTC), la_office()
        ).with_change(datetime(2026, 1, 1, tzinfo=UTC), la_office())


def test_batch_recomputes_many_tickets_the_same_way() -> None:
    clock = clock_for(la_office(public_holidays=PublicHolidays("US")))
    starts = [
        datetime(2026, 3, 6, 16, 30, tzinfo=LA),
        datetime(2026, 7, 2, 16, 0, tzinfo=LA),
        datetime(2026, 3, 9, 9, 0, tzinfo=LA),
    ]
    epochs = np.array([int(s.timestamp()) for s in starts], dtype=np.int64)
    due = clock.due_batch(epochs, np.array([24 * HOUR, 2 * HOUR, 8 * HOUR]))
    assert [datetime.fromtimestamp(int(t), LA) for t in due] == [
        datetime(2026, 3, 11, 16, 30, tzinfo=LA),
        datetime(2026, 7, 6, 10, 0, tzinfo=LA),
        datetime(2026, 3, 9, 17, 0, tzinfo=LA),
    ]
    assert clock.elapsed_batch(epochs, due).tolist() == [24 * HOUR, 2 * HOUR, 8 * HOUR]


@pytest.mark.parametrize(
    "calendar",
    [
        la_office(public_holidays=PublicHolidays("US")),
        BusinessCalendar(
            timezone="Australia/Adelaide",
            hours=WeeklyHours.of(
                {"mon": ["00:00-02:30", "09:00-12:00", "13:00-17:45"], "sat": ["10:00-24:00"]}
            ),
        ),
        # Fragmented: 48 ten-minute ranges every Tuesday (long walks inside a bucket).
        BusinessCalendar(
            timezone="Europe/London",
            hours=WeeklyHours.of(
                {
                    "tue": [
                        f"{h:02d}:{m:02d}-{h:02d}:{m + 10:02d}" for h in range(24) for m in (0, 30)
                    ]
                }
            ),
        ),
    ],
    ids=["la-office", "adelaide-split", "london-fragmented"],
)
def test_due_at_every_opening_and_closing_of_a_year(calendar: BusinessCalendar) -> None:
    """Every closing of 2026 is due exactly at closing, from the year's start and from opening;
    one second after an opening is due one second in. Exhaustive, because single queries locate
    intervals through bucket indexes whose edges can coincide with any of these instants."""
    clock = BusinessClock(calendar)
    year = datetime(2026, 1, 1, tzinfo=UTC)
    intervals = clock.working_intervals(year, datetime(2027, 1, 1, tzinfo=UTC))
    intervals = [(a, b) for a, b in intervals if a > year]  # not one clipped by the window
    assert len(intervals) > 50
    for opening, closing in intervals:
        assert clock.due(year, clock.elapsed(year, closing)) == closing
        assert clock.due(opening, closing - opening) == closing
        assert clock.due(opening - timedelta(seconds=1), 1) == opening + timedelta(seconds=1)
        assert clock.due(closing, 0) == closing


def test_a_clock_answers_the_same_whatever_order_the_years_are_asked_in() -> None:
    """Tables grow forwards and backwards on demand; answers never depend on what came first."""
    calendar = la_office(public_holidays=PublicHolidays("US"))
    starts = [datetime(year, 7, 2, 16, 0, tzinfo=LA) for year in (2031, 2024, 2040, 1999, 2026)]
    shared = BusinessClock(calendar)
    for start in starts:
        assert shared.due(start, timedelta(hours=30)) == BusinessClock(calendar).due(
            start, timedelta(hours=30)
        )
        assert shared.elapsed(start - timedelta(days=40), start) == BusinessClock(calendar).elapsed(
            start - timedelta(days=40), start
        )


def test_equal_calendars_share_one_clock() -> None:
    assert clock_for(la_office()) is clock_for(la_office())
    assert clock_for(la_office()) is not clock_for(la_office(public_holidays=PublicHolidays("US")))


def test_working_intervals_are_cut_at_a_calendar_edit() -> None:
    """Tuesday 10 March 2026: 09:00–17:00 until the edit at 12:00, 09:00–13:00 afterwards."""
    edit_at = datetime(2026, 3, 10, 12, 0, tzinfo=LA)
    history = VersionedCalendar(la_office()).with_change(
        edit_at,
        BusinessCalendar(timezone="America/Los_Angeles", hours=WeeklyHours.weekdays("09:00-13:00")),
    )
    clock = clock_for(history)
    tuesday = clock.working_intervals(
        datetime(2026, 3, 10, tzinfo=LA), datetime(2026, 3, 11, tzinfo=LA)
    )
    assert tuesday == [
        (datetime(2026, 3, 10, 9, 0, tzinfo=LA), datetime(2026, 3, 10, 13, 0, tzinfo=LA))
    ]
    assert clock.is_business_time(datetime(2026, 3, 9, 16, 0, tzinfo=LA))
    assert not clock.is_business_time(datetime(2026, 3, 10, 16, 0, tzinfo=LA))
