"""The e-mail channel's records: every message that came in (stored raw, before anything else),
every message we sent (with our own Message-ID, stored before sending), and the addresses that
bounce permanently.

`supportdesk.mail.parsing` (pure, no Django) reads the bytes; the services of this app store,
thread and send."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class InboundMessage(models.Model):
    """One message as delivered to one support address (LMTP recipient or IMAP mailbox).

    Written in one transaction before the listener answers 250 or the IMAP poller moves the
    message on the server ("store first"); processed afterwards by a task that can be re-run."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received, waiting to be processed"
        PROCESSED = "processed", "Processed"
        QUARANTINED = "quarantined", "Quarantined (could not be processed)"
        DISCARDED = "discarded", "Discarded by an agent"

    class Source(models.TextChoices):
        LMTP = "lmtp", "LMTP"
        SMTP = "smtp", "SMTP"
        IMAP = "imap", "IMAP"

    # Deduplication: the same channel (support address) never stores the same message twice.
    # `dedupe_key` is the normalised Message-ID, or "sha256:<hex>" of the raw bytes without one.
    channel = models.CharField(max_length=254, help_text="The support address it was sent to")
    dedupe_key = models.CharField(max_length=255)
    message_id = models.CharField(max_length=998, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    # Delivery facts.
    envelope_from = models.CharField(max_length=998, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    mailbox = models.CharField(max_length=200, blank=True, help_text="IMAP mailbox name")
    uid = models.PositiveBigIntegerField(null=True, blank=True, help_text="IMAP UID")
    peer = models.CharField(max_length=200, blank=True, help_text="The delivering client")
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(default=timezone.now)
    # Processing.
    state = models.CharField(max_length=12, choices=State.choices, default=State.RECEIVED)
    kind = models.CharField(
        max_length=20, blank=True, help_text="human, auto-reply, bounce, list, own (loop)…"
    )
    subject = models.CharField(max_length=998, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    threaded_by = models.CharField(
        max_length=30, blank=True, help_text="token, message-id, subject, returned-message-id"
    )
    outcome = models.CharField(
        max_length=500, blank=True, help_text="What processing did, in words (for the console)"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_mail",
    )
    ticket_message = models.ForeignKey(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_mail",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "dedupe_key"], name="inboundmessage_channel_dedupe_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["state", "received_at"], name="inboundmessage_state_idx"),
            models.Index(fields=["message_id"], name="inboundmessage_msgid_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.channel} {self.message_id or self.sha256[:12]}"


class OutboundMail(models.Model):
    """One e-mail we send. The row (with its Message-ID) is committed before sending, so a reply
    to it threads by In-Reply-To/References even if the worker dies right after the SMTP call."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed after retries"
        SUPPRESSED = "suppressed", "Not sent (address bounces or auto-reply limit)"

    message_id = models.CharField(max_length=255, unique=True, help_text="Ours, with <>")
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbound_mail",
    )
    ticket_message = models.ForeignKey(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbound_mail",
    )
    kind = models.CharField(max_length=40, help_text="e.g. reply, status, assigned, auto-reply")
    is_automatic = models.BooleanField(default=False, help_text="Sent with Auto-Submitted")
    # For automatic replies: the address answered (rate limiting per sender).
    auto_reply_to = models.CharField(max_length=254, blank=True)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=998)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outboundmail_state_idx"),
            models.Index(fields=["ticket", "created_at"], name="outboundmail_ticket_idx"),
            models.Index(fields=["auto_reply_to", "created_at"], name="outboundmail_autoreply_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id} → {', '.join(self.to)}"


class SuppressedAddress(models.Model):
    """An address that bounced permanently: it receives no more mail until an agent lifts it."""

    address = models.CharField(max_length=254, unique=True, help_text="Lower-cased")
    reason = models.TextField(help_text="The delivery status report's diagnostic")
    status_code = models.CharField(max_length=20, blank=True, help_text="e.g. 5.1.1")
    bounce = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.address
