"""Public holidays from the ``holidays`` package, with observed days, cached per year.

The package computes holidays per year on demand, so there is no "expiry": asking for 2087 works.
Each year is computed once per (country, subdivision) and kept, because building a calendar's
table touches every year it covers; years are computed a dozen at a time, in one package call.
"""

from __future__ import annotations

import threading
from datetime import date
from functools import lru_cache

import holidays

from supportdesk.sla.errors import CalendarError


@lru_cache(maxsize=256)
def check_country(country: str, subdivision: str | None) -> None:
    """Raise :class:`CalendarError` if the package does not know the country or subdivision."""
    try:
        holidays.country_holidays(country, subdiv=subdivision, years=2000, observed=True)
    except NotImplementedError:
        if subdivision is not None:
            try:
                holidays.country_holidays(country, years=2000)
            except NotImplementedError:
                pass
            else:
                raise CalendarError(
                    f"the holidays package has no subdivision {subdivision!r} "
                    f"for country {country!r}"
                ) from None
        raise CalendarError(
            f"the holidays package has no country {country!r} (use an ISO 3166 code such as 'US')"
        ) from None


PREFETCH_YEARS = 12
"""Years computed together on a cache miss: a ten-year table asks for twelve (one either side)."""

_dates: dict[tuple[str, str | None, int], frozenset[date]] = {}
_dates_lock = threading.Lock()


def public_holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Local dates in ``year`` that are public holidays or observed public holidays.

    The package lists an observed day under its own year (New Year's Day 2028, a Saturday, is
    observed on Friday 2027-12-31 and listed in 2027); the neighbouring years are asked for too
    so that a date is never lost should a country's rules list it under the holiday's own year.
    A miss computes ``PREFETCH_YEARS`` years in one package call (a ten-year table needs twelve,
    and one call for twelve years costs about half of twelve calls) and keeps them for good.
    """
    key = (country, subdivision, year)
    try:
        return _dates[key]
    except KeyError:
        pass
    with _dates_lock:
        complete = range(year, year + PREFETCH_YEARS)
        # Every date of a year in `complete` is listed under it or a neighbouring year.
        listed = holidays.country_holidays(
            country, subdiv=subdivision, years=range(year - 1, complete.stop + 1), observed=True
        )
        by_year: dict[int, set[date]] = {y: set() for y in complete}
        for day in listed:
            if day.year in by_year:
                by_year[day.year].add(day)
        for y, days in by_year.items():
            _dates.setdefault((country, subdivision, y), frozenset(days))
        return _dates[key]


def clear_caches() -> None:
    """Forget the cached holidays (the benchmark uses it to time a cold build honestly)."""
    with _dates_lock:
        _dates.clear()
