"""Demo mail: a few messages stored as delivered mail is (``store_inbound``) and processed by the
real pipeline, so that `make run` shows the e-mail channel at work: a ticket that arrived by mail
with its signature and quoted history stripped, a reply threaded by In-Reply-To to our
acknowledgement, an out-of-office answer that got no auto-reply, a bounce that put an address on
the suppression list, and one message in quarantine.

Runs after the rest of the demo data is committed (each delivery is its own durable transaction,
as in production). Processing runs here, in the demo command, rather than waiting for a worker;
the queued processing tasks find the messages already processed and do nothing.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.utils import timezone

from supportdesk.mail.inbound import store_inbound
from supportdesk.mail.models import InboundMessage, OutboundMail
from supportdesk.mail.processing import process_inbound

SUPPORT = settings.SUPPORTDESK_SUPPORT_ADDRESS


def _deliver(message: EmailMessage | bytes, *, envelope_from: str) -> InboundMessage:
    raw = message if isinstance(message, bytes) else bytes(message)
    inbound, _new = store_inbound(
        raw,
        source=InboundMessage.Source.LMTP,
        channel=SUPPORT.lower(),
        envelope_from=envelope_from,
        envelope_to=[SUPPORT.lower()],
        peer="demo",
    )
    return process_inbound(inbound.pk)


def _mail(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    domain = sender.rsplit("@", 1)[-1].rstrip(">") if "@" in sender else "demo.test"
    message["Message-ID"] = make_msgid(domain=domain)
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _acknowledgement_of(inbound: InboundMessage) -> OutboundMail:
    acknowledgement = (
        OutboundMail.objects.filter(ticket=inbound.ticket).order_by("created_at", "pk").first()
    )
    if acknowledgement is None:
        raise RuntimeError(f"demo mail: no acknowledgement was queued for ticket {inbound.ticket}")
    return acknowledgement


def create_demo_mail() -> dict[str, int]:
    """Deliver and process the demo messages; return how many ended in each state."""
    first = _deliver(
        _mail(
            "Dave Diaz <dave@acme.demo.test>",
            "Webhooks stopped firing after the 6.1 upgrade",
            "Hi team,\n\n"
            "since we upgraded to 6.1 last night, none of our outgoing webhooks fire. The "
            "delivery log in the admin area is empty and nothing reaches our receiver.\n\n"
            "Could you tell us what to look at first?\n\n"
            "Thanks,\nDave\n--\nDave Diaz | Platform team | Acme Corp\n+1 555 0100\n",
        ),
        envelope_from="dave@acme.demo.test",
    )
    acknowledgement = _acknowledgement_of(first)
    _deliver(
        _mail(
            "Dave Diaz <dave@acme.demo.test>",
            f"Re: {first.subject}",
            "One more detail: the webhook worker logs 'connection refused' to our proxy.\n\n"
            f"On Monday, supportdesk <{SUPPORT}> wrote:\n> We received your request.\n",
            In_Reply_To=acknowledgement.message_id,
            References=acknowledgement.message_id,
        ),
        envelope_from="dave@acme.demo.test",
    )
    _deliver(
        _mail(
            "Alice Anders <alice@acme.demo.test>",
            f"Automatic reply: {first.subject}",
            "I am out of the office until Monday and will read your message when I am back.\n",
            Auto_Submitted="auto-replied",
            X_Autoreply="yes",
            In_Reply_To=acknowledgement.message_id,
        ),
        envelope_from="alice@acme.demo.test",
    )

    moved = _deliver(
        _mail(
            "Pat Former <pat@old-vendor.demo.test>",
            "Licence transfer to our new company",
            "Hello, please move our licence to the new company address. Thanks, Pat\n",
        ),
        envelope_from="pat@old-vendor.demo.test",
    )
    returned = _acknowledgement_of(moved)
    _deliver(_bounce(returned.message_id, "pat@old-vendor.demo.test"), envelope_from="")

    quarantined = _mail(
        "undisclosed-recipients:;",
        "Invoice",
        "A message with no sender address: it cannot become a ticket, so it waits in the "
        "quarantine for an agent to retry or discard.\n",
    )
    _deliver(quarantined, envelope_from="")

    counts: dict[str, int] = {}
    for state in InboundMessage.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def _bounce(returned_message_id: str, address: str) -> bytes:
    """A delivery status notification (RFC 3464) for our mail to ``address``, as Postfix
    writes one."""
    boundary = "demo-bounce-boundary"
    return "\r\n".join(
        [
            "From: Mail Delivery System <MAILER-DAEMON@mx.old-vendor.demo.test>",
            f"To: {SUPPORT}",
            "Subject: Undelivered Mail Returned to Sender",
            f"Date: {format_datetime(timezone.now())}",
            f"Message-ID: {make_msgid(domain='mx.old-vendor.demo.test')}",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
            "",
            f"--{boundary}",
            "Content-Type: text/plain; charset=us-ascii",
            "",
            "This is the mail system at host mx.old-vendor.demo.test.",
            "",
            "I'm sorry to have to inform you that your message could not",
            "be delivered to one or more recipients.",
            "",
            f"<{address}>: host mx.old-vendor.demo.test said: 550 5.1.1 <{address}>:",
            "    Recipient address rejected: User unknown in local recipient table",
            "",
            f"--{boundary}",
            "Content-Type: message/delivery-status",
            "",
            "Reporting-MTA: dns; mx.old-vendor.demo.test",
            "",
            f"Final-Recipient: rfc822; {address}",
            f"Original-Recipient: rfc822;{address}",
            "Action: failed",
            "Status: 5.1.1",
            "Remote-MTA: dns; mx.old-vendor.demo.test",
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown in local recipient table",
            "",
            f"--{boundary}",
            "Content-Type: text/rfc822-headers",
            "",
            f"From: {SUPPORT}",
            f"To: {address}",
            f"Message-ID: {returned_message_id}",
            "Subject: We received your request",
            "",
            f"--{boundary}--",
            "",
        ]
    ).encode()
