"""End to end through the real listener on 127.0.0.1 with Python's smtplib.LMTP as the client:
the mail server's view (250 per recipient) and the outcome (tickets, threading, no replies to
automatic mail, bounces on their ticket). Processing is the mail app's own code, run by the task
the listener enqueues after each commit (the test settings run tasks at once)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail as django_mail

from supportdesk.accounts.models import User
from supportdesk.mail.listener import Listener, listener_in_thread
from supportdesk.mail.models import InboundMessage, OutboundMail, SuppressedAddress
from supportdesk.mail.outbound import reply_to_address
from supportdesk.mail.tests.conftest import build_dsn
from supportdesk.mail.tests.transport_helpers import lmtp_client, lmtp_deliver, make_message
from supportdesk.tickets.models import Status, Ticket
from supportdesk.tickets.services import ticket_reply_add

pytestmark = pytest.mark.django_db(transaction=True)

SUPPORT = "support@supportdesk.test"


@pytest.fixture
def listener(settings: Any) -> Iterator[Listener]:
    settings.SUPPORTDESK_MAIL_ADDRESSES = [SUPPORT]
    with listener_in_thread() as running:
        yield running


def send(
    listener: Listener, raw: bytes, *, rcpt: str = SUPPORT, mail_from: str = "alice@acme.test"
) -> InboundMessage:
    with lmtp_client(listener.port) as client:
        answers = lmtp_deliver(client, mail_from, [rcpt], raw)
    code, reply = answers[rcpt]
    assert code == 250, reply
    inbound_id = int(reply.rsplit(" ", 1)[1])
    return InboundMessage.objects.get(pk=inbound_id)


def test_mail_through_the_listener_opens_threads_and_ignores_what_it_must(
    listener: Listener, contact: User, agent: User
) -> None:
    # A new message opens a ticket and is acknowledged (with our Message-ID and a token).
    first = send(listener, make_message(message_id="<new@acme.test>", subject="Search is down"))
    assert first.state == InboundMessage.State.PROCESSED
    ticket = first.ticket
    assert ticket is not None
    assert (ticket.subject, ticket.requester) == ("Search is down", contact)
    ack = OutboundMail.objects.get(ticket=ticket, kind="auto-reply")
    assert [m.extra_headers["Message-ID"] for m in django_mail.outbox] == [ack.message_id]
    token_address = reply_to_address(ticket)
    assert django_mail.outbox[0].reply_to == [token_address]

    # Replies thread: by the token in the envelope recipient (the To: header is plain)...
    by_token = send(
        listener,
        make_message(message_id="<r1@acme.test>", subject="another subject", body="Logs attached"),
        rcpt=token_address,
    )
    assert (by_token.ticket, by_token.threaded_by) == (ticket, "token")
    assert by_token.envelope_to == [token_address]
    assert by_token.channel == SUPPORT
    # ...by In-Reply-To to our acknowledgement...
    by_header = send(
        listener,
        make_message(
            message_id="<r2@acme.test>",
            subject="no reference",
            body="Also this",
            headers={"In-Reply-To": ack.message_id},
        ),
    )
    assert (by_header.ticket, by_header.threaded_by) == (ticket, "message-id")
    # ...and by the ticket reference in the subject, from the requester.
    by_subject = send(
        listener,
        make_message(
            message_id="<r3@acme.test>",
            subject=f"Re: [#{ticket.number}] Search is down",
            body="Still broken",
        ),
    )
    assert (by_subject.ticket, by_subject.threaded_by) == (ticket, "subject")
    assert Ticket.objects.count() == 1
    assert ticket.messages.count() == 4

    # The same message delivered again is stored once and adds nothing.
    with lmtp_client(listener.port) as client:
        again = lmtp_deliver(
            client,
            "alice@acme.test",
            [SUPPORT],
            make_message(message_id="<r3@acme.test>", subject="whatever"),
        )
    assert again[SUPPORT][0] == 250
    assert "already stored" in again[SUPPORT][1]
    assert ticket.messages.count() == 4

    # An autoresponder gets no reply, and its mail is kept on the ticket.
    ticket_reply_add(
        actor=agent, ticket=ticket, body="Which version?", new_status=Status.WAITING_ON_CUSTOMER
    )
    ours = OutboundMail.objects.filter(ticket=ticket, kind="reply").latest("pk")
    assert ours.state == OutboundMail.State.SENT
    sent_before = len(django_mail.outbox)
    ooo = send(
        listener,
        make_message(
            message_id="<ooo@acme.test>",
            subject="Automatic reply: Search is down",
            body="I am out of the office until Monday.",
            headers={"Auto-Submitted": "auto-replied", "In-Reply-To": ours.message_id},
        ),
    )
    assert ooo.kind == "auto-reply"
    assert ooo.ticket == ticket
    assert len(django_mail.outbox) == sent_before  # no answer to an autoresponder

    # A bounce of our reply (null sender) lands on its ticket and stops mail to the address.
    dsn = build_dsn(original_message_id=ours.message_id, recipient="alice@acme.test")
    bounce = send(listener, dsn, mail_from="<>")
    assert bounce.envelope_from == ""
    assert bounce.kind == "bounce"
    assert bounce.ticket == ticket
    assert SuppressedAddress.objects.filter(address="alice@acme.test").exists()
    assert len(django_mail.outbox) == sent_before  # a bounce is never answered
