"""Business durations: ``24h``, ``90m``, ``45s``, ``1h30m``, ISO 8601 ``PT24H``.

A business duration is an amount of *business* time, so only hours, minutes and seconds are
accepted: a "day" is ambiguous (24 hours? one business day of 8 hours?) and ISO 8601's ``P1D`` is a
calendar day, not 24 hours, so day, week, month and year components are refused with a hint. Numbers
are whole; the engine works in whole seconds.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

from supportdesk.sla.errors import DurationError

_SHORT = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", re.IGNORECASE)
_ISO = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", re.IGNORECASE)
_ISO_WITH_DATE_PART = re.compile(r"P\d*[YMWD]", re.IGNORECASE)

DURATION_EXAMPLES = "24h, 90m, 45s, 1h30m or PT24H"


def parse_duration_seconds(text: str) -> int:
    """Read a business duration and return whole seconds.

    >>> [parse_duration_seconds(text) for text in ("1h30m", "PT24H", "0s")]
    [5400, 86400, 0]
    """
    if not isinstance(text, str):
        raise DurationError(f"{text!r} is not a duration: write {DURATION_EXAMPLES}")
    return _parse_duration_text(text)


@lru_cache(maxsize=1024)
def _parse_duration_text(text: str) -> int:
    # Cached: batch input repeats a handful of targets ("24h", "72h") millions of times.
    stripped = text.strip()
    match = _SHORT.fullmatch(stripped) or _ISO.fullmatch(stripped)
    if match is None or not any(match.groups()):
        if stripped.isdigit():
            hint = f" (a bare number is ambiguous: write {stripped}s for seconds)"
        elif _ISO_WITH_DATE_PART.match(stripped):
            hint = (
                " (days, weeks, months and years are not fixed amounts of business time:"
                " use hours, e.g. PT24H)"
            )
        else:
            hint = ""
        raise DurationError(f"{text!r} is not a duration: write {DURATION_EXAMPLES}{hint}")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_duration(text: str) -> timedelta:
    """Read a business duration (``24h``, ``90m``, ``45s``, ``1h30m``, ``PT24H``) as a timedelta.

    Raises :class:`DurationError` with a one-line explanation for anything else.
    """
    return timedelta(seconds=parse_duration_seconds(text))


def duration_seconds(value: timedelta | int) -> int:
    """Whole, non-negative seconds of a target given as a ``timedelta`` or an ``int`` of seconds.

    Sub-second timedeltas are refused rather than rounded: a target is a promise, and silently
    moving it by a fraction of a second would make ``elapsed(start, due) == target`` false.
    """
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, timedelta):
        if value.microseconds:
            raise DurationError(f"{value} is not a whole number of seconds")
        seconds = value.days * 86400 + value.seconds
    else:
        raise DurationError(f"{value!r} is not a duration: give a timedelta or whole seconds")
    if seconds < 0:
        raise DurationError(f"a duration cannot be negative (got {seconds} s)")
    return seconds


def format_duration(seconds: int) -> str:
    """The short form ``parse_duration`` reads back: ``95400`` → ``"26h30m"``, ``0`` → ``"0s"``."""
    if seconds < 0:
        raise DurationError(f"a duration cannot be negative (got {seconds} s)")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0s"
