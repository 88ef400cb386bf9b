"""Webhook subscriptions through the API: org admins for their organization, leads for all;
deliveries signed (verified with the documented receiver code), retried, logged and replayable."""

from __future__ import annotations

import json

import pytest

from supportdesk.api.tests.conftest import error_of
from supportdesk.core.testing import make_ticket
from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription
from supportdesk.webhooks.services import verify_signature
from supportdesk.webhooks.tests.test_webhooks import Receiver  # a real loopback HTTP server

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def test_an_org_admin_subscribes_and_receives_signed_events(
    api, org_admin, contact, outsider, receiver, after_commit
):
    client = api(org_admin)
    response = client.post(
        "/api/v1/webhooks/",
        {"url": receiver.url, "events": ["ticket.*", "message.created"], "description": "CRM"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert created["organization"]["slug"] == org_admin.organization.slug
    # The secret is shown once: reads never carry it.
    assert "secret" not in client.get(f"/api/v1/webhooks/{created['id']}/").json()
    assert secret not in client.get("/api/v1/webhooks/").content.decode()

    with after_commit():
        ticket = make_ticket(contact, subject="Search down")
        make_ticket(outsider, subject="Globex only")
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert verify_signature(secret, headers["supportdesk-signature"], request["body"])
    assert not verify_signature(secret, headers["supportdesk-signature"], request["body"] + b" ")
    event = json.loads(request["body"])
    assert event["type"] == "ticket.created"
    assert event["data"]["ticket"]["number"] == ticket.number

    log = client.get(f"/api/v1/webhooks/{created['id']}/deliveries/").json()["results"]
    assert [(d["event_type"], d["status"], d["attempts"]) for d in log] == [
        ("ticket.created", "succeeded", 1)
    ]


def test_failed_deliveries_are_retried_and_replayable(
    api, lead, org, contact, receiver, after_commit
):
    receiver.status = 503
    client = api(lead)
    subscription = client.post(
        "/api/v1/webhooks/",
        {"url": receiver.url, "events": ["*"], "organization": org.slug},
        content_type=JSON,
    ).json()
    with after_commit():
        make_ticket(contact)
    deliveries = f"/api/v1/webhooks/{subscription['id']}/deliveries/"
    [delivery] = client.get(deliveries).json()["results"]
    assert delivery["status"] == "pending"
    assert delivery["last_status_code"] == 503
    assert delivery["next_attempt_at"] > delivery["created_at"]  # backed off
    receiver.status = 200
    with after_commit():
        response = client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay/")
    assert response.status_code == 201
    replay = response.json()
    assert replay["replay_of"] == delivery["id"]
    assert replay["event_id"] == delivery["event_id"]
    assert WebhookDelivery.objects.get(pk=replay["id"]).status == "succeeded"
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]  # the same event


def test_disable_rotate_and_delete(api, org_admin, receiver):
    client = api(org_admin)
    created = client.post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["*"]}, content_type=JSON
    ).json()
    url = f"/api/v1/webhooks/{created['id']}/"
    disabled = client.patch(url, {"is_active": False}, content_type=JSON).json()
    assert disabled["is_active"] is False
    assert "secret" not in disabled
    rotated = client.patch(url, {"rotate_secret": True}, content_type=JSON).json()
    assert rotated["secret"] != created["secret"]
    assert WebhookSubscription.objects.get(pk=created["id"]).secret == rotated["secret"]
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_org_admins_see_only_their_own_and_cannot_subscribe_globally(
    api, org_admin, outsider_admin, lead, other_org, receiver
):
    theirs = WebhookSubscription.objects.create(
        url="https://globex.test/hook", organization=other_org, events=["*"]
    )
    client = api(org_admin)
    assert client.get(f"/api/v1/webhooks/{theirs.pk}/").status_code == 404
    assert client.delete(f"/api/v1/webhooks/{theirs.pk}/").status_code == 404
    assert client.get("/api/v1/webhooks/").json()["results"] == []
    # An org admin's subscription is always for their own organization, whatever they ask.
    mine = client.post(
        "/api/v1/webhooks/",
        {"url": receiver.url, "events": ["*"], "organization": other_org.slug},
        content_type=JSON,
    ).json()
    assert mine["organization"]["slug"] == org_admin.organization.slug
    # Leads make global ones; bad input names the field.
    global_sub = api(lead).post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["*"]}, content_type=JSON
    )
    assert global_sub.json()["organization"] is None
    bad = api(lead).post(
        "/api/v1/webhooks/", {"url": "ftp://x", "events": ["nope.*"]}, content_type=JSON
    )
    assert bad.status_code == 400
    assert set(error_of(bad)["fields"]) == {"url"}
    bad = api(lead).post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["nope"]}, content_type=JSON
    )
    assert "Unknown event type" in error_of(bad)["fields"]["events"][0]
    types = api(lead).get("/api/v1/webhooks/event-types/").json()
    assert {"type": "ticket.created", "description": "A ticket was opened"} in types
