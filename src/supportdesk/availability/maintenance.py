"""Maintenance windows and the promise they are held to.

The handbook promises managed-instance customers that maintenance is scheduled with them at least
24 hours ahead and lasts at most 2 hours. A window keeping that promise is *compliant*: down time
inside it is maintenance and does not count against availability. Anything else (short notice, too
long, or flagged as emergency) is allowed but counts as downtime. A reschedule is a new
announcement: the caller builds a new :class:`MaintenanceWindow` with the new ``announced_at``.

Compliance is decided on the datetimes exactly (no rounding), so a window announced at 10:00:00.5
for 10:00:00 the next day has 23 h 59 min 59.5 s of notice and is not compliant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from supportdesk.availability.timebase import format_duration, require_aware

MIN_NOTICE = timedelta(hours=24)
MAX_DURATION = timedelta(hours=2)


@dataclass(frozen=True)
class MaintenancePolicy:
    """How much notice a window needs and how long it may be (the promise, configurable)."""

    min_notice: timedelta = MIN_NOTICE
    max_duration: timedelta = MAX_DURATION

    def __post_init__(self) -> None:
        if self.min_notice < timedelta(0):
            raise ValueError("min_notice must not be negative")
        if self.max_duration <= timedelta(0):
            raise ValueError("max_duration must be positive")


DEFAULT_POLICY = MaintenancePolicy()


class Violation(StrEnum):
    """Why a window is not compliant (several can hold at once)."""

    EMERGENCY = "emergency"
    SHORT_NOTICE = "short_notice"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class MaintenanceWindow:
    """A window for ``[start, end)``, announced (confirmed and notified) at ``announced_at``.

    ``end`` is the scheduled end; running past it is an overrun, and down time after ``end`` is
    downtime whatever the window's compliance.
    """

    announced_at: datetime
    start: datetime
    end: datetime
    emergency: bool = False

    def __post_init__(self) -> None:
        require_aware(self.announced_at, what="announced_at")
        require_aware(self.start, what="start")
        require_aware(self.end, what="end")
        if self.end <= self.start:
            raise ValueError(
                f"window end {self.end.isoformat()} is not after its start {self.start.isoformat()}"
            )

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def notice(self) -> timedelta:
        """How long before the start the window was announced (negative: after it started)."""
        return self.start - self.announced_at


@dataclass(frozen=True)
class ComplianceVerdict:
    """Whether a window keeps the promise, why not, and when it could start and keep it."""

    window: MaintenanceWindow
    policy: MaintenancePolicy
    violations: tuple[Violation, ...]
    earliest_compliant_start: datetime | None
    """The earliest start at which a window of this duration, announced at ``announced_at``,
    would be compliant (without the emergency flag); ``None`` when the duration exceeds the
    maximum, since then no start is compliant. Given in the time zone of ``window.start``."""

    @property
    def compliant(self) -> bool:
        return not self.violations

    def explain(self) -> str:
        """One sentence for people: the message shown when a window is refused or flagged."""
        window, policy = self.window, self.policy
        if self.compliant:
            return (
                f"Compliant: announced {format_duration(window.notice)} before its start "
                f"(at least {format_duration(policy.min_notice)}) and "
                f"{format_duration(window.duration)} long "
                f"(at most {format_duration(policy.max_duration)})."
            )
        reasons: list[str] = []
        if Violation.EMERGENCY in self.violations:
            reasons.append("it is flagged as emergency maintenance, which counts as downtime")
        if Violation.SHORT_NOTICE in self.violations:
            if window.notice < timedelta(0):
                notice = f"{format_duration(-window.notice)} after its start"
            else:
                notice = f"only {format_duration(window.notice)} before its start"
            reasons.append(
                f"it is announced {notice} (at least {format_duration(policy.min_notice)} needed)"
            )
        if Violation.TOO_LONG in self.violations:
            reasons.append(
                f"it is scheduled for {format_duration(window.duration)} "
                f"(at most {format_duration(policy.max_duration)})"
            )
        text = "Not compliant: " + "; ".join(reasons) + "."
        if self.earliest_compliant_start is None:
            text += (
                f" A window longer than {format_duration(policy.max_duration)} can never be "
                "compliant: shorten it or split it."
            )
        elif Violation.SHORT_NOTICE in self.violations:
            text += (
                f" The earliest compliant start for a {format_duration(window.duration)} window "
                f"announced at {window.announced_at.isoformat()} is "
                f"{self.earliest_compliant_start.isoformat()}."
            )
        return text


def earliest_compliant_start(
    *, announced_at: datetime, duration: timedelta, policy: MaintenancePolicy = DEFAULT_POLICY
) -> datetime | None:
    """The earliest start for a window of ``duration`` announced at ``announced_at``.

    ``None`` when ``duration`` exceeds ``policy.max_duration``: no amount of notice helps. The
    result is exact (it may fall inside a minute); a form offering whole minutes rounds it up.
    """
    require_aware(announced_at, what="announced_at")
    if duration <= timedelta(0):
        raise ValueError("a window's duration must be positive")
    if duration > policy.max_duration:
        return None
    return announced_at + policy.min_notice


def check_window(
    window: MaintenanceWindow, policy: MaintenancePolicy = DEFAULT_POLICY
) -> ComplianceVerdict:
    """Decide compliance: not emergency, notice ≥ ``min_notice``, duration ≤ ``max_duration``.

    To vet a proposal, pass a window whose ``announced_at`` is the moment it would be announced
    (usually now); to vet a reschedule, pass the new times and the new announcement instant.
    """
    violations: list[Violation] = []
    if window.emergency:
        violations.append(Violation.EMERGENCY)
    if window.notice < policy.min_notice:
        violations.append(Violation.SHORT_NOTICE)
    if window.duration > policy.max_duration:
        violations.append(Violation.TOO_LONG)
    earliest = earliest_compliant_start(
        announced_at=window.announced_at, duration=window.duration, policy=policy
    )
    if earliest is not None and window.start.tzinfo is not None:
        earliest = earliest.astimezone(window.start.tzinfo)
    return ComplianceVerdict(
        window=window,
        policy=policy,
        violations=tuple(violations),
        earliest_compliant_start=earliest,
    )


def is_compliant(window: MaintenanceWindow, policy: MaintenancePolicy = DEFAULT_POLICY) -> bool:
    return check_window(window, policy).compliant
