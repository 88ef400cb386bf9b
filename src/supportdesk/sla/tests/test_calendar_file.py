"""Calendar files (TOML): what reads, and the one-line error for every kind of mistake."""

from __future__ import annotations

from datetime import date

import pytest

from supportdesk.sla import (
    BusinessCalendar,
    CalendarError,
    PublicHolidays,
    SpecialDay,
    TimeRange,
    WeeklyHours,
    calendar_from_toml,
    calendar_to_toml,
)

ISSUE_EXAMPLE = """
timezone = "America/Los_Angeles"
[hours]                 # mon tue wed thu fri sat sun; omitted day = closed
mon = ["09:00-17:00"]
tue = ["09:00-12:00", "13:00-17:00"]
[holidays]
country = "US"          # optional, with optional subdivision = "CA"
dates = ["2026-12-24"]  # optional closed local dates
[[holidays.special]]    # optional: a date with its own hours instead of the weekday's
date = "2026-12-31"
hours = ["09:00-12:00"]
"""


def test_the_example_from_the_issue_reads_as_expected() -> None:
    calendar = calendar_from_toml(ISSUE_EXAMPLE, source="team.toml")
    assert calendar == BusinessCalendar(
        timezone="America/Los_Angeles",
        hours=WeeklyHours.of({"mon": ["09:00-17:00"], "tue": ["09:00-12:00", "13:00-17:00"]}),
        closed_dates=frozenset({date(2026, 12, 24)}),
        special_days=(SpecialDay(date(2026, 12, 31), (TimeRange.parse("09:00-12:00"),)),),
        public_holidays=PublicHolidays("US"),
    )


def test_24x7_subdivisions_toml_dates_and_24_00() -> None:
    text = """
timezone = "Europe/Berlin"
[hours]
mon = ["00:00-24:00"]
tue = ["00:00-24:00"]
wed = ["00:00-24:00"]
thu = ["00:00-24:00"]
fri = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]
[holidays]
country = "DE"
subdivision = "BY"
dates = [2026-12-24]        # a TOML date works as well as a string
[[holidays.special]]
date = 2026-12-31
hours = []                  # no hours: closed
"""
    calendar = calendar_from_toml(text)
    assert calendar.hours == WeeklyHours.always()
    assert calendar.public_holidays == PublicHolidays("DE", "BY")
    assert calendar.hours_on(date(2026, 12, 31)) == ()
    assert calendar_from_toml(calendar_to_toml(calendar)) == calendar


def test_writing_then_reading_gives_the_same_calendar() -> None:
    calendar = calendar_from_toml(ISSUE_EXAMPLE)
    written = calendar_to_toml(calendar)
    assert 'timezone = "America/Los_Angeles"' in written
    assert calendar_from_toml(written) == calendar
    assert calendar_to_toml(BusinessCalendar.always_open("UTC")).count("00:00-24:00") == 7


def _error(text: str) -> str:
    with pytest.raises(CalendarError) as caught:
        calendar_from_toml(text, source="team.toml")
    message = str(caught.value)
    assert "\n" not in message
    return message


HOURS = '[hours]\nmon = ["09:00-17:00"]\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'timezone = "America/Las_Angeles"\n' + HOURS,
            "team.toml: timezone: unknown time zone 'America/Las_Angeles'",
        ),
        (HOURS, "team.toml: timezone: missing"),
        (
            'timezone = "UTC"\n[hours]\nmon = ["17:00-09:00"]\n',
            "team.toml: hours.mon[0]: '17:00-09:00': the end must be after the start",
        ),
        (
            'timezone = "UTC"\n[hours]\nmon = ["09:00-09:00"]\n',
            "team.toml: hours.mon[0]: '09:00-09:00': the end must be after the start",
        ),
        (
            'timezone = "UTC"\n[hours]\nmon = ["22:00-24:30"]\n',
            "team.toml: hours.mon[0]: '22:00-24:30': times run from 00:00 to 24:00",
        ),
        (
            'timezone = "UTC"\n[hours]\nmon = ["09:00-25:00"]\n',
            "team.toml: hours.mon[0]: '09:00-25:00': times run from 00:00 to 24:00",
        ),
        (
            'timezone = "UTC"\n[hours]\nmon = ["9-5"]\n',
            "team.toml: hours.mon[0]: '9-5' is not a time range: write HH:MM-HH:MM",
        ),
        (
            'timezone = "UTC"\n[hours]\ntue = ["09:00-13:00", "12:00-17:00"]\n',
            "team.toml: hours.tue: '09:00-13:00' overlaps '12:00-17:00'",
        ),
        (
            'timezone = "UTC"\n[hours]\nmonday = ["09:00-17:00"]\n',
            "team.toml: hours.monday: unknown weekday (use mon tue wed thu fri sat sun)",
        ),
        ('timezone = "UTC"\n[hours]\n', "team.toml: hours: no working time at all"),
        (
            'timezone = "UTC"\n[hours]\nmon = []\nsat = []\n',
            "team.toml: hours: no working time at all",
        ),
        ('timezone = "UTC"\n', "team.toml: hours: missing: no working time at all"),
        (
            'timezone = "UTC"\n[hours]\nmon = "09:00-17:00"\n',
            'team.toml: hours.mon: must be a list like ["09:00-17:00"]',
        ),
        (
            'timezone = "UTC"\n' + HOURS + "[hollidays]\n",
            "team.toml: hollidays: unknown key (expected one of: timezone, hours, holidays)",
        ),
        (
            'timezone = "UTC"\n' + HOURS + '[holidays]\ncountry = "XX"\n',
            "team.toml: holidays.country: the holidays package has no country 'XX'",
        ),
        (
            'timezone = "UTC"\n' + HOURS + '[holidays]\ncountry = "US"\nsubdivision = "ZZ"\n',
            "team.toml: holidays.country: the holidays package has no subdivision 'ZZ' "
            "for country 'US'",
        ),
        (
            'timezone = "UTC"\n' + HOURS + '[holidays]\nsubdivision = "CA"\n',
            "team.toml: holidays.subdivision: needs a country too",
        ),
        (
            'timezone = "UTC"\n' + HOURS + '[holidays]\ndates = ["2026-13-01"]\n',
            "team.toml: holidays.dates[0]: '2026-13-01' is not a date (write YYYY-MM-DD",
        ),
        (
            'timezone = "UTC"\n' + HOURS + '[holidays]\ndates = ["2026-12-24", "2026-12-24"]\n',
            "team.toml: holidays.dates[1]: 2026-12-24 is listed twice",
        ),
        (
            'timezone = "UTC"\n' + HOURS + '[[holidays.special]]\ndate = "2026-12-31"\n',
            "team.toml: holidays.special[0].hours: missing",
        ),
        (
            'timezone = "UTC"\n'
            + HOURS
            + '[[holidays.special]]\ndate = "2026-12-31"\nhours = ["12:00-09:00"]\n',
            "team.toml: holidays.special[0].hours[0]: '12:00-09:00': "
            "the end must be after the start",
        ),
        (
            'timezone = "UTC"\n' + HOURS + '[holidays]\ndates = ["2026-12-31"]\n'
            '[[holidays.special]]\ndate = "2026-12-31"\nhours = []\n',
            "team.toml: holidays.special[0].date: 2026-12-31 is also in holidays.dates",
        ),
        (
            'timezone = "UTC"\n'
            + HOURS
            + '[[holidays.special]]\ndate = "2026-12-31"\nhours = []\nname = "x"\n',
            "team.toml: holidays.special[0].name: unknown key",
        ),
        ('timezone = "UTC"\n[hours\n', "team.toml: not valid TOML: "),
        ('timezone = "UTC"\nhours = 5\n', "team.toml: hours: must be a table, got int 5"),
    ],
)
def test_bad_calendar_files_name_the_field_and_the_problem(text: str, expected: str) -> None:
    assert _error(text).startswith(expected)


def test_toml_syntax_errors_give_the_line() -> None:
    assert "line 3" in _error('timezone = "UTC"\n[hours]\nmon = = ["09:00-17:00"]\n')
