from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from supportdesk.accounts.models import Role
from supportdesk.conftest import client_for
from supportdesk.core.testing import make_ticket, make_user
from supportdesk.tickets import services
from supportdesk.tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_queue(org, other_org, agent):
    people = [make_user(Role.CONTACT, organization=o) for o in (org, other_org) for _ in range(3)]
    tickets = []
    for i in range(30):
        t = make_ticket(
            people[i % len(people)],
            subject=f"Problem {i}",
            severity=1 + i % 2,
            tags=["upgrade"] if i % 3 == 0 else [],
        )
        if i % 4 == 0:
            services.ticket_update(actor=agent, ticket=t, assignee=agent)
        tickets.append(t)
    return tickets


@pytest.mark.parametrize("queue", ["mine", "unassigned", "open", "waiting", "solved", "all"])
def test_queue_pages_use_a_fixed_number_of_queries(
    agent, busy_queue, queue, django_assert_max_num_queries
):
    client = client_for(agent)
    client.get("/console/")  # warm the session
    # session + user, 2 sidebar counts + unread notifications, page count + rows + 3 prefetches
    # (organization, requester, assignee), organizations and agents for the filters, and the SLA
    # calendars for the badges' business time left (one query, however many rows), and the
    # mail quarantine count in the sidebar
    with django_assert_max_num_queries(14):
        response = client.get(f"/console/?queue={queue}")
    assert response.status_code == 200


def test_queue_filters_sort_and_paginate(agent, busy_queue, org):
    client = client_for(agent)
    body = client.get(f"/console/?queue=all&organization={org.pk}&severity=1").content.decode()
    expected = [t for t in busy_queue if t.organization_id == org.pk and t.severity == 1]
    assert f"{len(expected)} ticket" in body
    for t in busy_queue:
        assert (f"#{t.number}<" in body) == (t in expected)
    mine = client.get("/console/?queue=mine").content.decode()
    assert mine.count("data-ticket-row") == Ticket.objects.filter(assignee=agent).count() == 8
    by_number = client.get("/console/?queue=all&sort=number").content.decode()
    numbers = [t.number for t in busy_queue]
    assert by_number.index(f"#{max(numbers)}<") < by_number.index(f"#{min(numbers)}<")
    # htmx asks for the table only.
    partial = client.get("/console/?queue=all", HTTP_HX_REQUEST="true").content.decode()
    assert "<aside" not in partial
    assert "data-ticket-row" in partial


def test_ticket_page_query_count_does_not_grow_with_the_conversation(
    agent, contact, django_assert_max_num_queries
):
    ticket = make_ticket(contact)
    client = client_for(agent)
    client.get(f"/console/tickets/{ticket.number}/")

    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/console/tickets/{ticket.number}/").status_code == 200
        return len(ctx.captured_queries)

    before = count_queries()
    for i in range(5):
        services.ticket_reply_add(
            actor=contact,
            ticket=ticket,
            body=f"more info {i}",
            attachments=[services.UploadedAttachment(f"{i}.log", b"x")],
        )
        services.ticket_reply_add(actor=agent, ticket=ticket, body=f"note {i}", internal=True)
    assert count_queries() == before
    # 15 for the page itself, 4 for the SLA panel (policy choice, clocks, their history,
    # calendars), 3 for the managed-instance panel (instances, open maintenance, incident);
    # tags and instances are read once each; 4 for mail (the sidebar's quarantine count; the mail
    # card's sent, received and blocked addresses)
    assert before <= 26


def test_reply_without_the_three_parts_gets_a_nudge_then_sends_when_confirmed(agent, contact):
    ticket = make_ticket(contact)
    client = client_for(agent)
    url = f"/console/tickets/{ticket.number}/reply/"
    response = client.post(url, {"body": "Looking into it", "status_part": "Investigating"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This reply has no Next steps, Expectations." in page
    assert "Send anyway" in page
    assert ticket.messages.count() == 1
    response = client.post(
        url, {"body": "Looking into it", "status_part": "Investigating", "confirm_incomplete": "on"}
    )
    assert response.status_code == 302
    assert ticket.messages.last().status_part == "Investigating"


def test_a_complete_reply_sends_at_once_and_can_set_status(agent, contact):
    ticket = make_ticket(contact)
    response = client_for(agent).post(
        f"/console/tickets/{ticket.number}/reply/",
        {
            "status_part": "Fixed in 6.0.2",
            "next_steps_part": "Upgrade",
            "expectations_part": "Nothing more from us unless you reply",
            "new_status": "solved",
            "resolution_kind": "product_update",
            "attachments": [SimpleUploadedFile("notes.txt", b"release notes")],
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolution_kind) == (Status.SOLVED, "product_update")
    assert ticket.messages.last().attachments.get().filename == "notes.txt"


def test_properties_form_updates_the_ticket_in_the_agents_time_zone(agent, lead, contact):
    agent.timezone = "Europe/Berlin"
    agent.save()
    ticket = make_ticket(contact)
    earlier_local = (ticket.created_at - dt.timedelta(hours=2)).astimezone(agent.tzinfo)
    response = client_for(agent).post(
        f"/console/tickets/{ticket.number}/update/",
        {
            "status": "waiting_on_us",
            "resolution_kind": "",
            "severity": "1",
            "assignee": str(lead.pk),
            "reported_at": earlier_local.strftime("%Y-%m-%dT%H:%M"),
            "tags": "upgrade, Search",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    assert ticket.status == "waiting_on_us"
    assert ticket.severity == 1
    assert ticket.assignee == lead
    assert ticket.reported_at == earlier_local.replace(second=0, microsecond=0)
    assert sorted(t.name for t in ticket.tags.all()) == ["search", "upgrade"]
    page = client_for(agent).get(f"/console/tickets/{ticket.number}/").content.decode()
    assert "Waiting on us / engineering" in page
    assert "Severity changed" in page


def test_properties_form_errors_are_shown_on_the_field(agent, contact):
    ticket = make_ticket(contact)
    future = (ticket.created_at + dt.timedelta(days=1)).astimezone(agent.tzinfo)
    response = client_for(agent).post(
        f"/console/tickets/{ticket.number}/update/",
        {
            "status": "solved",
            "resolution_kind": "",
            "severity": "2",
            "assignee": "",
            "reported_at": future.strftime("%Y-%m-%dT%H:%M"),
            "tags": "",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "cannot be later than the ticket" in page


def test_internal_teammates_open_tickets_for_customers_and_add_notes(internal, contact):
    client = client_for(internal)
    response = client.post(
        "/console/tickets/new/",
        {
            "requester": contact.email,
            "subject": "Customer called about slow search",
            "severity": "1",
            "description": "Phone call with Alice at 09:10.",
            "reported_at": "",
            "ccs": "",
            "tags": "phone",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.requester == contact
    assert ticket.channel == "console"
    assert (
        client.post(
            f"/console/tickets/{ticket.number}/note/", {"body": "Prospect expansion at stake"}
        ).status_code
        == 302
    )
    assert ticket.messages.filter(kind="note").count() == 1
    page = client.get(f"/console/tickets/{ticket.number}/").content.decode()
    assert "Internal teammates add internal notes" in page


def test_staff_ticket_form_refuses_unknown_requesters(agent):
    response = client_for(agent).post(
        "/console/tickets/new/",
        {"requester": "nobody@nowhere.test", "subject": "x", "severity": "2", "description": "y"},
    )
    assert response.status_code == 400
    assert "No customer or community user has this address." in response.content.decode()


def test_customer_context_panel_shows_what_we_already_know(agent, contact, org):
    from supportdesk.organizations.models import Contract, ManagedInstance

    org.product_version = "5.9.3"
    org.notes = "Runs on EKS"
    org.save()
    Contract.objects.create(
        organization=org,
        reference="ACME-2026",
        starts_on=dt.date(2026, 1, 1),
        ends_on=dt.date(2030, 12, 31),
    )
    ManagedInstance.objects.create(organization=org, name="acme-prod", url="https://acme.example")
    previous = make_ticket(contact, subject="Older problem")
    ticket = make_ticket(contact)
    page = client_for(agent).get(f"/console/tickets/{ticket.number}/").content.decode()
    for fact in (
        "Enterprise",
        "Self-hosted",
        "5.9.3",
        "ACME-2026",
        "acme-prod",
        "Runs on EKS",
        "Older problem",
        f"#{previous.number}",
    ):
        assert fact in page, fact


def test_search_finds_numbers_subjects_people_and_message_text_with_snippets(agent, contact):
    ticket = make_ticket(
        contact,
        subject="Zoekt shards corrupted",
        description="The indexserver logs say checksum mismatch in shard 42",
    )
    services.ticket_reply_add(
        actor=contact, ticket=ticket, body="<script>alert(1)</script> more checksum trouble"
    )
    client = client_for(agent)
    assert (
        f"Ticket #{ticket.number}"
        in client.get(f"/console/search/?q=%23{ticket.number}").content.decode()
    )
    assert "Zoekt shards corrupted" in client.get("/console/search/?q=zoekt").content.decode()
    assert (
        "Zoekt shards corrupted"
        in client.get(f"/console/search/?q={contact.email}").content.decode()
    )
    page = client.get("/console/search/?q=checksum").content.decode()
    assert "<mark>checksum</mark>" in page
    assert "<script>alert(1)" not in page  # snippets are escaped (PostgreSQL may drop the tag)
    assert "Messages (2)" in page


def test_organization_pages_list_contracts_instances_people(agent, org, contact):
    make_ticket(contact)
    client = client_for(agent)
    assert "Acme" in client.get("/console/organizations/").content.decode()
    page = client.get(f"/console/organizations/{org.slug}/").content.decode()
    assert contact.email in page
    assert "acme.test" in page
    assert client.get("/console/organizations/nope/").status_code == 404
