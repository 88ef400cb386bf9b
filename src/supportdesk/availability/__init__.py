"""Availability and maintenance-compliance arithmetic for managed instances (pure: no Django).

The definitions are issue 6's "Availability: definitions"; ``docs/managed-instances.md`` explains
them with a worked example. Everything a caller needs is importable from here.
"""

from supportdesk.availability.maintenance import (
    DEFAULT_POLICY,
    MAX_DURATION,
    MIN_NOTICE,
    ComplianceVerdict,
    MaintenancePolicy,
    MaintenanceWindow,
    Violation,
    check_window,
    earliest_compliant_start,
    is_compliant,
)
from supportdesk.availability.periods import (
    Period,
    PeriodError,
    day_periods,
    month_period,
    parse_period,
    quarter_period,
    recent_days,
    rolling_period,
)
from supportdesk.availability.timebase import (
    NaiveDatetimeError,
    epoch_seconds,
    format_instant,
    parse_instant,
    utc_datetime,
)

__all__ = [
    "DEFAULT_POLICY",
    "MAX_DURATION",
    "MIN_NOTICE",
    "ComplianceVerdict",
    "MaintenancePolicy",
    "MaintenanceWindow",
    "NaiveDatetimeError",
    "Period",
    "PeriodError",
    "Violation",
    "check_window",
    "day_periods",
    "earliest_compliant_start",
    "epoch_seconds",
    "format_instant",
    "is_compliant",
    "month_period",
    "parse_instant",
    "parse_period",
    "quarter_period",
    "recent_days",
    "rolling_period",
    "utc_datetime",
]
