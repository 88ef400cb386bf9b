"""Availability and maintenance-compliance arithmetic for managed instances (pure: no Django).

The definitions are issue 6's "Availability: definitions"; ``docs/managed-instances.md`` explains
them with a worked example. Everything a caller needs is importable from here.
"""

from supportdesk.availability.figures import DEFAULT_TARGET, AvailabilityFigures, aggregate
from supportdesk.availability.locations import combine_locations
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
from supportdesk.availability.runs import (
    Fold,
    ProbeOrderError,
    ProbeRun,
    fold_probe,
    fold_probes,
    runs_from_probes,
)
from supportdesk.availability.timebase import (
    NaiveDatetimeError,
    epoch_seconds,
    format_instant,
    parse_instant,
    utc_datetime,
)
from supportdesk.availability.timeline import (
    AvailabilityConfig,
    Outage,
    RunSelection,
    State,
    StateSpan,
    Timeline,
    runs_needed,
)

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_TARGET",
    "MAX_DURATION",
    "MIN_NOTICE",
    "AvailabilityConfig",
    "AvailabilityFigures",
    "ComplianceVerdict",
    "Fold",
    "MaintenancePolicy",
    "MaintenanceWindow",
    "NaiveDatetimeError",
    "Outage",
    "Period",
    "PeriodError",
    "ProbeOrderError",
    "ProbeRun",
    "RunSelection",
    "State",
    "StateSpan",
    "Timeline",
    "Violation",
    "aggregate",
    "check_window",
    "combine_locations",
    "day_periods",
    "earliest_compliant_start",
    "epoch_seconds",
    "fold_probe",
    "fold_probes",
    "format_instant",
    "is_compliant",
    "month_period",
    "parse_instant",
    "parse_period",
    "quarter_period",
    "recent_days",
    "rolling_period",
    "runs_from_probes",
    "runs_needed",
    "utc_datetime",
]
