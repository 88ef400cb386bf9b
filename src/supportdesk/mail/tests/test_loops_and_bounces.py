"""Loop protection, rate limiting, bounces and suppression."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail as django_mail

from supportdesk.accounts.models import User
from supportdesk.mail.models import InboundMessage, OutboundMail, SuppressedAddress
from supportdesk.mail.outbound import reply_to_address
from supportdesk.mail.suppression import address_suppression_lift
from supportdesk.mail.tests.conftest import SUPPORT, build_dsn, build_mail
from supportdesk.tickets.models import Message, Status
from supportdesk.tickets.services import ticket_reply_add

pytestmark = pytest.mark.django_db


def test_autoresponder_gets_no_reply_and_is_attached(
    deliver: Any, contact: User, agent: User
) -> None:
    ticket = deliver(build_mail()).ticket
    ticket_reply_add(
        actor=agent, ticket=ticket, body="Which version?", new_status=Status.WAITING_ON_CUSTOMER
    )
    django_mail.outbox.clear()
    ooo = deliver(
        build_mail(
            to=reply_to_address(ticket),
            subject="Automatic reply: Search is down",
            body="I am out of the office until Monday.",
            headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
        )
    )
    assert ooo.kind == "auto-reply"
    assert ooo.ticket == ticket
    note = ooo.ticket_message
    assert note.is_automatic
    assert note.kind == Message.Kind.NOTE
    assert "out of the office" in note.body_text
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_ON_CUSTOMER  # an auto-reply is not an answer
    assert django_mail.outbox == []
    # Only the acknowledgement of the original mail, nothing for the auto-reply.
    assert OutboundMail.objects.filter(ticket=ticket, kind="auto-reply").count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"List-Id": "<users.lists.example>"},
        {"Precedence": "bulk"},
        {"Auto-Submitted": "auto-generated"},
        {"X-Supportdesk-Loop": "supportdesk.test"},
    ],
)
def test_automatic_mail_opens_no_acknowledged_ticket(
    deliver: Any, contact: User, headers: dict[str, str]
) -> None:
    inbound = deliver(build_mail(headers=headers))
    assert inbound.kind != "human"
    assert inbound.state == InboundMessage.State.PROCESSED
    assert django_mail.outbox == []
    assert not OutboundMail.objects.exists()
    if inbound.kind == "own":
        assert inbound.ticket is None  # mail from ourselves never opens a ticket (loops)
    else:
        assert inbound.ticket_message.is_automatic


def test_mail_from_a_mailer_daemon_or_with_empty_return_path_is_not_answered(
    deliver: Any,
) -> None:
    inbound = deliver(
        build_mail(sender="noreply@shop.test", headers={"Return-Path": "<>"}),
        envelope_from="",
    )
    assert inbound.kind != "human"
    assert django_mail.outbox == []


def test_acknowledgements_are_rate_limited_per_sender(
    deliver: Any, contact: User, settings: Any
) -> None:
    settings.SUPPORTDESK_MAIL_AUTO_REPLY_LIMIT = 2
    results = [deliver(build_mail(subject=f"Problem {n}")) for n in range(4)]
    assert all(r.ticket is not None for r in results)  # every mail still makes its ticket
    assert len(django_mail.outbox) == 2
    suppressed = OutboundMail.objects.filter(state=OutboundMail.State.SUPPRESSED)
    assert suppressed.count() == 2
    assert "auto-reply limit" in suppressed.first().last_error
    assert "no acknowledgement" in results[3].outcome


def test_bounce_lands_on_its_ticket_and_suppresses_the_address(
    deliver: Any, after_commit: Any, contact: User, agent: User
) -> None:
    ticket = deliver(build_mail()).ticket
    with after_commit():
        ticket_reply_add(actor=agent, ticket=ticket, body="Please try 4.2.1")
    ours = OutboundMail.objects.get(ticket=ticket, kind="reply")
    assert ours.state == OutboundMail.State.SENT
    django_mail.outbox.clear()

    bounce = deliver(
        build_dsn(original_message_id=ours.message_id, recipient="alice@acme.test"),
        envelope_from="",
    )
    assert bounce.kind == "bounce"
    assert bounce.ticket == ticket
    assert bounce.threaded_by == "returned-message-id"
    assert bounce.ticket_message.is_internal
    assert bounce.ticket_message.is_automatic
    assert "alice@acme.test" in bounce.ticket_message.body_text
    block = SuppressedAddress.objects.get(address="alice@acme.test")
    assert block.status_code == "5.1.1"
    assert block.bounce == bounce
    assert block.lifted_at is None
    contact.refresh_from_db()
    assert contact.email_disabled_reason.startswith("Mail bounces")
    assert django_mail.outbox == []  # a bounce is never answered

    # The next reply is not sent to the bouncing address, visibly.
    with after_commit():
        ticket_reply_add(actor=agent, ticket=ticket, body="Are you there?")
    blocked = OutboundMail.objects.filter(ticket=ticket, kind="reply").latest("pk")
    assert blocked.state == OutboundMail.State.SUPPRESSED
    assert "bounced permanently" in blocked.last_error
    assert django_mail.outbox == []

    # An agent lifts the block; mail flows again.
    address_suppression_lift(actor=agent, address="alice@acme.test")
    contact.refresh_from_db()
    assert contact.email_disabled_reason == ""
    with after_commit():
        ticket_reply_add(actor=agent, ticket=ticket, body="Welcome back")
    assert [m.to for m in django_mail.outbox] == [["alice@acme.test"]]


def test_our_mail_returns_bounces_to_its_ticket_token_address(
    deliver: Any, after_commit: Any, contact: User, agent: User
) -> None:
    """The envelope sender of ticket mail is the ticket's token address, so a bounce that quotes
    none of our headers (some servers send only text) still lands on its ticket."""
    ticket = deliver(build_mail()).ticket
    django_mail.outbox.clear()
    with after_commit():
        ticket_reply_add(actor=agent, ticket=ticket, body="Please try 4.2.1")
    [sent] = django_mail.outbox
    token_address = reply_to_address(ticket)
    assert sent.from_email == token_address  # the envelope sender (Return-Path)
    assert sent.extra_headers["From"] == SUPPORT
    assert sent.message()["From"] == SUPPORT
    assert sent.reply_to == [token_address]

    raw = build_dsn(original_message_id="<not-quoted@mx.acme.test>", recipient="alice@acme.test")
    bounce = deliver(raw, envelope_from="", envelope_to=[token_address])
    assert bounce.kind == "bounce"
    assert bounce.ticket == ticket
    assert bounce.threaded_by == "token"
    assert SuppressedAddress.objects.filter(address="alice@acme.test").exists()


def test_a_delay_warning_is_attached_but_suppresses_nothing(
    deliver: Any, after_commit: Any, contact: User, agent: User
) -> None:
    ticket = deliver(build_mail()).ticket
    ours = OutboundMail.objects.get(ticket=ticket)
    raw = build_dsn(
        original_message_id=ours.message_id, recipient="alice@acme.test", status="4.4.1"
    )
    raw = raw.replace(b"Action: failed", b"Action: delayed").replace(b"550 5.1.1", b"451 4.4.1")
    bounce = deliver(raw, envelope_from="")
    assert bounce.kind == "bounce"
    assert bounce.ticket == ticket
    assert not SuppressedAddress.objects.exists()


def test_unmatched_bounce_still_suppresses_and_is_kept(deliver: Any, contact: User) -> None:
    bounce = deliver(
        build_dsn(original_message_id="<unknown@elsewhere.test>", recipient="ghost@acme.test"),
        envelope_from="",
    )
    assert bounce.state == InboundMessage.State.PROCESSED
    assert bounce.ticket is None
    assert SuppressedAddress.objects.filter(address="ghost@acme.test").exists()
    assert "not one of ours" in bounce.outcome
