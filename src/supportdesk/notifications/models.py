"""Notifications to people: shown in the console (or portal) and, unless told otherwise, emailed.

A notification carries a `dedupe_key` (unique): whoever creates it first wins, so several workers
sweeping the same SLA clock or maintenance window send one notification, not several."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    class EmailStatus(models.TextChoices):
        PENDING = "pending", "Waiting to be emailed"
        SENDING = "sending", "Being emailed"
        SENT = "sent", "Emailed"
        SKIPPED = "skipped", "Not emailed"
        FAILED = "failed", "Email failed"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=50, help_text="e.g. sla.warning, ticket.assigned")
    title = models.CharField(max_length=250)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="Site-relative link")
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Email delivery. `deliver_after` holds a notification back (quiet hours).
    deliver_after = models.DateTimeField(default=timezone.now)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_claimed_until = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx"
            ),
            models.Index(fields=["email_status", "deliver_after"], name="notification_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}: {self.title}"
