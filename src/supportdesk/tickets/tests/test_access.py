"""Who sees what: the access functions themselves. Every URL × every role × own / other
organization is tried by the authorization matrix (core/tests/test_access_matrix.py, with the rules
in each package's tests/access_matrix.py)."""

from __future__ import annotations

import pytest

from supportdesk.conftest import client_for
from supportdesk.core.testing import make_ticket
from supportdesk.tickets import services
from supportdesk.tickets.access import (
    access_attachment,
    access_ticket,
    messages_visible_to,
    tickets_visible_to,
)
from supportdesk.tickets.search import message_search
from supportdesk.tickets.services import UploadedAttachment

pytestmark = pytest.mark.django_db


def test_contacts_see_their_own_and_ccd_tickets_org_admins_all_of_their_org(
    contact, colleague, org_admin, outsider, community, agent
):
    own = make_ticket(contact)
    colleagues = make_ticket(colleague)
    ccd = make_ticket(colleague, ccs=[contact])
    foreign = make_ticket(outsider)
    community_ticket = make_ticket(community)
    assert set(tickets_visible_to(contact)) == {own, ccd}
    assert set(tickets_visible_to(org_admin)) == {own, colleagues, ccd}
    assert set(tickets_visible_to(community)) == {community_ticket}
    assert set(tickets_visible_to(agent)) == {own, colleagues, ccd, foreign, community_ticket}
    assert access_ticket(contact, own.number) == own
    from django.http import Http404

    for number in (foreign.number, colleagues.number, "abc", -1):
        with pytest.raises(Http404):
            access_ticket(contact, number)


def test_internal_notes_and_their_attachments_never_reach_customers(agent, contact):
    ticket = make_ticket(contact)
    note = services.ticket_reply_add(
        actor=agent,
        ticket=ticket,
        body="Customer is on an unsupported version",
        internal=True,
        attachments=[UploadedAttachment("internal.txt", b"secret")],
    )
    assert note not in messages_visible_to(contact, ticket)
    page = client_for(contact).get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "unsupported version" not in page
    assert "internal.txt" not in page
    attachment = note.attachments.get()
    from django.http import Http404

    with pytest.raises(Http404):
        access_attachment(contact, attachment.id)
    assert client_for(contact).get(f"/attachments/{attachment.id}/").status_code == 404
    assert client_for(agent).get(f"/attachments/{attachment.id}/").status_code == 200
    # Nor through search.
    assert message_search(contact, "unsupported") == []
    assert [h.ticket for h in message_search(agent, "unsupported")] == [ticket]


def test_customer_pages_never_mention_another_organizations_ticket(contact, outsider):
    foreign = make_ticket(outsider, subject="Globex secret migration plan")
    client = client_for(contact)
    for url in ("/portal/", "/portal/?show=all", "/portal/search/?q=secret+migration"):
        body = client.get(url).content.decode()
        assert "Globex secret migration plan" not in body
        assert f"#{foreign.number}" not in body


def test_the_console_is_not_there_for_customers(contact, org_admin, community):
    for user in (contact, org_admin, community):
        assert client_for(user).get("/console/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(contact):
    ticket = make_ticket(contact)
    from django.test import Client

    for url in ("/console/", f"/portal/tickets/{ticket.number}/", "/portal/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response.url.startswith("/login/?next=")


def test_attachments_download_as_files_never_rendered(contact):
    ticket = make_ticket(
        contact,
        attachments=[UploadedAttachment("evil.html", b"<script>alert(document.cookie)</script>")],
    )
    attachment = ticket.attachments.get()
    response = client_for(contact).get(f"/attachments/{attachment.id}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content).startswith(b"<script>")
