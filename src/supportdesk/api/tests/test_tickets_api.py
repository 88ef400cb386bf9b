"""Tickets, messages and attachments through the API: the same services and access rules as the
console and portal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone

from supportdesk.api.tests.conftest import error_of
from supportdesk.conftest import client_for
from supportdesk.core.testing import make_ticket
from supportdesk.tickets import services
from supportdesk.tickets.models import Attachment, Ticket, TicketEvent

pytestmark = pytest.mark.django_db
JSON = "application/json"


def all_pages(client: Client, url: str) -> list[dict[str, Any]]:
    results, pages = [], 0
    while url:
        body = client.get(url).json()
        results += body["results"]
        url = body["next"]
        pages += 1
        assert pages < 100
    return results


def test_customers_list_only_what_they_may_see_with_cursor_pages(
    api, contact, colleague, org_admin, outsider, agent
):
    mine = [make_ticket(contact, subject=f"Mine {i}") for i in range(5)]
    theirs = make_ticket(colleague)
    make_ticket(outsider, subject="Globex private")
    listed = all_pages(api(contact), "/api/v1/tickets/?page_size=2")
    assert [t["number"] for t in listed] == [t.number for t in reversed(mine)]
    admin_listed = {t["number"] for t in all_pages(api(org_admin), "/api/v1/tickets/")}
    assert admin_listed == {t.number for t in [*mine, theirs]}
    assert len(all_pages(api(agent), "/api/v1/tickets/?page_size=3")) == 7
    assert "Globex" not in api(contact).get("/api/v1/tickets/?page_size=100").content.decode()


def test_list_filters_and_their_errors(api, contact, agent):
    sev1 = make_ticket(contact, severity=1)
    other = make_ticket(contact)
    services.ticket_update(actor=agent, ticket=other, assignee=agent, status="waiting_on_customer")
    client = api(agent)

    def numbers(query: str) -> list[int]:
        response = client.get(f"/api/v1/tickets/?{query}")
        assert response.status_code == 200, response.content
        return [t["number"] for t in response.json()["results"]]

    assert numbers("severity=1") == [sev1.number]
    assert numbers("assignee=me") == [other.number]
    assert numbers("assignee=none") == [sev1.number]
    assert numbers("status=new,waiting_on_customer") == [other.number, sev1.number]
    assert numbers("status=waiting_on_customer&open=true") == [other.number]
    assert numbers("ordering=created_at") == [sev1.number, other.number]
    assert numbers(f"requester={contact.email}&organization={contact.organization.slug}")
    later = (timezone.now() + dt.timedelta(hours=1)).isoformat().replace("+", "%2B")
    assert numbers(f"updated_after={later}") == []
    response = client.get("/api/v1/tickets/?severity=9&assignee=bob&status=lost")
    error = error_of(response)
    assert response.status_code == 400
    assert set(error["fields"]) == {"severity", "assignee", "status"}
    response = client.get("/api/v1/tickets/?cursor=garbage")
    assert response.status_code == 404
    assert "cursor" in error_of(response)["message"]


def test_list_query_count_does_not_grow_with_the_page(
    api, contact, agent, django_assert_max_num_queries
):
    for _ in range(30):
        make_ticket(contact)
    client = api(agent)
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/tickets/?page_size=100")
    assert len(response.json()["results"]) == 30


def test_customers_open_tickets_for_themselves_and_errors_name_the_field(
    api, contact, colleague, agent
):
    client = api(contact)
    response = client.post(
        "/api/v1/tickets/",
        {"subject": "Search is slow", "description": "Since 5.2", "severity": 1},
        content_type=JSON,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["requester"]["email"] == contact.email
    assert body["organization"]["slug"] == contact.organization.slug
    assert body["channel"] == "api"
    assert response["Location"] == f"/api/v1/tickets/{body['number']}/"
    assert response["ETag"] == '"1"'
    # A customer cannot open a ticket for someone else, or backdate it.
    response = client.post(
        "/api/v1/tickets/",
        {"subject": "x", "description": "y", "reported_at": "2026-01-01T00:00:00Z"},
        content_type=JSON,
    )
    assert response.status_code == 403
    assert "reported-at" in error_of(response)["message"]
    response = client.post(
        "/api/v1/tickets/",
        {"subject": "x", "description": "y", "requester": colleague.email},
        content_type=JSON,
    )
    assert response.status_code == 403
    assert error_of(response)["message"] == "Customers open tickets for themselves."
    response = client.post(
        "/api/v1/tickets/", {"subject": "x", "description": "y", "tags": ["vip"]}, content_type=JSON
    )
    assert error_of(response)["fields"] == {"tags": ["Only staff tag tickets."]}
    # Validation errors name the field, from the serializer and from the service alike.
    response = client.post("/api/v1/tickets/", {"description": "  "}, content_type=JSON)
    assert set(error_of(response)["fields"]) == {"subject", "description"}
    response = client.post(
        "/api/v1/tickets/",
        {"subject": "   ", "description": "y"},
        content_type=JSON,
    )
    assert error_of(response)["fields"] == {"subject": ["A ticket needs a subject."]}
    response = client.post(
        "/api/v1/tickets/",
        {"subject": "x", "description": "y", "ccs": ["eve@globex.test"]},
        content_type=JSON,
    )
    assert response.status_code == 400
    assert "ccs" in error_of(response)["fields"]
    response = client.post("/api/v1/tickets/", "{not json", content_type=JSON)
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"
    response = client.post("/api/v1/tickets/", "subject=x", content_type="text/plain")
    assert response.status_code == 415


def test_staff_open_tickets_for_a_requester_with_an_earlier_reported_at(api, agent, contact):
    reported = timezone.now() - dt.timedelta(hours=3)
    response = api(agent).post(
        "/api/v1/tickets/",
        {
            "subject": "Called in: SSO broken",
            "description": "Customer phoned",
            "requester": contact.email.upper(),
            "reported_at": reported.isoformat(),
            "tags": ["sso", "phone"],
        },
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(number=response.json()["number"])
    assert ticket.requester == contact
    assert abs(ticket.reported_at - reported) < dt.timedelta(seconds=1)
    assert sorted(response.json()["tags"]) == ["phone", "sso"]
    response = api(agent).post(
        "/api/v1/tickets/",
        {"subject": "x", "description": "y", "requester": "nobody@acme.test"},
        content_type=JSON,
    )
    assert error_of(response)["fields"] == {"requester": ["No user has that email address."]}


def test_updates_need_if_match_and_a_stale_one_changes_nothing(api, agent, lead, contact):
    ticket = make_ticket(contact)
    url = f"/api/v1/tickets/{ticket.number}/"
    alice, bob = api(agent), api(lead)
    etag = alice.get(url)["ETag"]
    assert bob.get(url)["ETag"] == etag
    response = alice.patch(url, {"severity": 1}, content_type=JSON)
    assert response.status_code == 428
    assert "If-Match" in error_of(response)["message"]
    response = alice.patch(
        url,
        {"severity": 1, "assignee": agent.pk, "tags": ["db"]},
        content_type=JSON,
        HTTP_IF_MATCH=etag,
    )
    assert response.status_code == 200, response.content
    assert response.json()["severity"] == 1
    assert response.json()["assignee"]["id"] == agent.pk
    new_etag = response["ETag"]
    assert new_etag != etag
    # Bob still holds the old ETag: 412, the current ETag, and nothing changed.
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    response = bob.patch(
        url, {"status": "solved", "resolution_kind": "fix"}, content_type=JSON, HTTP_IF_MATCH=etag
    )
    assert response.status_code == 412
    assert error_of(response)["code"] == "stale"
    assert response["ETag"] == new_etag
    ticket.refresh_from_db()
    assert ticket.status == "new"
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before
    # With the fresh ETag it applies; garbage If-Match is stale too; * overwrites.
    response = bob.patch(
        url,
        {"status": "solved", "resolution_kind": "fix"},
        content_type=JSON,
        HTTP_IF_MATCH=new_etag,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "solved"
    assert (
        bob.patch(url, {"severity": 2}, content_type=JSON, HTTP_IF_MATCH="nope").status_code == 412
    )
    assert bob.patch(url, {"severity": 2}, content_type=JSON, HTTP_IF_MATCH="*").status_code == 200
    # Service rules still apply: a solved status needs a resolution kind.
    fresh = make_ticket(contact)
    response = bob.patch(
        f"/api/v1/tickets/{fresh.number}/",
        {"status": "solved"},
        content_type=JSON,
        HTTP_IF_MATCH='"1"',
    )
    assert error_of(response)["fields"].keys() == {"resolution_kind"}
    response = bob.patch(
        f"/api/v1/tickets/{fresh.number}/",
        {"reported_at": (timezone.now() + dt.timedelta(days=1)).isoformat()},
        content_type=JSON,
        HTTP_IF_MATCH='"1"',
    )
    assert "reported_at" in error_of(response)["fields"]


def test_replies_have_three_parts_and_internal_notes_stay_with_staff(api, agent, internal, contact):
    ticket = make_ticket(contact)
    url = f"/api/v1/tickets/{ticket.number}/messages/"
    response = api(agent).post(
        url,
        {
            "body": "Thanks for the logs.",
            "status": "We reproduced it.",
            "next_steps": "Engineering is fixing it.",
            "expectations": "Next update by Friday 12:00 PT.",
        },
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    reply = response.json()
    assert reply["status"] == "We reproduced it."
    assert "<h4>Next steps</h4>" in reply["body_html"]
    note = api(internal).post(
        url, {"kind": "note", "body": "Customer is on an old version"}, content_type=JSON
    )
    assert note.status_code == 201
    note_id = note.json()["id"]
    # Customers: not in the list, not by id, not as a webhook-visible message, cannot add one.
    customer = api(contact)
    listed = customer.get(url).json()["results"]
    assert [m["kind"] for m in listed] == ["reply", "reply"]
    assert "old version" not in customer.get(url).content.decode()
    assert customer.get(f"{url}{note_id}/").status_code == 404
    assert "old version" not in customer.get(f"/api/v1/tickets/{ticket.number}/").content.decode()
    response = customer.post(url, {"kind": "note", "body": "x"}, content_type=JSON)
    assert response.status_code == 403
    assert "Only staff add internal notes" in error_of(response)["message"]
    # Staff see both.
    assert [m["kind"] for m in api(agent).get(url).json()["results"]] == ["reply", "reply", "note"]
    # A customer's reply reopens a ticket that waits on them.
    services.ticket_update(actor=agent, ticket=ticket, status="waiting_on_customer")
    assert customer.post(url, {"body": "Here you go"}, content_type=JSON).status_code == 201
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert error_of(customer.post(url, {"body": ""}, content_type=JSON))["fields"] == {
        "body": ["Write a message."]
    }


def test_attachments_upload_as_multipart_and_download_through_the_access_check(
    api, contact, outsider, agent
):
    ticket = make_ticket(contact)
    client = api(contact)
    response = client.post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {
            "body": "Logs attached",
            "attachments": [
                SimpleUploadedFile("../../etc/passwd", b"root:x:0:0", "text/html"),
                SimpleUploadedFile("report.pdf", b"%PDF-1.4 fake", "application/pdf"),
            ],
        },
    )
    assert response.status_code == 201, response.content
    files = response.json()["attachments"]
    assert [f["filename"] for f in files] == ["passwd", "report.pdf"]
    # The content type is sniffed, never what the uploader claimed.
    assert files[0]["content_type"] == "text/plain"
    stored = Attachment.objects.get(pk=files[0]["id"])
    stored_name = str(stored.file.name)
    assert ".." not in stored_name
    assert "passwd" not in stored_name
    download = client.get(files[0]["download_url"])
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="passwd"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == b"root:x:0:0"
    listed = client.get(f"/api/v1/tickets/{ticket.number}/attachments/").json()["results"]
    assert len(listed) == 3 - 1  # the two uploads (make_ticket attached none)
    # Another organization: 404, in JSON, for the metadata and the bytes.
    for url in (files[0]["download_url"], f"/api/v1/attachments/{files[0]['id']}/"):
        response = api(outsider).get(url)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    # Traversal in the URL never reaches a file: the id is a UUID or nothing.
    for path in (
        "/api/v1/attachments/..%2F..%2Fetc%2Fpasswd/download/",
        "/api/v1/attachments/../../settings/download/",
    ):
        response = client.get(path)
        assert response.status_code == 404
    assert api(agent).get(files[1]["download_url"]).status_code == 200


@override_settings(SUPPORTDESK_ATTACHMENT_MAX_BYTES=1000)
def test_oversized_uploads_are_refused_with_a_clear_error(api, contact):
    ticket = make_ticket(contact)
    client = api(contact)
    response = client.post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {"body": "big", "attachments": [SimpleUploadedFile("core.dump", b"x" * 1001)]},
    )
    assert response.status_code == 400
    assert error_of(response)["fields"] == {
        "attachments": ["core.dump is 1,001 bytes; the limit is 1,000 bytes."]
    }
    assert not Attachment.objects.filter(ticket=ticket).exists()
    # A body larger than ten files' worth is refused before it is read.
    response = client.post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {"body": "huge", "attachments": [SimpleUploadedFile("huge.bin", b"x" * 2_000_000)]},
    )
    assert response.status_code == 413
    assert "limited to 10 files of at most 1,000 bytes each" in error_of(response)["message"]
    response = client.post(
        "/api/v1/tickets/", {"subject": "x", "description": "y" * 1_100_000}, content_type=JSON
    )
    assert response.status_code == 413


def test_session_auth_needs_the_csrf_token_for_changes(contact):
    client = Client(enforce_csrf_checks=True)
    client.force_login(contact)
    assert client.get("/api/v1/me/").status_code == 200
    response = client.post(
        "/api/v1/tickets/", {"subject": "x", "description": "y"}, content_type=JSON
    )
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]
    client.get("/settings/tokens/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/tickets/",
        {"subject": "x", "description": "y"},
        content_type=JSON,
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201


def test_staff_read_organizations_and_people_and_leads_change_roles(api, agent, lead, contact, org):
    client = api(agent)
    orgs = client.get("/api/v1/organizations/").json()["results"]
    assert [o["slug"] for o in orgs] == [org.slug]
    assert client.get(f"/api/v1/organizations/{org.slug}/").json()["email_domains"] == ["acme.test"]
    people = client.get(f"/api/v1/users/?organization={org.slug}").json()["results"]
    assert [p["email"] for p in people] == [contact.email]
    response = client.patch(
        f"/api/v1/users/{contact.pk}/", {"role": "org_admin"}, content_type=JSON
    )
    assert response.status_code == 403  # agents' tokens cannot hold the admin scope
    leader = api(lead)
    response = leader.patch(
        f"/api/v1/users/{contact.pk}/", {"role": "org_admin"}, content_type=JSON
    )
    assert response.status_code == 200
    assert response.json()["role"] == "org_admin"
    response = leader.patch(f"/api/v1/users/{contact.pk}/", {"role": "agent"}, content_type=JSON)
    assert response.status_code == 400
    assert "separate" in error_of(response)["fields"]["role"][0]
    response = leader.patch(f"/api/v1/users/{lead.pk}/", {"role": "agent"}, content_type=JSON)
    assert response.status_code == 403
    from supportdesk.accounts.models import SecurityEvent

    event = SecurityEvent.objects.get(kind="role_changed", user=contact)
    assert event.actor == lead
    assert event.detail["from"] == "contact"
    assert event.detail["to"] == "org_admin"
    assert api(contact).get("/api/v1/organizations/").status_code == 404


def test_me_says_who_and_which_token(api, contact):
    body = api(contact, ["read"]).get("/api/v1/me/").json()
    assert body["email"] == contact.email
    assert body["organization"]["slug"] == contact.organization.slug
    assert body["token"]["scopes"] == ["read"]
    assert client_for(contact).get("/api/v1/me/").json()["token"] is None
