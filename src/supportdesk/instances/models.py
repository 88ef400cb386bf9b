"""Managed instances in operation: how they are monitored, what the probes saw (as runs), the
incidents their outages open, and the maintenance windows agreed with the customer.

The instance itself (`organizations.ManagedInstance`) says what the customer has; everything here
is how we keep the promise about it. Monitoring settings and live state sit in a one-to-one
`Monitor` rather than on `ManagedInstance`, so that the probe worker's frequent writes never touch
the row the console, the portal and the API read and edit, and so that this subdomain owns its
columns and migrations.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from supportdesk.accounts.models import validate_timezone
from supportdesk.availability import AvailabilityConfig
from supportdesk.availability import MaintenanceWindow as PureWindow


def new_status_token() -> str:
    return secrets.token_urlsafe(24)


class AvailabilitySettings(models.Model):
    """Per organization: the secret token of its status page and feeds, the time zone its monthly
    and quarterly reports are stated in, and the availability target (99.5 % unless a contract
    says otherwise)."""

    organization = models.OneToOneField(
        "organizations.Organization",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="availability_settings",
    )
    status_token = models.CharField(max_length=64, unique=True, default=new_status_token)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    target = models.DecimalField(
        max_digits=6,
        decimal_places=5,
        default=Decimal("0.995"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("1"))],
    )

    def __str__(self) -> str:
        return f"Availability settings of {self.organization_id}"

    @property
    def exact_target(self) -> Fraction:
        return Fraction(self.target)


class MonitorStatus(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    UP = "up", "Up"
    DOWN = "down", "Down"
    MAINTENANCE = "maintenance", "In maintenance"


class Monitor(models.Model):
    """How an instance is probed (the health URL is `ManagedInstance.health_url`) and its state."""

    instance = models.OneToOneField(
        "organizations.ManagedInstance",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="monitor",
    )
    enabled = models.BooleanField(
        default=True, help_text="Probe this instance live. History and reports stay either way."
    )
    expected_status = models.PositiveSmallIntegerField(
        default=200, validators=[MinValueValidator(100), MaxValueValidator(599)]
    )
    body_keyword = models.CharField(
        max_length=200, blank=True, help_text="If set, the response body must contain it"
    )
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    interval_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(10), MaxValueValidator(3600)]
    )
    max_gap_seconds = models.PositiveIntegerField(
        default=180,
        help_text="A gap between probes up to this long is covered by the probe before it",
    )
    failures_to_down = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    quorum = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="With several probe locations: how many must see it down",
    )
    status = models.CharField(
        max_length=20, choices=MonitorStatus.choices, default=MonitorStatus.UNKNOWN
    )
    status_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Monitor of {self.instance_id}"

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.interval_seconds)

    def availability_config(self, target: Fraction | None = None) -> AvailabilityConfig:
        return AvailabilityConfig(
            interval=self.interval_seconds,
            failures_to_down=self.failures_to_down,
            max_gap=max(self.max_gap_seconds, self.interval_seconds),
            target=target if target is not None else Fraction(995, 1000),
        )


class ProbeRun(models.Model):
    """Consecutive probes from one location with the same result and no gap above max_gap
    (`supportdesk.availability.ProbeRun`): one row per change of state, not one per probe."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="runs")
    location = models.CharField(max_length=50)
    first_t = models.BigIntegerField(help_text="Epoch seconds of the first probe")
    last_t = models.BigIntegerField(help_text="Epoch seconds of the last probe")
    count = models.PositiveIntegerField()
    ok = models.BooleanField()
    max_step = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["monitor", "location", "first_t"]
        constraints = [
            models.UniqueConstraint(
                fields=["monitor", "location", "first_t"], name="proberun_unique_start"
            )
        ]
        indexes = [
            models.Index(fields=["monitor", "location", "last_t"], name="proberun_last_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id}@{self.location} {self.first_t}-{self.last_t} x{self.count}"


class LocationState(models.Model):
    """The latest probe of one monitor from one location, and its current failure streak."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="locations")
    location = models.CharField(max_length=50)
    last_probe_at = models.DateTimeField()
    last_ok = models.BooleanField()
    failures = models.PositiveIntegerField(default=0, help_text="Consecutive failed probes")
    failing_since = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["location"]
        constraints = [
            models.UniqueConstraint(fields=["monitor", "location"], name="locationstate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id}@{self.location}"


class ProbeLocation(models.Model):
    """A probe location and the lease that lets exactly one process probe from it."""

    name = models.CharField(max_length=50, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


class Incident(models.Model):
    class Kind(models.TextChoices):
        OUTAGE = "outage", "Outage"
        OVERRUN = "overrun", "Maintenance overrun"
        MANUAL = "manual", "Reported by staff"

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="incidents"
    )
    instance = models.ForeignKey(
        "organizations.ManagedInstance", on_delete=models.CASCADE, related_name="incidents"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING
    )
    started_at = models.DateTimeField(help_text="When the instance went down")
    recovered_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    ticket = models.OneToOneField(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incident",
    )
    maintenance_window = models.ForeignKey(
        "MaintenanceWindow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-started_at"], name="incident_org_idx"),
            models.Index(fields=["instance", "status"], name="incident_instance_idx"),
            models.Index(fields=["status", "updated_at"], name="incident_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Incident {self.pk}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status != IncidentStatus.RESOLVED


class IncidentUpdate(models.Model):
    """One timestamped step of an incident, as the customer reads it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=20, choices=IncidentStatus.choices)
    message = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_automatic = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.status} at {self.created_at.isoformat()}"


class WindowStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed, awaiting confirmation"
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    OVERRUNNING = "overrunning", "Overrunning"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


# Windows that were announced: they count in the availability figures.
ANNOUNCED_STATUSES = (
    WindowStatus.SCHEDULED,
    WindowStatus.IN_PROGRESS,
    WindowStatus.OVERRUNNING,
    WindowStatus.COMPLETED,
)
OPEN_WINDOW_STATUSES = (
    WindowStatus.PROPOSED,
    WindowStatus.SCHEDULED,
    WindowStatus.IN_PROGRESS,
    WindowStatus.OVERRUNNING,
)


class MaintenanceWindow(models.Model):
    """Planned maintenance of one instance, agreed between the vendor and the customer."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    instance = models.ForeignKey(
        "organizations.ManagedInstance",
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    emergency = models.BooleanField(default=False)
    emergency_reason = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=WindowStatus.choices, default=WindowStatus.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    announced_at = models.DateTimeField(
        null=True, blank=True, help_text="Confirmed and notified: compliance counts from here"
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    overran_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reminded_24h_at = models.DateTimeField(null=True, blank=True)
    reminded_1h_at = models.DateTimeField(null=True, blank=True)
    sequence = models.PositiveIntegerField(
        default=0, help_text="Bumped by every reschedule and cancellation (iCal SEQUENCE)"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["status", "start"], name="window_status_start_idx"),
            models.Index(fields=["status", "end"], name="window_status_end_idx"),
            models.Index(fields=["instance", "start"], name="window_instance_idx"),
            models.Index(fields=["organization", "start"], name="window_org_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="window_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.start.isoformat()})"

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def is_announced(self) -> bool:
        return self.status in ANNOUNCED_STATUSES and self.announced_at is not None

    def as_pure(self, *, announced_at: object = None) -> PureWindow:
        """The window for the availability core (announced now if it has not been yet)."""
        moment = announced_at or self.announced_at or timezone.now()
        return PureWindow(moment, self.start, self.end, self.emergency)  # type: ignore[arg-type]


class MaintenanceEvent(models.Model):
    """The window's history: proposed, confirmed, rescheduled (old → new times), cancelled…"""

    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.window_id} {self.kind}"
