"""Who is told what when a ticket changes: customers by ticket mail, agents by notifications
(one mailer each, so nobody gets the same news twice)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail as django_mail

from supportdesk.accounts.models import User
from supportdesk.core.testing import make_ticket
from supportdesk.mail.models import OutboundMail
from supportdesk.mail.tests.conftest import build_mail
from supportdesk.notifications.models import Notification
from supportdesk.tickets.models import Status
from supportdesk.tickets.services import ticket_ccs_add, ticket_reply_add, ticket_update

pytestmark = pytest.mark.django_db


def _always_at_work(user: User) -> None:
    user.work_days = ""  # no working hours set: always reachable, nothing held back
    user.save()


def test_agent_reply_mails_requester_and_ccs_but_not_notes(
    after_commit: Any, contact: User, colleague: User, agent: User
) -> None:
    ticket = make_ticket(contact)
    ticket_ccs_add(actor=contact, ticket=ticket, addresses=["dave@acme.test"])
    with after_commit():
        ticket_reply_add(actor=agent, ticket=ticket, body="Internal only", internal=True)
    assert django_mail.outbox == []
    with after_commit():
        ticket_reply_add(
            actor=agent,
            ticket=ticket,
            body="Try 4.2.1",
            new_status=Status.SOLVED,
            resolution_kind="fix",
        )
    assert len(django_mail.outbox) == 1
    sent = django_mail.outbox[0]
    assert sorted(sent.to) == ["alice@acme.test", "dave@acme.test"]
    assert "Try 4.2.1" in sent.body
    assert "Status: Solved" in sent.body
    assert "Auto-Submitted" not in sent.extra_headers


def test_status_change_sends_an_automatic_notice(
    after_commit: Any, contact: User, agent: User
) -> None:
    ticket = make_ticket(contact)
    with after_commit():
        ticket_update(actor=agent, ticket=ticket, status=Status.WAITING_ON_US)
    (sent,) = django_mail.outbox
    assert sent.to == ["alice@acme.test"]
    assert "Waiting on us" in sent.body
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    assert OutboundMail.objects.get().kind == "status"


def test_customer_reply_notifies_the_assignee_once_and_mails_the_other_customers(
    after_commit: Any, contact: User, colleague: User, agent: User
) -> None:
    _always_at_work(agent)
    ticket = make_ticket(contact)
    ticket_ccs_add(actor=contact, ticket=ticket, addresses=["dave@acme.test"])
    with after_commit():
        ticket_update(actor=agent, ticket=ticket, assignee=agent)  # self-assignment: no news
    assert not Notification.objects.filter(recipient=agent).exists()
    with after_commit():
        ticket_reply_add(actor=contact, ticket=ticket, body="It happens again")
    notification = Notification.objects.get(recipient=agent, kind="ticket.customer_reply")
    assert "It happens again" in notification.body
    by_address = {tuple(m.to): m for m in django_mail.outbox}
    assert ("agent@vendor.test",) in by_address  # the notification e-mail, once
    assert ("dave@acme.test",) in by_address  # the other customer on the ticket
    assert ("alice@acme.test",) not in by_address  # not the author
    assert len(django_mail.outbox) == 2


def test_assignment_notifies_the_new_assignee(
    after_commit: Any, contact: User, agent: User, lead: User
) -> None:
    _always_at_work(agent)
    ticket = make_ticket(contact)
    with after_commit():
        ticket_update(actor=lead, ticket=ticket, assignee=agent)
    notification = Notification.objects.get(recipient=agent, kind="ticket.assigned")
    assert f"#{ticket.number}" in notification.title
    assert [m.to for m in django_mail.outbox] == [["agent@vendor.test"]]


def test_hostile_html_is_sanitised_on_the_ticket(deliver: Any, contact: User) -> None:
    inbound = deliver(
        build_mail(
            body="Look",
            html='<p onclick="steal()">Look</p><script>alert(1)</script>'
            '<a href="javascript:alert(2)">x</a><iframe src="https://evil.test"></iframe>',
        )
    )
    html = inbound.ticket_message.body_html
    assert "Look" in html
    for bad in ("<script", "onclick", "javascript:", "<iframe"):
        assert bad not in html
