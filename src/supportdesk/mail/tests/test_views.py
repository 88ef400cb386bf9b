"""The mail console pages over HTTP: quarantine list, retry, discard, raw download, blocks."""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk.accounts.models import User
from supportdesk.conftest import client_for
from supportdesk.mail.models import InboundMessage, SuppressedAddress
from supportdesk.mail.suppression import address_suppress
from supportdesk.mail.tests.conftest import build_mail

pytestmark = pytest.mark.django_db


def test_quarantine_page_lists_retries_and_discards(
    deliver: Any, after_commit: Any, agent: User, contact: User
) -> None:
    contact.is_active = False
    contact.save()
    stuck = deliver(build_mail(subject="Stuck message"))
    hopeless = deliver(b"Subject: nobody sent me\r\n\r\nhi\r\n", envelope_from="")
    client = client_for(agent)
    page = client.get("/console/mail/quarantine/").content.decode()
    assert "Stuck message" in page
    assert "nobody sent me" in page
    assert "deactivated" in page
    assert 'Mail quarantine<span class="count">2</span>' in page

    raw = client.get(f"/console/mail/inbound/{stuck.pk}/raw/")
    assert raw["Content-Type"] == "message/rfc822"
    assert "attachment" in raw["Content-Disposition"]
    assert b"".join(raw.streaming_content if raw.streaming else [raw.content]) == bytes(stuck.raw)
    detail = client.get(f"/console/mail/inbound/{stuck.pk}/").content.decode()
    assert "Nothing works since the upgrade." in detail

    contact.is_active = True
    contact.save()
    with after_commit():
        response = client.post(f"/console/mail/inbound/{stuck.pk}/retry/")
    assert response.status_code == 302
    stuck.refresh_from_db()
    assert stuck.state == InboundMessage.State.PROCESSED
    assert stuck.ticket is not None

    client.post(f"/console/mail/inbound/{hopeless.pk}/discard/")
    hopeless.refresh_from_db()
    assert hopeless.state == InboundMessage.State.DISCARDED
    page = client.get("/console/mail/quarantine/").content.decode()
    assert "Nothing in quarantine." in page


def test_a_blocked_address_shows_on_the_ticket_and_an_agent_lifts_it(
    deliver: Any, agent: User, contact: User
) -> None:
    ticket = deliver(build_mail()).ticket
    address_suppress(address="alice@acme.test", reason="5.1.1 user unknown", status_code="5.1.1")
    client = client_for(agent)
    page = client.get(f"/console/tickets/{ticket.number}/").content.decode()
    assert "Mail blocked" in page
    assert "alice@acme.test bounced" in page
    assert "alice@acme.test" in client.get("/console/mail/suppressed/").content.decode()
    org_page = client.get(f"/console/organizations/{contact.organization.slug}/").content.decode()
    assert "mail blocked" in org_page
    response = client.post(
        "/console/mail/suppressed/lift/",
        {"address": "alice@acme.test", "next": f"/console/tickets/{ticket.number}/"},
    )
    assert response["Location"] == f"/console/tickets/{ticket.number}/"
    assert SuppressedAddress.objects.get().lifted_by == agent
    assert "Mail blocked" not in client.get(f"/console/tickets/{ticket.number}/").content.decode()


def test_customers_cannot_see_the_quarantine(contact: User) -> None:
    assert client_for(contact).get("/console/mail/quarantine/").status_code == 404
