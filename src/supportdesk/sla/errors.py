"""The SLA engine's exceptions.

Every error the engine raises for bad input is an :class:`SlaError` (a ``ValueError``), and its
message is one line saying *what* is wrong in words a support lead can act on. Where the input came
from (a file, a line, a field) is prefixed by whoever knows it: the calendar-file reader, the CLI.
"""

from __future__ import annotations


class SlaError(ValueError):
    """Bad input to the SLA engine: a naive datetime, a negative target, a backwards pause…"""


class CalendarError(SlaError):
    """A calendar that cannot be used: unknown zone, overlapping hours, no working time at all…"""


class DurationError(SlaError):
    """A duration that cannot be read (``"24 hours"``, ``"1.5h"``, ``"P1D"``) or is negative."""


class HorizonError(SlaError):
    """An instant or a due date outside the years the engine supports (MIN_YEAR to MAX_YEAR)."""
