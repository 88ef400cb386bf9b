from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from supportdesk.conftest import client_for
from supportdesk.core.testing import make_ticket
from supportdesk.tickets import services
from supportdesk.tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


def test_customer_opens_a_ticket_with_attachment_and_cc(contact, colleague):
    client = client_for(contact)
    form = client.get("/portal/tickets/new/").content.decode()
    assert "severely impacted" in form  # the handbook's Sev 1 definition, where severity is chosen
    response = client.post(
        "/portal/tickets/new/",
        {
            "subject": "Production search down",
            "severity": "1",
            "description": "All searches time out.",
            "ccs": colleague.email,
            "attachments": [SimpleUploadedFile("frontend.log", b"ERROR timeout")],
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.severity, ticket.requester, list(ticket.ccs.all())) == (1, contact, [colleague])
    assert ticket.attachments.get().filename == "frontend.log"
    page = client.get(response.url).content.decode()
    assert "Production search down" in page
    assert "frontend.log" in page
    # The CC'd colleague sees it too.
    assert client_for(colleague).get(response.url).status_code == 200


def test_form_errors_keep_what_was_typed(contact):
    response = client_for(contact).post(
        "/portal/tickets/new/",
        {"subject": "", "severity": "1", "description": "My long description"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "My long description" in page
    assert "This field is required." in page


def test_cc_outside_the_organization_is_refused_with_a_clear_message(contact, outsider):
    response = client_for(contact).post(
        "/portal/tickets/new/",
        {"subject": "x", "severity": "2", "description": "y", "ccs": outsider.email},
    )
    assert response.status_code == 400
    assert "cannot be CC&#x27;d" in response.content.decode()
    assert not Ticket.objects.exists()


def test_community_users_are_told_it_is_best_effort(community):
    page = client_for(community).get("/portal/tickets/new/").content.decode()
    assert "no response-time commitment" in page
    assert "best effort" in client_for(community).get("/portal/").content.decode()


def test_customer_replies_and_reopens(agent, contact):
    ticket = make_ticket(contact)
    services.ticket_update(actor=agent, ticket=ticket, status=Status.WAITING_ON_CUSTOMER)
    client = client_for(contact)
    response = client.post(f"/portal/tickets/{ticket.number}/reply/", {"body": "Logs attached"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert client.post(f"/portal/tickets/{ticket.number}/reply/", {"body": ""}).status_code == 400


def test_org_admin_lists_the_whole_organization_contacts_only_their_own(
    contact, colleague, org_admin
):
    mine = make_ticket(contact, subject="Alice problem")
    theirs = make_ticket(colleague, subject="Dave problem")
    assert "Dave problem" not in client_for(contact).get("/portal/").content.decode()
    page = client_for(org_admin).get("/portal/").content.decode()
    assert mine.subject in page
    assert theirs.subject in page


def test_staff_are_sent_from_the_portal_to_the_console(agent):
    assert client_for(agent).get("/portal/").url == "/console/"


def test_closed_tickets_point_to_a_new_ticket(agent, contact):
    ticket = make_ticket(contact)
    services.ticket_update(actor=agent, ticket=ticket, status=Status.CLOSED)
    page = client_for(contact).get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "This ticket is closed" in page
