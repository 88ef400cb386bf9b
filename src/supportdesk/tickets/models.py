"""Tickets, their conversation, attachments and immutable audit trail."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

SEVERITY_DEFINITIONS = {
    1: (
        "Any error reported where usage is severely impacted, and causes a high impact to the "
        "business, in a production environment."
    ),
    2: (
        "Any error reported that involves partial, non-critical loss of use, or any general usage "
        "questions, feature requests, and similar."
    ),
}


class Severity(models.IntegerChoices):
    SEV1 = 1, "Severity 1"
    SEV2 = 2, "Severity 2"


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    WAITING_ON_CUSTOMER = "waiting_on_customer", "Waiting on customer"
    WAITING_ON_US = "waiting_on_us", "Waiting on us / engineering"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.WAITING_ON_US)


class ResolutionKind(models.TextChoices):
    FIX = "fix", "Fix"
    WORKAROUND = "workaround", "Workaround"
    ANSWER = "answer", "Answer"
    PRODUCT_UPDATE = "product_update", "Product update"
    DUPLICATE = "duplicate", "Duplicate"
    NO_REPLY = "no_reply", "No reply from customer"


class Channel(models.TextChoices):
    PORTAL = "portal", "Portal"
    EMAIL = "email", "Email"
    API = "api", "API"
    CONSOLE = "console", "Console (logged by staff)"
    MONITORING = "monitoring", "Monitoring"


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    number = models.PositiveBigIntegerField(unique=True, editable=False)
    subject = models.CharField(max_length=250)
    organization = models.ForeignKey(
        "organizations.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_tickets"
    )
    ccs = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="cc_tickets")
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.SEV2)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.NEW)
    resolution_kind = models.CharField(max_length=20, choices=ResolutionKind.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.PORTAL)
    reported_at = models.DateTimeField(
        help_text="When we became aware of the issue; the SLA clocks start here"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change; optimistic concurrency for the API (ETag / If-Match).
    version = models.PositiveIntegerField(default=1)
    # The SLA summary (next SLA event, earliest due instant, badge state) is not kept here but in
    # `slas.TicketSlaSummary` (`ticket.sla_summary`): its indexed instants change with every
    # recompute, and an update of an indexed column here would touch all of this table's indexes.
    # Derived by the database from status, so queues can use one ordered index scan (an IN list of
    # open statuses cannot be read from an index in updated order).
    is_open = models.GeneratedField(
        expression=models.Case(
            models.When(status__in=[s.value for s in OPEN_STATUSES], then=models.Value(True)),
            default=models.Value(False),
        ),
        output_field=models.BooleanField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-updated_at"]
        # Queue reads are ordered index scans that stop at the page: (filter columns, sort).
        indexes = [
            models.Index(fields=["is_open", "-updated_at", "-id"], name="ticket_open_updated_idx"),
            models.Index(fields=["is_open", "created_at", "id"], name="ticket_open_created_idx"),
            models.Index(
                fields=["is_open", "severity", "-updated_at", "-id"], name="ticket_open_sev_idx"
            ),
            models.Index(
                fields=["assignee", "is_open", "-updated_at", "-id"], name="ticket_assignee_idx"
            ),
            models.Index(
                fields=["organization", "is_open", "-updated_at", "-id"], name="ticket_org_idx"
            ),
            models.Index(fields=["status", "-updated_at", "-id"], name="ticket_status_idx"),
            models.Index(fields=["requester", "-updated_at", "-id"], name="ticket_requester_idx"),
            models.Index(fields=["-updated_at", "-id"], name="ticket_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @cached_property
    def opening_message(self) -> Message | None:
        """The ticket's first message (its description): kept by `ticket_create`, else read."""
        return self.messages.order_by("created_at", "id").first()

    @property
    def severity_definition(self) -> str:
        return SEVERITY_DEFINITIONS[self.severity]


class Message(models.Model):
    class Kind(models.TextChoices):
        REPLY = "reply", "Public reply"
        NOTE = "note", "Internal note"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REPLY)
    is_automatic = models.BooleanField(
        default=False, help_text="Sent by the system (notifications, auto-replies), not a person"
    )
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.PORTAL)
    # The message as the reader sees it, in plain text and as sanitised HTML.
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    # An agent's reply in the handbook's three parts (empty for other messages).
    status_part = models.TextField("Status", blank=True)
    next_steps_part = models.TextField("Next steps", blank=True)
    expectations_part = models.TextField("Expectations", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_idx"),
            # Newest-first search on PostgreSQL: for a very common word the planner walks this
            # index and stops at the page instead of sorting every match.
            models.Index(fields=["-created_at", "-id"], name="message_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket.number} by {self.author}"

    @property
    def is_internal(self) -> bool:
        return self.kind == self.Kind.NOTE


def attachment_path(instance: Attachment, filename: str) -> str:
    # Stored under a random name: the original filename never touches the file system.
    return f"attachments/{instance.id.hex[:2]}/{instance.id.hex}"


class Attachment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, help_text="Sniffed from the content")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """One immutable line of a ticket's audit trail: who changed what, when, old → new."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        REPLIED = "replied", "Replied"
        NOTE_ADDED = "note_added", "Internal note added"
        STATUS = "status", "Status changed"
        SEVERITY = "severity", "Severity changed"
        ASSIGNEE = "assignee", "Assignee changed"
        REPORTED_AT = "reported_at", "Reported-at changed"
        CC_ADDED = "cc_added", "CC added"
        CC_REMOVED = "cc_removed", "CC removed"
        TAGS = "tags", "Tags changed"
        RESOLUTION = "resolution", "Resolution kind set"
        SUBJECT = "subject", "Subject changed"
        ATTACHMENT = "attachment", "Attachment added"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticketevent_ticket_idx")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.kind}: {self.old_value} → {self.new_value}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Ticket events are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Ticket events are immutable")
