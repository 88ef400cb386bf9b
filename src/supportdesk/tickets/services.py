"""Every change to a ticket goes through one of these functions: the console, the portal, the API,
the mail channel and background tasks all call them. Each validates, writes in one transaction,
records an immutable audit event per change, and schedules side effects after commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import filetype
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from supportdesk.accounts.models import Role, User, normalize_email
from supportdesk.core.models import Counter
from supportdesk.core.text import text_to_html
from supportdesk.organizations.models import Organization
from supportdesk.tickets.effects import TicketChange, ticket_changed
from supportdesk.tickets.models import (
    OPEN_STATUSES,
    Attachment,
    Channel,
    Message,
    ResolutionKind,
    Severity,
    Status,
    Tag,
    Ticket,
    TicketEvent,
)

TICKET_NUMBER_START: Final = 1000


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final[Any] = _Unset()


@dataclass(frozen=True)
class UploadedAttachment:
    """An attachment as received from any interface: a filename and its bytes. `attachment_id`
    fixes the stored attachment's id in advance (mail: inline images link to it first)."""

    filename: str
    content: bytes
    attachment_id: uuid.UUID | None = None


def _event(
    ticket: Ticket,
    actor: User | None,
    kind: str,
    old: object = "",
    new: object = "",
    at: dt.datetime | None = None,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=kind,
        old_value=_show(old),
        new_value=_show(new),
        created_at=at or timezone.now(),
    )


def _show(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, User):
        return value.email
    return str(value)


# ---------------------------------------------------------------------------------------------
# Attachments


_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def safe_filename(name: str) -> str:
    """The original name, reduced to something harmless to show and to offer as a download."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME.sub("_", name).strip(" .")
    if not name:
        name = "attachment"
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 140 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:150]
    return name


def sniff_content_type(content: bytes) -> str:
    """The type the bytes really are, never what the uploader claimed."""
    kind = filetype.guess(content[:8192])
    if kind is not None:
        return str(kind.mime)
    head = content[:8192]
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return "text/plain"
    return "application/octet-stream"


def validate_attachment(upload: UploadedAttachment) -> None:
    limit = settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES
    if len(upload.content) > limit:
        raise ValidationError(
            {
                "attachments": f"{safe_filename(upload.filename)} is "
                f"{len(upload.content):,} bytes; "
                f"the limit is {limit:,} bytes."
            }
        )


def attachment_store(
    *, ticket: Ticket, upload: UploadedAttachment, actor: User | None, message: Message | None
) -> Attachment:
    validate_attachment(upload)
    attachment = Attachment(
        id=upload.attachment_id or uuid.uuid4(),
        ticket=ticket,
        message=message,
        filename=safe_filename(upload.filename),
        content_type=sniff_content_type(upload.content),
        size=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        uploaded_by=actor,
    )
    attachment.file.save(attachment.filename, ContentFile(upload.content), save=False)
    attachment.save()
    return attachment


# ---------------------------------------------------------------------------------------------
# Tickets


def _validate_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        raise ValidationError({"subject": "A ticket needs a subject."})
    if len(subject) > 250:
        raise ValidationError({"subject": "Keep the subject under 250 characters."})
    return subject


def _validate_severity(severity: object) -> int:
    try:
        value = int(str(severity))
    except (TypeError, ValueError):
        value = 0
    if value not in Severity.values:
        raise ValidationError({"severity": "Severity is 1 or 2."})
    return value


def _validate_reported_at(reported_at: dt.datetime, *, created_at: dt.datetime) -> dt.datetime:
    if timezone.is_naive(reported_at):
        raise ValidationError({"reported_at": "Give the time with its time zone."})
    if reported_at > created_at:
        raise ValidationError(
            {
                "reported_at": "Reported-at is when we became aware of the issue: it cannot be "
                "later "
                "than the ticket's creation."
            }
        )
    if reported_at < created_at - dt.timedelta(days=365):
        raise ValidationError({"reported_at": "Reported-at cannot be more than a year earlier."})
    return reported_at


def cc_users_resolve(
    *, actor: User, organization: Organization | None, addresses: Iterable[str]
) -> list[User]:
    """Addresses → users who may be CC'd on a ticket of `organization`.

    Customers may CC colleagues of their own organization (an unknown address at one of its email
    domains becomes a contact). Staff may also CC staff. Nobody may CC another organization's
    people: a CC sees the ticket."""
    users: list[User] = []
    for raw in addresses:
        address = normalize_email(raw)
        if not address:
            continue
        if "@" not in address:
            raise ValidationError({"ccs": f"{raw!r} is not an email address."})
        user = User.objects.filter(email=address).first()
        if user is None:
            domain = address.rsplit("@", 1)[1]
            if (
                organization is not None
                and organization.email_domains.filter(domain=domain).exists()
            ):
                user = User.objects.create_user(
                    address, None, role=Role.CONTACT, organization=organization
                )
            else:
                raise ValidationError(
                    {
                        "ccs": f"{address} is not a member of "
                        f"{organization.name if organization else 'this ticket'}'s organization."
                    }
                )
        allowed = (user.is_staff and actor.is_staff) or (
            organization is not None and user.organization_id == organization.pk
        )
        if not allowed:
            raise ValidationError(
                {"ccs": f"{address} cannot be CC'd: they are not part of this organization."}
            )
        if user not in users:
            users.append(user)
    return users


def _compose_reply_text(body: str, status: str, next_steps: str, expectations: str) -> str:
    parts = [body.strip()] if body.strip() else []
    for label, text in (
        ("Status", status),
        ("Next steps", next_steps),
        ("What to expect", expectations),
    ):
        if text.strip():
            parts.append(f"{label}: {text.strip()}")
    return "\n\n".join(parts)


def _compose_reply_html(body: str, status: str, next_steps: str, expectations: str) -> str:
    """The same reply as HTML, each part under its own heading so the reader can scan it."""
    html = [text_to_html(body)] if body.strip() else []
    for label, text in (
        ("Status", status),
        ("Next steps", next_steps),
        ("What to expect", expectations),
    ):
        if text.strip():
            html.append(f"<h4>{label}</h4>{text_to_html(text)}")
    return "\n".join(html)


def reply_parts_missing(*, status: str, next_steps: str, expectations: str) -> list[str]:
    """The handbook's three parts a public agent reply should carry, by name, that are empty."""
    return [
        name
        for name, text in (
            ("Status", status),
            ("Next steps", next_steps),
            ("Expectations", expectations),
        )
        if not text.strip()
    ]


@transaction.atomic
def ticket_create(
    *,
    actor: User,
    subject: str,
    description: str,
    description_html: str = "",
    severity: int = Severity.SEV2,
    requester: User | None = None,
    ccs: Sequence[User] = (),
    attachments: Sequence[UploadedAttachment] = (),
    channel: str = Channel.PORTAL,
    reported_at: dt.datetime | None = None,
    tags: Iterable[str] = (),
    now: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket. Customers open their own; staff open tickets on behalf of a requester and may
    say the issue was reported earlier (a call, a chat): the SLA clocks then start then."""
    now = now or timezone.now()
    subject = _validate_subject(subject)
    severity = _validate_severity(severity)
    if not (description or "").strip():
        raise ValidationError({"description": "Describe the issue."})
    for upload in attachments:
        validate_attachment(upload)

    if actor.is_staff:
        if requester is None:
            raise ValidationError({"requester": "Say who the ticket is for."})
        if requester.is_staff and requester != actor:
            raise ValidationError({"requester": "The requester is a customer or community user."})
    else:
        if requester is not None and requester != actor:
            raise PermissionDenied("Customers open tickets for themselves.")
        requester = actor
        if reported_at is not None:
            raise PermissionDenied("Only staff set an earlier reported-at.")
    if not requester.is_active:
        raise ValidationError({"requester": "That user is deactivated."})
    organization = requester.organization
    reported_at = _validate_reported_at(reported_at or now, created_at=now)

    ticket = Ticket.objects.create(
        number=Counter.next_value("ticket", start=TICKET_NUMBER_START),
        subject=subject,
        organization=organization,
        requester=requester,
        severity=severity,
        status=Status.NEW,
        channel=channel,
        reported_at=reported_at,
        created_at=now,
        updated_at=now,
    )
    message = Message.objects.create(
        ticket=ticket,
        author=actor,
        kind=Message.Kind.REPLY,
        channel=channel,
        body_text=description.strip(),
        # Sanitised HTML from a richer channel (mail), or the text made into HTML.
        body_html=description_html or text_to_html(description),
        created_at=now,
    )
    ticket.opening_message = message
    for upload in attachments:
        attachment_store(ticket=ticket, upload=upload, actor=actor, message=message)
    if ccs:
        ticket.ccs.add(*[u for u in ccs if u != requester])
    tag_objects = _tags(tags)
    if tag_objects:
        ticket.tags.add(*tag_objects)
    _event(ticket, actor, TicketEvent.Kind.CREATED, new=f"Severity {severity}", at=now)
    if reported_at != now:
        _event(ticket, actor, TicketEvent.Kind.REPORTED_AT, old=now, new=reported_at, at=now)
    ticket_changed(ticket, TicketChange(actor=actor, at=now, created=True, message=message))
    return ticket


def _tags(names: Iterable[str]) -> list[Tag]:
    tags = []
    for raw in names:
        name = re.sub(r"[^a-z0-9_-]+", "-", raw.strip().lower()).strip("-")[:50]
        if name:
            tags.append(Tag.objects.get_or_create(name=name)[0])
    return tags


@transaction.atomic
def ticket_reply_add(
    *,
    actor: User,
    ticket: Ticket,
    body: str = "",
    body_html: str = "",
    status_part: str = "",
    next_steps_part: str = "",
    expectations_part: str = "",
    internal: bool = False,
    attachments: Sequence[UploadedAttachment] = (),
    new_status: str | None = None,
    resolution_kind: str | None = None,
    channel: str = Channel.PORTAL,
    is_automatic: bool = False,
    next_update_by: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Message:
    """Add a public reply or an internal note.

    An agent's public reply has the handbook's three parts (Status, Next steps, Expectations),
    rendered as one message, and may commit to the next update (`next_update_by`), which is then
    tracked like an SLA target. A customer's reply on a ticket that waits on them, or that is
    solved, reopens it."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    for upload in attachments:
        validate_attachment(upload)
    if internal and not actor.is_staff:
        raise PermissionDenied("Only staff add internal notes.")
    if not internal and actor.is_staff and not actor.is_agent:
        raise PermissionDenied("Internal teammates add internal notes; agents reply publicly.")
    if ticket.status == Status.CLOSED and not actor.is_staff:
        raise ValidationError(
            {
                "body": "This ticket is closed. Please open a new ticket and mention "
                f"#{ticket.number}."
            }
        )
    is_agent_reply = actor.is_agent and not internal
    if next_update_by is not None:
        if not is_agent_reply:
            raise ValidationError(
                {"next_update_by": "Only an agent's public reply commits to the next update."}
            )
        if timezone.is_naive(next_update_by):
            raise ValidationError({"next_update_by": "Give the time with its time zone."})
        if next_update_by <= now:
            raise ValidationError({"next_update_by": "The next update must be in the future."})
    if not is_agent_reply:
        status_part = next_steps_part = expectations_part = ""
    text = _compose_reply_text(body, status_part, next_steps_part, expectations_part)
    if not text:
        raise ValidationError({"body": "Write a message."})

    message = Message.objects.create(
        ticket=ticket,
        author=actor,
        kind=Message.Kind.NOTE if internal else Message.Kind.REPLY,
        is_automatic=is_automatic,
        channel=channel,
        body_text=text,
        body_html=body_html
        or _compose_reply_html(body, status_part, next_steps_part, expectations_part),
        status_part=status_part.strip(),
        next_steps_part=next_steps_part.strip(),
        expectations_part=expectations_part.strip(),
        created_at=now,
    )
    for upload in attachments:
        attachment_store(ticket=ticket, upload=upload, actor=actor, message=message)
    _event(
        ticket,
        actor,
        TicketEvent.Kind.NOTE_ADDED if internal else TicketEvent.Kind.REPLIED,
        new=f"message {message.pk}",
        at=now,
    )

    target_status = new_status
    if target_status is None and not internal:
        if actor.is_customer or actor.role == Role.COMMUNITY:
            if ticket.status in (Status.WAITING_ON_CUSTOMER, Status.SOLVED):
                target_status = Status.OPEN
        elif is_agent_reply and ticket.status == Status.NEW:
            target_status = Status.OPEN
    old_status = ticket.status
    changed: set[str] = set()
    if target_status is not None and target_status != ticket.status:
        _apply_status(ticket, actor, target_status, resolution_kind, now)
        changed.add("status")
    ticket.updated_at = now
    ticket.version += 1
    ticket.save()
    ticket_changed(
        ticket,
        TicketChange(
            actor=actor,
            at=now,
            message=message,
            changed=frozenset(changed),
            old_status=old_status,
            next_update_by=next_update_by,
        ),
    )
    return message


@transaction.atomic
def ticket_system_note_add(
    *,
    ticket: Ticket,
    body_text: str,
    body_html: str,
    author: User | None = None,
    attachments: Sequence[UploadedAttachment] = (),
    channel: str = Channel.EMAIL,
    now: dt.datetime | None = None,
) -> Message:
    """Attach something the system received to a ticket as an automatic internal note: an
    auto-reply, a bounce, list mail. It never changes the status or the SLA clocks (it is not a
    reply), and `author` (the sender, when known) needs no permission."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    message = Message.objects.create(
        ticket=ticket,
        author=author,
        kind=Message.Kind.NOTE,
        is_automatic=True,
        channel=channel,
        body_text=body_text.strip(),
        body_html=body_html,
        created_at=now,
    )
    for upload in attachments:
        attachment_store(ticket=ticket, upload=upload, actor=author, message=message)
    _event(ticket, author, TicketEvent.Kind.NOTE_ADDED, new=f"message {message.pk}", at=now)
    ticket.updated_at = now
    ticket.version += 1
    ticket.save()
    ticket_changed(ticket, TicketChange(actor=author, at=now, message=message))
    return message


def _apply_status(
    ticket: Ticket,
    actor: User | None,
    status: str,
    resolution_kind: str | None,
    now: dt.datetime,
) -> None:
    if status not in Status.values:
        raise ValidationError({"status": f"{status!r} is not a status."})
    if actor is not None and not actor.is_agent and actor.is_staff:
        raise PermissionDenied("Only agents change a ticket's status.")
    if status == Status.SOLVED:
        kind = resolution_kind or ticket.resolution_kind
        if kind not in ResolutionKind.values:
            raise ValidationError(
                {
                    "resolution_kind": "Say how it was resolved: fix, workaround, answer, product "
                    "update, duplicate or no reply."
                }
            )
        if kind != ticket.resolution_kind:
            _event(ticket, actor, TicketEvent.Kind.RESOLUTION, ticket.resolution_kind, kind, now)
            ticket.resolution_kind = kind
        ticket.solved_at = now
    elif status == Status.CLOSED:
        ticket.closed_at = now
    elif status in OPEN_STATUSES:
        ticket.solved_at = None
        ticket.closed_at = None
    _event(ticket, actor, TicketEvent.Kind.STATUS, ticket.status, status, now)
    ticket.status = status


@transaction.atomic
def ticket_update(
    *,
    actor: User,
    ticket: Ticket,
    status: str = UNSET,
    resolution_kind: str = UNSET,
    severity: int = UNSET,
    assignee: User | None = UNSET,
    reported_at: dt.datetime = UNSET,
    tags: Iterable[str] = UNSET,
    subject: str = UNSET,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Change a ticket's fields. Only the fields given change; each change is one audit event.

    With `expected_version`, a concurrent change made since the caller read the ticket makes this
    fail with `StaleTicket` and change nothing (the API's If-Match)."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if expected_version is not None and expected_version != ticket.version:
        raise StaleTicket(ticket)
    if not actor.is_agent:
        raise PermissionDenied("Only agents and leads change tickets.")
    old_status = ticket.status
    changed: set[str] = set()

    if subject is not UNSET:
        subject = _validate_subject(subject)
        if subject != ticket.subject:
            _event(ticket, actor, TicketEvent.Kind.SUBJECT, ticket.subject, subject, now)
            ticket.subject = subject
            changed.add("subject")
    if severity is not UNSET:
        severity = _validate_severity(severity)
        if severity != ticket.severity:
            _event(ticket, actor, TicketEvent.Kind.SEVERITY, ticket.severity, severity, now)
            ticket.severity = severity
            changed.add("severity")
    if assignee is not UNSET and assignee != ticket.assignee:
        if assignee is not None and not (assignee.is_agent and assignee.is_active):
            raise ValidationError({"assignee": "Tickets are assigned to active agents or leads."})
        _event(ticket, actor, TicketEvent.Kind.ASSIGNEE, ticket.assignee, assignee, now)
        ticket.assignee = assignee
        changed.add("assignee")
    if reported_at is not UNSET:
        if reported_at is None:
            raise ValidationError({"reported_at": "Reported-at cannot be empty."})
        reported_at = _validate_reported_at(reported_at, created_at=ticket.created_at)
        if reported_at != ticket.reported_at:
            _event(
                ticket, actor, TicketEvent.Kind.REPORTED_AT, ticket.reported_at, reported_at, now
            )
            ticket.reported_at = reported_at
            changed.add("reported_at")
    if resolution_kind is not UNSET and status is UNSET:
        if resolution_kind and resolution_kind not in ResolutionKind.values:
            raise ValidationError({"resolution_kind": f"{resolution_kind!r} is not a resolution."})
        if resolution_kind != ticket.resolution_kind:
            _event(
                ticket,
                actor,
                TicketEvent.Kind.RESOLUTION,
                ticket.resolution_kind,
                resolution_kind,
                now,
            )
            ticket.resolution_kind = resolution_kind or ""
            changed.add("resolution_kind")
    if status is not UNSET and status != ticket.status:
        _apply_status(
            ticket, actor, status, None if resolution_kind is UNSET else resolution_kind, now
        )
        changed.add("status")
    if tags is not UNSET:
        new_tags = _tags(tags)
        old_names = sorted(t.name for t in ticket.tags.all())
        new_names = sorted({t.name for t in new_tags})
        if old_names != new_names:
            ticket.tags.set(new_tags)
            _event(
                ticket,
                actor,
                TicketEvent.Kind.TAGS,
                ", ".join(old_names),
                ", ".join(new_names),
                now,
            )
            changed.add("tags")

    if changed:
        ticket.updated_at = now
        ticket.version += 1
        ticket.save()
        ticket_changed(
            ticket,
            TicketChange(actor=actor, at=now, changed=frozenset(changed), old_status=old_status),
        )
    return ticket


class StaleTicket(Exception):
    def __init__(self, ticket: Ticket) -> None:
        super().__init__(
            f"Ticket #{ticket.number} was changed by someone else (now version {ticket.version}); "
            "reload it and apply your change again."
        )
        self.ticket = ticket


@transaction.atomic
def ticket_ccs_add(
    *, actor: User, ticket: Ticket, addresses: Iterable[str], now: dt.datetime | None = None
) -> list[User]:
    now = now or timezone.now()
    if not (
        actor.is_staff
        or actor == ticket.requester
        or (actor.is_org_admin and actor.organization_id == ticket.organization_id)
    ):
        raise PermissionDenied("Only the requester, their org admin or staff add CCs.")
    users = cc_users_resolve(actor=actor, organization=ticket.organization, addresses=addresses)
    existing = set(ticket.ccs.values_list("pk", flat=True))
    added = [u for u in users if u.pk not in existing and u != ticket.requester]
    for user in added:
        ticket.ccs.add(user)
        _event(ticket, actor, TicketEvent.Kind.CC_ADDED, "", user, now)
    if added:
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
        ticket.refresh_from_db()
        ticket_changed(ticket, TicketChange(actor=actor, at=now, changed=frozenset({"ccs"})))
    return added


@transaction.atomic
def ticket_cc_remove(
    *, actor: User, ticket: Ticket, user: User, now: dt.datetime | None = None
) -> None:
    now = now or timezone.now()
    if not (actor.is_staff or actor == ticket.requester or actor == user):
        raise PermissionDenied("Only staff, the requester or the CC themselves remove a CC.")
    if ticket.ccs.filter(pk=user.pk).exists():
        ticket.ccs.remove(user)
        _event(ticket, actor, TicketEvent.Kind.CC_REMOVED, user, "", now)
        ticket_changed(ticket, TicketChange(actor=actor, at=now, changed=frozenset({"ccs"})))


def tickets_autoclose(*, now: dt.datetime | None = None) -> int:
    """Close tickets that have stayed solved for SUPPORTDESK_AUTOCLOSE_DAYS. A customer reply to a
    solved ticket reopens it before then; after, they open a new ticket. Safe to run twice."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.SUPPORTDESK_AUTOCLOSE_DAYS)
    closed = 0
    for pk in Ticket.objects.filter(status=Status.SOLVED, solved_at__lte=cutoff).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if (
                ticket.status != Status.SOLVED
                or ticket.solved_at is None
                or ticket.solved_at > cutoff
            ):
                continue  # changed since we looked
            _apply_status(ticket, None, Status.CLOSED, None, now)
            ticket.updated_at = now
            ticket.version += 1
            ticket.save()
            ticket_changed(
                ticket,
                TicketChange(
                    actor=None, at=now, changed=frozenset({"status"}), old_status=Status.SOLVED
                ),
            )
            closed += 1
    return closed
