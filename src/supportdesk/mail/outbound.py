"""Mail we send about tickets: to requesters and CCs (replies, status changes, the
acknowledgement of a new ticket opened by mail), threaded so that their answers come back to the
same ticket.

Every mail is an `OutboundMail` row with our own Message-ID, committed before anything is sent;
a task sends it after commit (claiming the row, so two workers never send it twice) and retries
with backoff. Agents are told through `supportdesk.notifications.services.notify` (console inbox
plus one e-mail, quiet hours respected): that one mailer serves staff, this one customers, so no
agent gets the same news twice.

Every mail carries: Message-ID (ours, stored first), In-Reply-To/References chaining the
ticket's thread, Reply-To `support+TOKEN@domain` (the signed token threads the answer), our reply
separator at the top, the ticket reference in the subject, our loop header, and
`Auto-Submitted: auto-generated` when it is automatic (acknowledgements, status notices)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from supportdesk.accounts.models import User, normalize_email
from supportdesk.core.tasks import enqueue_unless_queued, enqueue_with_transaction
from supportdesk.mail import conf
from supportdesk.mail.models import InboundMessage, OutboundMail
from supportdesk.mail.parsing import (
    REPLY_SEPARATOR,
    format_ticket_reference,
    make_message_id,
    normalise_message_id,
    reply_address,
    sign_reply_token,
    strip_reply_prefixes,
)
from supportdesk.mail.suppression import BOUNCE_REASON_PREFIX, suppressed_addresses
from supportdesk.notifications.services import CLAIM_SECONDS, EMAIL_RETRY_DELAYS
from supportdesk.tickets.models import Message, Status, Ticket

log = logging.getLogger(__name__)

MAX_REFERENCES = 20

# OutboundMail.kind values.
REPLY = "reply"
STATUS = "status"
ACKNOWLEDGEMENT = "auto-reply"


# ---------------------------------------------------------------------------------------------
# Threading headers


def reply_to_address(ticket: Ticket) -> str:
    """`support+TOKEN@domain`: an answer to this address threads into `ticket` by its token."""
    token = sign_reply_token(ticket.pk, conf.reply_token_keys()[0])
    return reply_address(conf.support_address(), token)


def thread_message_ids(ticket: Ticket) -> list[str]:
    """Message-IDs of the ticket's mail (received and sent), oldest first."""
    rows: list[tuple[dt.datetime, str]] = []
    for received_at, message_id in InboundMessage.objects.filter(ticket=ticket).values_list(
        "received_at", "message_id"
    ):
        normalised = normalise_message_id(message_id)
        if normalised:
            rows.append((received_at, normalised))
    rows.extend(
        OutboundMail.objects.filter(ticket=ticket)
        .exclude(state=OutboundMail.State.SUPPRESSED)
        .values_list("created_at", "message_id")
    )
    rows.sort(key=lambda row: row[0])
    return list(dict.fromkeys(message_id for _, message_id in rows))


def ticket_subject(ticket: Ticket, *, reply: bool = True) -> str:
    subject = f"{format_ticket_reference(ticket.number)} {strip_reply_prefixes(ticket.subject)}"
    return f"Re: {subject}" if reply else subject


# ---------------------------------------------------------------------------------------------
# Queueing


def _recipients(ticket: Ticket, *, exclude: User | None) -> list[str]:
    """The customer side of a ticket: requester and CCs who can receive mail (staff read the
    console; integration accounts receive nothing)."""
    people = [ticket.requester, *ticket.ccs.all()]
    addresses: list[str] = []
    for person in people:
        if person.is_staff or not person.is_active or not person.email:
            continue
        if exclude is not None and person.pk == exclude.pk:
            continue
        if person.email_disabled_reason and not person.email_disabled_reason.startswith(
            BOUNCE_REASON_PREFIX
        ):
            continue  # e.g. an API integration account; bounced addresses stay, shown suppressed
        if person.email not in addresses:
            addresses.append(person.email)
    return addresses


def mail_queue(
    *,
    ticket: Ticket,
    kind: str,
    to: list[str],
    template: str,
    context: dict[str, object],
    is_automatic: bool,
    ticket_message: Message | None = None,
    auto_reply_to: str = "",
    suppress_reason: str = "",
    thread: list[str] | None = None,
    send_here: bool = False,
    now: dt.datetime | None = None,
) -> OutboundMail:
    """Store one mail (Message-ID and threading headers fixed now) and send it after commit.
    With `suppress_reason` the row is stored as suppressed and never sent (visible on the
    ticket). `thread`: the ticket's Message-IDs when the caller knows them (else looked up).

    The mail is sent by `outbound_send_task`, or with `send_here` (a caller that is itself a
    task) by this process right after the commit, without a second task: the row is stored
    claimed (SENDING) for CLAIM_SECONDS; if that process dies first, the claim runs out and the
    repair sweep sends it."""
    now = now or timezone.now()
    if thread is None:
        thread = thread_message_ids(ticket)
    # The thread's root and its latest messages (RFC 5322 §3.6.4 allows trimming the middle).
    references = (
        thread[:1] + thread[-(MAX_REFERENCES - 1) :] if len(thread) > MAX_REFERENCES else thread
    )
    ctx = {
        "ticket": ticket,
        "separator": REPLY_SEPARATOR,
        "portal_url": settings.SUPPORTDESK_SITE_URL
        + reverse("portal:ticket", args=[ticket.number]),
        **context,
    }
    body_text = render_to_string(f"mail/email/{template}.txt", ctx).strip() + "\n"
    body_html = render_to_string(f"mail/email/{template}.html", ctx)
    sending_here = send_here and not suppress_reason
    if suppress_reason:
        state = OutboundMail.State.SUPPRESSED
    else:
        state = OutboundMail.State.SENDING if send_here else OutboundMail.State.QUEUED
    mail = OutboundMail.objects.create(
        message_id=make_message_id(conf.mail_domain()),
        ticket=ticket,
        ticket_message=ticket_message,
        kind=kind,
        is_automatic=is_automatic,
        auto_reply_to=auto_reply_to,
        to=to,
        subject=ticket_subject(ticket, reply=kind != ACKNOWLEDGEMENT)[:998],
        in_reply_to=thread[-1] if thread else "",
        references=" ".join(references),
        body_text=body_text,
        body_html=body_html,
        state=state,
        last_error=suppress_reason,
        created_at=now,
        next_attempt_at=now,
        # Sent here: claimed by this process from the start (no claim, no re-read after the
        # commit). If the process dies first, the claim runs out and the repair sweep sends it.
        claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS) if sending_here else None,
        attempts=1 if sending_here else 0,
    )
    if suppress_reason:
        return mail
    if sending_here:
        transaction.on_commit(lambda: _deliver(mail, now=timezone.now()), robust=True)
    else:
        from supportdesk.mail.tasks import outbound_send_task

        # With the database task queue: in this transaction (no second commit).
        enqueue_with_transaction(outbound_send_task.enqueue, mail.pk)
    return mail


def acknowledgement_queue(
    *,
    ticket: Ticket,
    to: str,
    inbound: InboundMessage | None = None,
    now: dt.datetime | None = None,
) -> OutboundMail:
    """The automatic "we got your message" answer to a new ticket opened by human mail (the
    caller has checked loop protection). At most SUPPORTDESK_MAIL_AUTO_REPLY_LIMIT per sender
    address and hour; beyond that the answer is stored as suppressed, not sent. `inbound`: the
    message that opened the ticket, which is then its whole thread (not looked up).

    Mail processing runs in a task: the acknowledgement is sent by that task right after its
    commit (one task per mailed-in ticket instead of two)."""
    now = now or timezone.now()
    to = normalize_email(to)
    sent_lately = (
        OutboundMail.objects.filter(
            auto_reply_to=to,
            is_automatic=True,
            created_at__gte=now - dt.timedelta(hours=1),
        )
        .exclude(state=OutboundMail.State.SUPPRESSED)
        .count()
    )
    limit = settings.SUPPORTDESK_MAIL_AUTO_REPLY_LIMIT
    reason = ""
    if sent_lately >= limit:
        reason = f"auto-reply limit: {limit} per sender and hour reached for {to}"
    return mail_queue(
        ticket=ticket,
        kind=ACKNOWLEDGEMENT,
        to=[to],
        template="acknowledgement",
        context={},
        is_automatic=True,
        auto_reply_to=to,
        suppress_reason=reason,
        thread=None if inbound is None else _opening_thread(inbound),
        send_here=True,
        now=now,
    )


def _opening_thread(inbound: InboundMessage) -> list[str]:
    message_id = normalise_message_id(inbound.message_id)
    return [message_id] if message_id else []


def mail_ticket_changed(
    ticket: Ticket,
    *,
    actor: User | None,
    at: dt.datetime,
    created: bool,
    message: Message | None,
    changed: frozenset[str],
    old_status: str | None,
) -> None:
    """Called by `tickets.effects.ticket_changed` inside the change's transaction: queue the
    mail and notifications the change calls for."""
    if created:
        return  # a mailed-in ticket is acknowledged by mail processing; the portal shows its own
    if message is not None and not message.is_internal and not message.is_automatic:
        author = message.author
        # An agent's reply goes to the customers; a customer's to the other customer participants.
        to = _recipients(ticket, exclude=author) if author is not None else []
        if to:
            mail_queue(
                ticket=ticket,
                kind=REPLY,
                to=to,
                template="reply",
                context={"message": message, "author": author, "status_changed": changed},
                is_automatic=False,
                ticket_message=message,
                now=at,
            )
        if author is not None and not author.is_staff:
            _tell_assignee_of_reply(ticket, message, at)
    elif (
        "status" in changed
        and (actor is None or actor.is_staff)
        and not (old_status == Status.NEW and ticket.status == Status.OPEN)
    ):
        to = _recipients(ticket, exclude=None)
        if to:
            mail_queue(
                ticket=ticket,
                kind=STATUS,
                to=to,
                template="status",
                context={"status": ticket.get_status_display()},
                is_automatic=True,
                now=at,
            )
    if "assignee" in changed:
        _tell_assignee(ticket, actor, at)


def _console_url(ticket: Ticket) -> str:
    return reverse("console:ticket", args=[ticket.number])


def _tell_assignee(ticket: Ticket, actor: User | None, at: dt.datetime) -> None:
    from supportdesk.notifications.services import notify
    from supportdesk.slas.alerts import working_hours_resume

    assignee = ticket.assignee
    if assignee is None or (actor is not None and assignee.pk == actor.pk):
        return
    notify(
        recipient=assignee,
        kind="ticket.assigned",
        title=f"#{ticket.number} assigned to you: {ticket.subject}",
        body=f"{actor.display_name if actor else 'supportdesk'} assigned you ticket "
        f"#{ticket.number}.",
        url=_console_url(ticket),
        ticket=ticket,
        dedupe_key=f"ticket.assigned:{ticket.pk}:{ticket.version}",
        deliver_after=working_hours_resume(assignee, at),
        now=at,
    )


def _tell_assignee_of_reply(ticket: Ticket, message: Message, at: dt.datetime) -> None:
    from supportdesk.notifications.services import notify
    from supportdesk.slas.alerts import working_hours_resume

    assignee = ticket.assignee
    if assignee is None:
        return
    author = message.author.display_name if message.author else "The customer"
    notify(
        recipient=assignee,
        kind="ticket.customer_reply",
        title=f"#{ticket.number} {author} replied: {ticket.subject}",
        body=message.body_text[:4000],
        url=_console_url(ticket) + f"#message-{message.pk}",
        ticket=ticket,
        dedupe_key=f"ticket.customer_reply:{message.pk}:{assignee.pk}",
        deliver_after=working_hours_resume(assignee, at),
        now=at,
    )


# ---------------------------------------------------------------------------------------------
# Sending


def outbound_send(outbound_id: int, *, now: dt.datetime | None = None) -> bool:
    """Send one stored mail. Claims it with a conditional UPDATE first, so two workers never send
    the same one; safe to call again for a sent, suppressed or not-yet-due mail."""
    now = now or timezone.now()
    claimed = (
        OutboundMail.objects.filter(
            pk=outbound_id, state=OutboundMail.State.QUEUED, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(
            state=OutboundMail.State.SENDING,
            claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS),
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return False
    return _deliver(OutboundMail.objects.select_related("ticket").get(pk=outbound_id), now=now)


def _deliver(mail: OutboundMail, *, now: dt.datetime) -> bool:
    """Send a mail this process has claimed, and record the outcome."""
    blocked = suppressed_addresses([*mail.to, *mail.cc])
    to = [a for a in mail.to if normalize_email(a) not in blocked]
    cc = [a for a in mail.cc if normalize_email(a) not in blocked]
    if not to and not cc:
        mail.state = OutboundMail.State.SUPPRESSED
        mail.last_error = f"Not sent: {', '.join(sorted(blocked))} bounced permanently"
        mail.claimed_until = None
        mail.save(update_fields=["state", "last_error", "claimed_until"])
        return False
    message = build_email(mail, to=to, cc=cc)
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # any transport error: retry later, keep the reason
        log.warning("Sending mail %s failed: %s", mail.pk, exc)
        if mail.attempts > len(EMAIL_RETRY_DELAYS):
            mail.state = OutboundMail.State.FAILED
        else:
            mail.state = OutboundMail.State.QUEUED
            mail.next_attempt_at = now + EMAIL_RETRY_DELAYS[mail.attempts - 1]
        mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        mail.claimed_until = None
        mail.save(update_fields=["state", "next_attempt_at", "last_error", "claimed_until"])
        return False
    mail.state = OutboundMail.State.SENT
    mail.sent_at = now
    mail.claimed_until = None
    if blocked:
        mail.last_error = f"Not sent to {', '.join(sorted(blocked))}: bounced permanently"
    mail.save(update_fields=["state", "sent_at", "claimed_until", "last_error"])
    return True


def build_email(mail: OutboundMail, *, to: list[str], cc: list[str]) -> EmailMultiAlternatives:
    headers = {
        "Message-ID": mail.message_id,
        conf.loop_header(): conf.mail_domain(),
    }
    if mail.in_reply_to:
        headers["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        headers["References"] = mail.references
    if mail.is_automatic:
        headers["Auto-Submitted"] = "auto-generated"
        headers["X-Auto-Response-Suppress"] = "All"
    reply_to = [reply_to_address(mail.ticket)] if mail.ticket is not None else []
    if reply_to:
        # The envelope sender (Return-Path) is the ticket's token address too, so that a bounce
        # comes back to support+TOKEN@… and lands on its ticket even when the report does not
        # quote our Message-ID; the From header stays DEFAULT_FROM_EMAIL.
        headers["From"] = settings.DEFAULT_FROM_EMAIL
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body_text,
        from_email=reply_to[0] if reply_to else settings.DEFAULT_FROM_EMAIL,
        to=to,
        cc=cc,
        reply_to=reply_to,
        headers=headers,
    )
    if mail.body_html:
        message.attach_alternative(mail.body_html, "text/html")
    return message


def outbound_redrive(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Periodic repair: release claims of a worker that died while sending, and enqueue what is
    due (retries, and mail whose after-commit enqueue was lost) unless its send task is still
    waiting in the database task queue. Returns how many it enqueued."""
    from supportdesk.mail.tasks import outbound_send_task

    now = now or timezone.now()
    OutboundMail.objects.filter(state=OutboundMail.State.SENDING, claimed_until__lt=now).update(
        state=OutboundMail.State.QUEUED, claimed_until=None
    )
    waiting = (
        OutboundMail.objects.filter(state=OutboundMail.State.QUEUED, next_attempt_at__lte=now)
        .values_list("pk", flat=True)
        .iterator()
    )
    return enqueue_unless_queued(outbound_send_task, waiting, limit=limit)
