"""SLA policies, their calendars, and the clocks they put on tickets.

The arithmetic lives in the pure engine (`supportdesk.sla`); these models store what it needs:
calendars as the engine's TOML text with the instant each version took effect, policies with their
targets per severity, and per ticket one clock per target with its pauses and its history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class Calendar(models.Model):
    """A named business calendar. Its hours are the newest of its versions; older versions stay,
    so business time consumed before an edit stays consumed (SPEC §3)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.CharField(max_length=300, blank=True)
    # Derived from the newest version when it is saved: every day 00:00–24:00, no holidays.
    is_24x7 = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CalendarVersion(models.Model):
    """The calendar's hours (the engine's TOML format) from `effective_from` on. The first
    version has no start: it has always applied."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="versions")
    effective_from = models.DateTimeField(null=True, blank=True)
    toml = models.TextField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["calendar", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar"],
                condition=models.Q(effective_from__isnull=True),
                name="calendar_one_initial_version",
            )
        ]

    def __str__(self) -> str:
        since = self.effective_from.isoformat() if self.effective_from else "the start"
        return f"{self.calendar} from {since}"


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_REPLY = "next_reply", "Next reply"
    RESOLUTION = "resolution", "Resolution"
    COMMITMENT = "commitment", "Next update (commitment)"


TARGET_METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_REPLY, Metric.RESOLUTION)


class SlaPolicy(models.Model):
    class Kind(models.TextChoices):
        SELF_HOSTED = "self_hosted", "Self-hosted default"
        MANAGED = "managed", "Managed-instance default"
        CONTRACT = "contract", "Contract"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # A contract policy belongs to one contract (Enterprise Plus and Elite "refer to their
    # contracts"); the link lives here so the organizations app needs no change.
    contract = models.OneToOneField(
        "organizations.Contract",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policy",
    )
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    # Warnings: at this share of a target, and this many business minutes before it (0 = off);
    # whichever comes first, once per target and cycle.
    warn_at_percent = models.PositiveSmallIntegerField(
        default=75, validators=[MaxValueValidator(99)]
    )
    warn_minutes_before = models.PositiveIntegerField(default=60)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(kind__in=["self_hosted", "managed"]),
                name="one_default_policy_per_deployment",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="contract", contract__isnull=False)
                | (~models.Q(kind="contract") & models.Q(contract__isnull=True)),
                name="contract_policy_has_contract",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    """One promise of a policy: for tickets of `severity`, `metric` within `target_seconds` of
    business time on `calendar`. A severity without a row for a metric has no timer for it."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    severity = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(2)]
    )
    metric = models.CharField(max_length=20, choices=[(m.value, m.label) for m in TARGET_METRICS])
    target_seconds = models.PositiveIntegerField()
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="targets")

    class Meta:
        ordering = ["policy", "severity", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "severity", "metric"], name="one_target_per_metric"
            ),
            models.CheckConstraint(
                condition=models.Q(target_seconds__gt=0), name="target_is_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy}: Sev {self.severity} {self.get_metric_display()}"


class TicketSla(models.Model):
    """Which policy applies to a ticket, and why (the ordered rule, in words)."""

    class Rule(models.TextChoices):
        CONTRACT = "contract", "Contract policy"
        DEPLOYMENT = "deployment", "Deployment default"
        NONE = "none", "No SLA"

    ticket = models.OneToOneField(
        "tickets.Ticket", primary_key=True, on_delete=models.CASCADE, related_name="sla"
    )
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.CharField(max_length=20, choices=Rule.choices)
    reason = models.CharField(max_length=300)
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.reason}"


class TicketSlaSummary(models.Model):
    """The ticket's SLA summary, written by the clocks and the bulk recompute: the next instant
    the sweep must look at the ticket (a warning or a due instant), and for the queue's badge and
    the "at risk" queue the earliest unmet due instant, its calendar and the clocks' state.

    A narrow table of its own rather than columns on the ticket: the summary's instants are
    indexed (the sweep and the at-risk queue read them with one index range scan), so changing
    them is never a HOT update; here that touches this table's three small indexes instead of
    every index of `tickets_ticket`. `is_open` mirrors the ticket's, for the at-risk queue."""

    ticket = models.OneToOneField(
        "tickets.Ticket", primary_key=True, on_delete=models.CASCADE, related_name="sla_summary"
    )
    is_open = models.BooleanField(default=True)
    next_event_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, blank=True)
    # The calendar of the soonest due clock (the badge shows time left in its business time).
    calendar_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweep: `next_event_at <= now`, ordered (tickets with no next event are left out).
            models.Index(
                fields=["next_event_at"],
                name="slasummary_next_event_idx",
                condition=models.Q(next_event_at__isnull=False),
            ),
            # The at-risk queue and the "SLA due" sort: open tickets by due instant.
            models.Index(fields=["is_open", "due_at", "ticket"], name="slasummary_open_due_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.state or 'no SLA'}"


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    CANCELLED = "cancelled", "No longer applies"


class SlaClock(models.Model):
    """One target on one ticket.

    `pauses` is a list of `[start, end]` epoch seconds (`end` null while the pause is open);
    `due_at` is null while paused. `breached_at` is written once and never cleared: a breach stays
    recorded even if the ticket is paused later or its target changes. `cycle` counts restarts
    (a reopen): warnings are sent once per target and cycle."""

    # The foreign keys' own indexes are left out where a composite index below starts with the
    # same column: fewer indexes make the bulk recompute's UPDATE cheaper (and HOT on PostgreSQL).
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="sla_clocks", db_index=False
    )
    metric = models.CharField(max_length=20, choices=Metric.choices)
    policy = models.ForeignKey(
        SlaPolicy,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="clocks",
        db_index=False,
    )
    calendar = models.ForeignKey(
        Calendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clocks",
        db_index=False,
    )
    target_seconds = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    pauses = models.JSONField(default=list, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    cycle = models.PositiveIntegerField(default=1)
    warned_cycle = models.PositiveIntegerField(default=0)
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    # Business seconds from start to met (pauses excluded), for the reports' medians.
    business_seconds = models.PositiveIntegerField(null=True, blank=True)
    # For commitments: the reply that made the promise, and its words.
    # Not indexed: messages are only deleted with their ticket, which deletes its clocks first.
    message = models.ForeignKey(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # The next instant the sweep must look at this clock (a warning or the due instant).
    next_event_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["ticket", "started_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "metric"], name="slaclock_ticket_idx"),
            models.Index(fields=["calendar", "state"], name="slaclock_calendar_idx"),
            models.Index(fields=["policy", "state"], name="slaclock_policy_idx"),
            models.Index(fields=["started_at"], name="slaclock_started_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.metric}: {self.state}"

    @property
    def is_final(self) -> bool:
        return self.state == ClockState.CANCELLED or (
            self.metric != Metric.RESOLUTION and self.met_at is not None
        )

    @property
    def open_pause_since(self) -> dt.datetime | None:
        if self.pauses and self.pauses[-1][1] is None:
            return dt.datetime.fromtimestamp(self.pauses[-1][0], dt.UTC)
        return None

    def pause_list(self) -> list[tuple[dt.datetime, dt.datetime | None]]:
        return [
            (
                dt.datetime.fromtimestamp(begin, dt.UTC),
                None if end is None else dt.datetime.fromtimestamp(end, dt.UTC),
            )
            for begin, end in self.pauses
        ]


class SlaClockEvent(models.Model):
    """One line of a clock's history: started, paused, resumed, recomputed, warned, breached…"""

    class Kind(models.TextChoices):
        STARTED = "started", "Started"
        PAUSED = "paused", "Paused"
        RESUMED = "resumed", "Resumed"
        MET = "met", "Met"
        REOPENED = "reopened", "Reopened"
        RECOMPUTED = "recomputed", "Recomputed"
        WARNED = "warned", "Warning sent"
        BREACHED = "breached", "Breached"
        ESCALATED = "escalated", "Escalated"
        CANCELLED = "cancelled", "No longer applies"

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    due_before = models.DateTimeField(null=True, blank=True)
    due_after = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.clock} {self.kind} at {self.at}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Clock events are immutable")
        super().save(*args, **kwargs)


class OnCallShift(models.Model):
    """Who is on call when: Sev 1 on 24×7 policies goes to them, whatever the hour."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="on_call_shifts"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="oncall_span_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M}"
