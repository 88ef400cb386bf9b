"""Availability figures for one period, and their time-weighted aggregate over instances.

Every figure is a whole number of seconds except the error budget (0.5 % of the eligible time can be
a fraction of a second, and is kept exact as a :class:`~fractions.Fraction`). Ratios whose
denominator is zero (no known time at all; everything unknown or inside compliant windows) are
``None``, and ``null`` in JSON: a period with no data is not 0 % or 100 % available, it is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

DEFAULT_TARGET = Fraction(995, 1000)


@dataclass(frozen=True)
class AvailabilityFigures:
    """The figures of the issue's definitions for one instance (or a sum over instances).

    Stored: ``period_seconds``; ``known_seconds`` (period minus unknown); ``eligible_seconds``
    (known and outside compliant windows); ``downtime_seconds`` (down outside compliant windows,
    counted against the promise); ``maintenance_seconds`` (down inside compliant windows);
    ``budget_seconds`` ((1 − target) × eligible). The rest is derived.
    """

    period_seconds: int
    known_seconds: int
    eligible_seconds: int
    downtime_seconds: int
    maintenance_seconds: int
    budget_seconds: Fraction

    def __post_init__(self) -> None:
        ok = (
            0 <= self.known_seconds <= self.period_seconds
            and 0 <= self.eligible_seconds <= self.known_seconds
            and 0 <= self.downtime_seconds <= self.eligible_seconds
            and 0 <= self.maintenance_seconds <= self.known_seconds - self.eligible_seconds
            and self.budget_seconds >= 0
        )
        if not ok:
            raise ValueError(f"inconsistent availability figures: {self!r}")

    @property
    def unknown_seconds(self) -> int:
        return self.period_seconds - self.known_seconds

    @property
    def down_seconds(self) -> int:
        """All down time, maintenance included (raw availability counts it)."""
        return self.downtime_seconds + self.maintenance_seconds

    @property
    def in_compliant_windows_seconds(self) -> int:
        """Known time inside compliant windows (excluded from the SLA figure), up or down."""
        return self.known_seconds - self.eligible_seconds

    @property
    def raw_availability(self) -> float | None:
        if self.known_seconds == 0:
            return None
        return (self.known_seconds - self.down_seconds) / self.known_seconds

    @property
    def sla_availability(self) -> float | None:
        if self.eligible_seconds == 0:
            return None
        return (self.eligible_seconds - self.downtime_seconds) / self.eligible_seconds

    @property
    def budget_remaining_seconds(self) -> Fraction:
        """Budget minus downtime; negative when the promise was broken."""
        return self.budget_seconds - self.downtime_seconds

    def __add__(self, other: AvailabilityFigures) -> AvailabilityFigures:
        return AvailabilityFigures(
            period_seconds=self.period_seconds + other.period_seconds,
            known_seconds=self.known_seconds + other.known_seconds,
            eligible_seconds=self.eligible_seconds + other.eligible_seconds,
            downtime_seconds=self.downtime_seconds + other.downtime_seconds,
            maintenance_seconds=self.maintenance_seconds + other.maintenance_seconds,
            budget_seconds=self.budget_seconds + other.budget_seconds,
        )

    def to_dict(self) -> dict[str, int | float | None]:
        """The JSON shape shared by the CLI, the API and CSV exports (budgets as float seconds)."""
        return {
            "raw_availability": self.raw_availability,
            "sla_availability": self.sla_availability,
            "period_seconds": self.period_seconds,
            "known_seconds": self.known_seconds,
            "unknown_seconds": self.unknown_seconds,
            "eligible_seconds": self.eligible_seconds,
            "in_compliant_windows_seconds": self.in_compliant_windows_seconds,
            "down_seconds": self.down_seconds,
            "downtime_seconds": self.downtime_seconds,
            "maintenance_seconds": self.maintenance_seconds,
            "budget_seconds": float(self.budget_seconds),
            "budget_remaining_seconds": float(self.budget_remaining_seconds),
        }


EMPTY = AvailabilityFigures(0, 0, 0, 0, 0, Fraction(0))


def aggregate(figures: Iterable[AvailabilityFigures]) -> AvailabilityFigures:
    """Time-weighted aggregate (an organization's instances, the fleet): sum the seconds.

    Ratios of the sum weight every instance by its known (raw) or eligible (SLA) time, so an
    instance that was unmonitored half the month counts half; budgets add up, so instances with
    different targets aggregate correctly too. ``period_seconds`` becomes instance-seconds.
    """
    total = EMPTY
    for item in figures:
        total = total + item
    return total
