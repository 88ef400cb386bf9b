"""Turning a stored inbound message into ticket activity: parse, classify, thread, attach.

`process_inbound(inbound_id)` is what the processing task runs after the transport committed the
raw bytes. It locks the row, re-checks its state and does everything in one transaction, so it is
safe to run twice or concurrently: the second run finds the message processed and does nothing. A
message that cannot be processed is put in quarantine with the error (never dropped); a database
that is unavailable (OperationalError) leaves it RECEIVED for the repair sweep to re-drive.

Threading, strongest first (docs/email.md):
1. a signed reply token in a plus-address among the recipients (`support+TOKEN@…`);
2. one of our Message-IDs (mail we sent, or mail already on a ticket) in In-Reply-To/References;
3. a ticket reference in the subject (`[#1042]`), accepted only from the ticket's requester or
   one of its CCs;
4. otherwise a new ticket (channel email).
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import uuid
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from supportdesk.accounts.models import Role, User, normalize_email
from supportdesk.core.text import text_to_html
from supportdesk.mail import conf
from supportdesk.mail.models import InboundMessage, OutboundMail
from supportdesk.mail.parsing import (
    Automatic,
    AutomaticReason,
    BounceReport,
    ParsedMail,
    automatic_reason,
    detect_bounce,
    normalise_message_id,
    parse_message,
    should_auto_reply,
    strip_reply_prefixes,
    ticket_id_from_addresses,
    ticket_references,
)
from supportdesk.organizations.models import EmailDomain
from supportdesk.tickets import services as ticket_services
from supportdesk.tickets.models import Channel, Message, Status, Ticket
from supportdesk.tickets.services import UploadedAttachment

log = logging.getLogger(__name__)

# InboundMessage.kind values.
HUMAN = "human"
AUTO_REPLY = "auto-reply"
BOUNCE = "bounce"
LIST = "list"
OWN = "own"
REPORT = "report"

_KIND_BY_REASON = {
    AutomaticReason.LOOP_HEADER: OWN,
    AutomaticReason.OWN_ADDRESS: OWN,
    AutomaticReason.LIST: LIST,
    AutomaticReason.REPORT: REPORT,
    AutomaticReason.BOUNCE: BOUNCE,
}

NO_TEXT = "(This message has no text.)"


class Unprocessable(Exception):
    """A message that cannot become ticket activity, with the reason shown in quarantine."""


def process_inbound(inbound_id: int) -> InboundMessage:
    """Process one stored message (see the module docstring). Returns the message in its new
    state. Never raises for a bad message; database outages propagate (the message stays
    RECEIVED and is re-driven)."""
    try:
        # Parsing and classifying need no lock. On SQLite the transaction holds the database's
        # one write lock from its start: they are done before it. (On PostgreSQL the row lock is
        # all the transaction holds, and reading inside saves a query.)
        reading = None
        if connection.vendor == "sqlite":
            stored = (
                InboundMessage.objects.filter(pk=inbound_id, state=InboundMessage.State.RECEIVED)
                .values_list("raw", "envelope_from", "channel")
                .first()
            )
            reading = _read(*stored) if stored is not None else None
        with transaction.atomic():
            rows = InboundMessage.objects.select_for_update()
            inbound = (rows.defer("raw") if reading is not None else rows).get(pk=inbound_id)
            if inbound.state != InboundMessage.State.RECEIVED:
                return inbound
            if reading is None:  # PostgreSQL; or not RECEIVED at the read above (retried since)
                reading = _read(inbound.raw, inbound.envelope_from, inbound.channel)
            _process(inbound, reading)
            return inbound
    except (OperationalError, InterfaceError, InboundMessage.DoesNotExist):
        raise
    except Exception as exc:
        if not isinstance(exc, Unprocessable | ValidationError):
            log.exception("Inbound message %s could not be processed", inbound_id)
        return _quarantine(inbound_id, exc)


def _describe(exc: Exception) -> str:
    if isinstance(exc, Unprocessable):
        return str(exc)
    if isinstance(exc, ValidationError):
        return "Refused: " + "; ".join(exc.messages)
    return f"{type(exc).__name__}: {exc}"


def _quarantine(inbound_id: int, exc: Exception) -> InboundMessage:
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().get(pk=inbound_id)
        if inbound.state != InboundMessage.State.RECEIVED:
            return inbound
        inbound.state = InboundMessage.State.QUARANTINED
        inbound.attempts += 1
        inbound.error = _describe(exc)[:5000]
        inbound.processed_at = timezone.now()
        try:  # what the quarantine list shows; the parser never raises, but stay safe here
            parsed = parse_message(bytes(inbound.raw))
            inbound.subject = parsed.subject[:998]
            inbound.from_address = _sender_address(inbound.envelope_from, parsed)[:254]
        except Exception:
            log.exception("Inbound message %s: headers unreadable", inbound_id)
        inbound.save(
            update_fields=["state", "attempts", "error", "processed_at", "subject", "from_address"]
        )
        return inbound


# ---------------------------------------------------------------------------------------------
# The work


@dataclasses.dataclass
class _Content:
    text: str
    html: str
    attachments: list[UploadedAttachment]
    notes: list[str]


# What processing sets: saved without rewriting the rest of the row (the raw bytes above all).
_PROCESSED_FIELDS = [
    "kind",
    "subject",
    "from_address",
    "message_id",
    "attempts",
    "error",
    "state",
    "processed_at",
    "threaded_by",
    "outcome",
    "ticket",
    "ticket_message",
]


@dataclasses.dataclass
class _Reading:
    """What a stored message says, worked out from its bytes alone (no database)."""

    parsed: ParsedMail
    sender: str
    own: list[str]
    bounce: BounceReport | None
    automatic: Automatic | None
    kind: str
    content: _Content


def _read(raw: bytes | memoryview, envelope_from: str, channel: str) -> _Reading:
    cid_ids: dict[str, uuid.UUID] = {}
    parsed = parse_message(bytes(raw), cid_url=_cid_url(cid_ids))
    sender = _sender_address(envelope_from, parsed)
    own = conf.own_addresses(channel)
    bounce = detect_bounce(parsed)
    automatic = automatic_reason(parsed, own_addresses=own, loop_header=conf.loop_header())
    if bounce is not None:
        kind = BOUNCE
    elif automatic is not None:
        kind = _KIND_BY_REASON.get(automatic.reason, AUTO_REPLY)
    else:
        kind = HUMAN
    return _Reading(
        parsed=parsed,
        sender=sender,
        own=own,
        bounce=bounce,
        automatic=automatic,
        kind=kind,
        content=_content(parsed, cid_ids),
    )


def _process(inbound: InboundMessage, reading: _Reading) -> None:
    now = timezone.now()
    parsed, sender, own, kind = reading.parsed, reading.sender, reading.own, reading.kind
    bounce, automatic, content = reading.bounce, reading.automatic, reading.content
    inbound.kind = kind
    inbound.subject = parsed.subject[:998]
    inbound.from_address = sender[:254]
    if not inbound.message_id and parsed.message_id:
        inbound.message_id = parsed.message_id[:998]
    inbound.attempts += 1
    inbound.error = ""

    if bounce is not None:
        _process_bounce(inbound, parsed, bounce, content)
    else:
        ticket, threaded_by = _thread(inbound, parsed, sender)
        if kind == HUMAN:
            _process_human(inbound, parsed, sender, ticket, threaded_by, content, own)
        else:
            _process_automatic(inbound, parsed, sender, ticket, threaded_by, content, automatic)

    inbound.state = InboundMessage.State.PROCESSED
    inbound.processed_at = now
    inbound.save(update_fields=_PROCESSED_FIELDS)


def _cid_url(cid_ids: dict[str, uuid.UUID]) -> Callable[[str], str]:
    """Inline images (`cid:`) link to the attachment they will be stored as: its id is fixed now."""

    def url(cid: str) -> str:
        attachment_id = cid_ids.setdefault(cid, uuid.uuid4())
        return reverse("attachment_download", args=[attachment_id])

    return url


def _sender_address(envelope_from: str, parsed: ParsedMail) -> str:
    if parsed.from_address is not None and "@" in parsed.from_address.address:
        return normalize_email(parsed.from_address.address)
    return normalize_email(envelope_from or "")


def _content(parsed: ParsedMail, cid_ids: dict[str, uuid.UUID]) -> _Content:
    """What goes on the ticket: the new text (quoted history and signature stripped), HTML when
    nothing was stripped from it, and the attachments within the limits."""
    text = parsed.new_text.strip() or parsed.text.strip()
    limit = min(
        settings.SUPPORTDESK_MAIL_ATTACHMENT_MAX_BYTES, settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES
    )
    attachments: list[UploadedAttachment] = []
    notes: list[str] = []
    stored_cids: set[str] = set()
    for attachment in parsed.attachments:
        if attachment.size == 0:
            continue
        if attachment.size > limit:
            notes.append(
                f"Attachment {attachment.filename} ({attachment.size:,} bytes) is over the "
                f"{limit:,}-byte limit: it was not stored on the ticket (the original message "
                "keeps it)."
            )
            continue
        if len(attachments) >= settings.SUPPORTDESK_MAIL_MAX_ATTACHMENTS:
            notes.append(
                f"Attachment {attachment.filename} was not stored: at most "
                f"{settings.SUPPORTDESK_MAIL_MAX_ATTACHMENTS} attachments per message."
            )
            continue
        attachment_id = None
        if attachment.content_id and attachment.content_id in cid_ids:
            if attachment.content_id in stored_cids:
                attachment_id = None  # a second part with the same Content-ID
            else:
                attachment_id = cid_ids[attachment.content_id]
                stored_cids.add(attachment.content_id)
        attachments.append(
            UploadedAttachment(
                filename=attachment.filename,
                content=attachment.content,
                attachment_id=attachment_id,
            )
        )
    html = ""
    if parsed.html and " ".join(parsed.reply_text.split()) == " ".join(parsed.text.split()):
        html = parsed.html
        for cid, attachment_uuid in cid_ids.items():
            if cid not in stored_cids:  # not stored (too large): no dead link
                html = html.replace(reverse("attachment_download", args=[attachment_uuid]), "")
    if notes:
        text = (text + "\n\n" if text else "") + "\n".join(f"[{note}]" for note in notes)
        html = ""
    if not html:
        html = text_to_html(text or NO_TEXT)
    return _Content(text=text, html=html, attachments=attachments, notes=notes)


# ---------------------------------------------------------------------------------------------
# Threading


def _thread(inbound: InboundMessage, parsed: ParsedMail, sender: str) -> tuple[Ticket | None, str]:
    """The ticket this message belongs to and how it was found ("" for none)."""
    recipients = [
        *[str(a) for a in (inbound.envelope_to or [])],
        *[a.address for a in (*parsed.to, *parsed.cc)],
    ]
    ticket_id = ticket_id_from_addresses(recipients, conf.reply_token_keys())
    if ticket_id is not None:
        ticket = Ticket.objects.filter(pk=ticket_id).first()
        if ticket is not None:
            return ticket, "token"
    ticket = ticket_for_message_ids(
        [parsed.in_reply_to, *reversed(parsed.references)], inbound, process_earlier=True
    )
    if ticket is not None:
        return ticket, "message-id"
    for number in ticket_references(parsed.subject):
        ticket = Ticket.objects.filter(number=number).select_related("requester").first()
        if ticket is not None and sender and _is_participant(ticket, sender):
            return ticket, "subject"
    return None, ""


def ticket_for_message_ids(
    ids: list[str | None], inbound: InboundMessage | None = None, *, process_earlier: bool = False
) -> Ticket | None:
    """The ticket of the first of `ids` that is ours: a mail we sent, or a mail on a ticket.

    With `process_earlier`, a message that `inbound` refers to and that was stored before it but
    is not processed yet (a customer's quick follow-up to their own mail, taken by another worker
    at the same moment) is processed first, here, so the reply joins its ticket instead of opening
    one of its own. See `_process_earlier` for why this cannot deadlock."""
    wanted = [i for i in dict.fromkeys(normalise_message_id(i) for i in ids if i) if i]
    if not wanted:
        return None
    outbound = dict(
        OutboundMail.objects.filter(message_id__in=wanted, ticket__isnull=False).values_list(
            "message_id", "ticket_id"
        )
    )
    inbound_rows = InboundMessage.objects.filter(message_id__in=wanted)
    if inbound is not None:
        inbound_rows = inbound_rows.exclude(pk=inbound.pk)
    inbound_ids: dict[str, int] = {}
    unprocessed: dict[str, int] = {}
    for message_id, on_ticket, state, pk in inbound_rows.values_list(
        "message_id", "ticket_id", "state", "pk"
    ):
        if on_ticket is not None:
            inbound_ids.setdefault(message_id, on_ticket)
        elif state == InboundMessage.State.RECEIVED and inbound is not None and pk < inbound.pk:
            unprocessed.setdefault(message_id, pk)
    for message_id in wanted:
        ticket_id = outbound.get(message_id) or inbound_ids.get(message_id)
        if ticket_id is not None:
            return Ticket.objects.get(pk=ticket_id)
    earlier = next((unprocessed[i] for i in wanted if i in unprocessed), None)
    if process_earlier and earlier is not None and _process_earlier(earlier):
        return ticket_for_message_ids(ids, inbound)
    return None


# How many earlier messages deep a reply's processing goes (a chain of unprocessed replies).
_EARLIER_DEPTH = contextvars.ContextVar("supportdesk_mail_earlier_depth", default=0)
_EARLIER_MAX_DEPTH = 3


def _process_earlier(inbound_id: int) -> bool:
    """Process the earlier message `inbound_id` inside the current message's transaction.

    No deadlock: this runs while threading, before the current message has written anything, so
    a worker waits here holding only inbound rows' locks, each newer than the one it waits for
    (only a message stored earlier is processed, and only one per message). Locks taken in
    descending order of age cannot form a cycle; and the lookup after it processes nothing more.
    On SQLite the transaction holds the one write lock, so nothing else is processing."""
    depth = _EARLIER_DEPTH.get()
    if depth >= _EARLIER_MAX_DEPTH:
        return False
    token = _EARLIER_DEPTH.set(depth + 1)
    try:
        process_inbound(inbound_id)
    finally:
        _EARLIER_DEPTH.reset(token)
    return True


def _is_participant(ticket: Ticket, address: str) -> bool:
    return ticket.requester.email == address or ticket.ccs.filter(email=address).exists()


# ---------------------------------------------------------------------------------------------
# Kinds of mail


def sender_user(address: str, name: str = "") -> User:
    """The user behind a sender address; an unknown one is created: a contact of the
    organization whose email domain matches, else a community user."""
    address = normalize_email(address)
    if not address or "@" not in address:
        raise Unprocessable("The message has no usable sender address (From or envelope sender).")
    user = User.objects.filter(email=address).first()
    if user is not None:
        return user
    domain = address.rpartition("@")[2]
    email_domain = EmailDomain.objects.filter(domain=domain).select_related("organization").first()
    organization = email_domain.organization if email_domain else None
    try:
        with transaction.atomic():
            return User.objects.create_user(
                address,
                None,
                role=Role.CONTACT if organization else Role.COMMUNITY,
                organization=organization,
                name=" ".join(name.split())[:200],
            )
    except IntegrityError:  # created concurrently by another message from the same sender
        return User.objects.get(email=address)
    except ValidationError as exc:
        # The same race, seen earlier: the uniqueness check ran after the other worker's commit.
        concurrent = User.objects.filter(email=address).first()
        if concurrent is not None:
            return concurrent
        raise Unprocessable(
            f"The sender address {address!r} is not usable: {exc.messages}"
        ) from exc


def _process_human(
    inbound: InboundMessage,
    parsed: ParsedMail,
    sender: str,
    ticket: Ticket | None,
    threaded_by: str,
    content: _Content,
    own: list[str],
) -> None:
    from supportdesk.mail import outbound

    user = sender_user(sender, parsed.from_address.name if parsed.from_address else "")
    if ticket is not None and ticket.status == Status.CLOSED and not user.is_staff:
        # A closed ticket takes no more replies: the mail opens a follow-up ticket.
        content.text = f"(Follow-up to closed ticket #{ticket.number})\n\n{content.text}"
        content.html = text_to_html(content.text)
        ticket, threaded_by = None, ""
    if ticket is not None:
        message = ticket_services.ticket_reply_add(
            actor=user,
            ticket=ticket,
            body=content.text or NO_TEXT,
            body_html=content.html,
            internal=user.is_staff and not user.is_agent,
            attachments=content.attachments,
            channel=Channel.EMAIL,
        )
        inbound.ticket, inbound.ticket_message = ticket, message
        inbound.threaded_by = threaded_by
        inbound.outcome = f"Reply on #{ticket.number} (threaded by {threaded_by})"
        return
    ticket, inbound.ticket_message = _new_ticket(
        user, parsed, content, ccs=_colleague_ccs(user, parsed, own)
    )
    inbound.ticket = ticket
    inbound.outcome = f"New ticket #{ticket.number}"
    allowed, why = should_auto_reply(parsed, own_addresses=own, loop_header=conf.loop_header())
    if not settings.SUPPORTDESK_MAIL_ACKNOWLEDGE:
        return
    if not allowed:
        inbound.outcome += f"; no acknowledgement: {why}"
        return
    ack = outbound.acknowledgement_queue(ticket=ticket, to=user.email, inbound=inbound)
    if ack.state == OutboundMail.State.SUPPRESSED:
        inbound.outcome += f"; no acknowledgement: {ack.last_error}"


def _colleague_ccs(user: User, parsed: ParsedMail, own: list[str]) -> list[User]:
    """The sender's colleagues the mail was also addressed to (To/Cc): they become CCs of the new
    ticket. Only people of the sender's own organization (an unknown address at one of its
    email domains joins it); anyone else on the mail is not given access to the ticket."""
    organization = user.organization
    if organization is None or not user.is_customer:
        return []
    domains = set(organization.email_domains.values_list("domain", flat=True))
    ours = set(own)
    colleagues: list[User] = []
    for address in dict.fromkeys(normalize_email(a.address) for a in (*parsed.to, *parsed.cc)):
        local, _, domain = address.rpartition("@")
        if not local or address == user.email:
            continue
        if f"{local.partition('+')[0]}@{domain}" in ours:
            continue  # a support address, plus-addressed or not
        colleague = User.objects.filter(email=address).first()
        if colleague is None and domain in domains:
            colleague = sender_user(address)
        if (
            colleague is not None
            and colleague.organization_id == organization.pk
            and colleague.is_active
            and colleague not in colleagues
        ):
            colleagues.append(colleague)
    return colleagues[:20]


def _process_automatic(
    inbound: InboundMessage,
    parsed: ParsedMail,
    sender: str,
    ticket: Ticket | None,
    threaded_by: str,
    content: _Content,
    automatic: Automatic | None,
) -> None:
    """Auto-replies, list mail, reports, our own mail: never answered; attached to their ticket
    as an automatic internal note (no status change, no SLA effect). Unthreaded auto-replies and
    list mail open a ticket (someone may need to read it); unthreaded mail from ourselves does
    not (that is how loops start) and is kept as processed without a ticket."""
    reason = automatic.reason.value if automatic else ""
    detail = automatic.detail if automatic else ""
    label = f"Automatic message ({reason}: {detail})"
    if ticket is not None:
        author = User.objects.filter(email=sender).first() if sender else None
        message = ticket_services.ticket_system_note_add(
            ticket=ticket,
            author=author,
            body_text=f"{label}\n\n{content.text or NO_TEXT}",
            body_html=f"<p><em>{_escape(label)}</em></p>{content.html}",
            attachments=content.attachments,
        )
        inbound.ticket, inbound.ticket_message = ticket, message
        inbound.threaded_by = threaded_by
        inbound.outcome = f"Attached to #{ticket.number} as automatic (threaded by {threaded_by})"
        return
    if inbound.kind in (OWN, REPORT):
        inbound.outcome = f"{label}; not threaded to a ticket, so no ticket was opened"
        return
    user = sender_user(sender, parsed.from_address.name if parsed.from_address else "")
    ticket, first = _new_ticket(user, parsed, content)
    if first is not None:
        first.is_automatic = True
        first.save(update_fields=["is_automatic"])
    inbound.ticket, inbound.ticket_message = ticket, first
    inbound.outcome = f"New ticket #{ticket.number} from automatic mail ({reason}); no reply sent"


def _new_ticket(
    user: User, parsed: ParsedMail, content: _Content, *, ccs: Sequence[User] = ()
) -> tuple[Ticket, Message | None]:
    """A new e-mail ticket from `user` with the mail's subject and content; and its first
    message."""
    subject = strip_reply_prefixes(parsed.subject).strip() or "(no subject)"
    ticket = ticket_services.ticket_create(
        actor=user,
        requester=user,
        subject=" ".join(subject.split())[:250],
        description=content.text or NO_TEXT,
        description_html=content.html,
        attachments=content.attachments,
        channel=Channel.EMAIL,
        ccs=ccs,
    )
    return ticket, ticket.opening_message


def _process_bounce(
    inbound: InboundMessage, parsed: ParsedMail, bounce: BounceReport, content: _Content
) -> None:
    """A delivery failure of mail we sent: find the ticket of the returned message, attach the
    report there, and stop mailing addresses that failed permanently."""
    from supportdesk.mail import suppression

    ticket = None
    threaded_by = ""
    if bounce.original_message_id:
        ticket = ticket_for_message_ids([bounce.original_message_id], inbound)
        threaded_by = "returned-message-id"
    if ticket is None:
        ticket, threaded_by = _thread(inbound, parsed, "")
    suppressed: list[str] = []
    if not bounce.delayed_only:
        for recipient in bounce.recipients:
            if recipient.hard and recipient.address:
                # The status code is kept (and shown) on its own.
                reason = recipient.diagnostic or recipient.action
                suppression.address_suppress(
                    address=recipient.address,
                    reason=reason[:2000] or "permanent delivery failure",
                    status_code=recipient.status or "",
                    bounce=inbound,
                )
                suppressed.append(recipient.address.casefold())
    lines = ["Delivery delayed (still being retried)" if bounce.delayed_only else "Delivery failed"]
    for recipient in bounce.recipients:
        line = f"- {recipient.address or '(unknown address)'}: {recipient.action}"
        if recipient.status:
            line += f" {recipient.status}"
        if recipient.diagnostic:
            line += f" — {recipient.diagnostic[:300]}"
        if recipient.address and recipient.address.casefold() in suppressed:
            line += " (no more mail is sent to this address until an agent lifts the block)"
        lines.append(line)
    summary = "\n".join(lines)
    outcome = "Bounce"
    if suppressed:
        outcome += f"; suppressed {', '.join(suppressed)}"
    if ticket is not None:
        message = ticket_services.ticket_system_note_add(
            ticket=ticket,
            body_text=summary,
            body_html=text_to_html(summary),
            attachments=content.attachments,
        )
        inbound.ticket, inbound.ticket_message = ticket, message
        inbound.threaded_by = threaded_by
        outcome += f"; attached to #{ticket.number}"
    else:
        outcome += "; the returned message is not one of ours on a ticket"
    inbound.outcome = outcome


def _escape(text: str) -> str:
    from django.utils.html import escape

    return str(escape(text))
