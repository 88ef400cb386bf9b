"""Instants at second precision: where tz-aware datetimes become epoch seconds and back.

The availability arithmetic adds and subtracts very many instants. Integers (Python ``int``, numpy
``int64``) are exact and fast, and whole seconds are the precision the availability definitions
are written in, so the core works on epoch seconds and converts at its edges, here. A naive
datetime is refused rather than guessed at: a wrong time zone shifts every figure silently.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Far enough for any real instant (years 1..9999 fit) and far from int64 overflow when a few such
# numbers are added together in numpy.
MAX_SECONDS = 10**12


class NaiveDatetimeError(ValueError):
    """A datetime without a UTC offset reached the availability core."""


def require_aware(moment: datetime, *, what: str = "time") -> None:
    """Raise :class:`NaiveDatetimeError` unless ``moment`` knows its UTC offset."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{what} {moment.isoformat()} has no time zone; give a tz-aware datetime "
            "(in text: end it with Z or an offset such as +02:00)"
        )


def epoch_seconds(moment: datetime, *, what: str = "time") -> int:
    """Seconds since 1970-01-01T00:00:00Z of a tz-aware datetime on a whole second.

    A fraction of a second is refused, not rounded: rounding can merge two probes or move a
    window edge, and which way to round is the caller's decision (round a window's announcement
    up, never down, so that it never looks earlier than it was).
    """
    require_aware(moment, what=what)
    if moment.microsecond:
        raise ValueError(
            f"{what} {moment.isoformat()} has a fraction of a second; "
            "availability is computed to the second"
        )
    delta = moment - EPOCH
    return delta.days * 86_400 + delta.seconds


def utc_datetime(seconds: int) -> datetime:
    """The UTC datetime ``seconds`` after the epoch (inverse of :func:`epoch_seconds`)."""
    return EPOCH + timedelta(seconds=int(seconds))


def parse_instant(text: str, *, what: str = "time") -> datetime:
    """Parse an ISO 8601 instant that states its offset (``Z`` or ``±HH:MM``)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{what} {text!r} is not an ISO 8601 time such as 2026-10-01T09:30:00Z"
        ) from None
    require_aware(moment, what=what)
    return moment


def format_instant(moment: datetime | int) -> str:
    """``2026-10-01T09:30:00Z``: UTC, whole seconds, the form every JSON output uses."""
    if isinstance(moment, datetime):
        require_aware(moment)
        moment = moment.astimezone(UTC)
    else:
        moment = utc_datetime(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(duration: timedelta | int) -> str:
    """A duration as people read it: ``23 h 59 min``, ``2 h``, ``45 s``, ``50 h 2 min``.

    Hours are not folded into days: the promise is stated in hours ("24 h notice").
    """
    total = duration if isinstance(duration, int) else duration // timedelta(seconds=1)
    sign = "-" if total < 0 else ""
    hours, rest = divmod(abs(total), 3_600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{value} {unit}"
        for value, unit in ((hours, "h"), (minutes, "min"), (seconds, "s"))
        if value
    ]
    return sign + (" ".join(parts) if parts else "0 s")
