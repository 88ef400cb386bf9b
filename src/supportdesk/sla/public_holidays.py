"""Public holidays from the ``holidays`` package, with observed days, cached per year.

The package computes holidays per year on demand, so there is no "expiry": asking for 2087 works.
Each year is computed once per (country, subdivision) and kept, because building a calendar's
table touches every year it covers and the package takes about half a millisecond per year.
"""

from __future__ import annotations

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


@lru_cache(maxsize=4096)
def _package_year(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    found = holidays.country_holidays(country, subdiv=subdivision, years=year, observed=True)
    return frozenset(found.keys())


@lru_cache(maxsize=4096)
def public_holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Local dates in ``year`` that are public holidays or observed public holidays.

    The package lists an observed day under its own year (New Year's Day 2028, a Saturday, is
    observed on Friday 2027-12-31 and listed in 2027); the neighbouring years are consulted too so
    that a date is never lost should a country's rules list it under the holiday's own year.
    """
    return frozenset(
        day
        for listed_year in (year - 1, year, year + 1)
        for day in _package_year(country, subdivision, listed_year)
        if day.year == year
    )


def clear_caches() -> None:
    """Forget the cached holidays (the benchmark uses it to time a cold build honestly)."""
    _package_year.cache_clear()
    public_holiday_dates.cache_clear()
