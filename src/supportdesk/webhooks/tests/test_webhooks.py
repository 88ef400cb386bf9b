from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from supportdesk.conftest import client_for
from supportdesk.core.testing import make_ticket
from supportdesk.tickets import services as tickets
from supportdesk.webhooks import services
from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP server on loopback that records requests and answers what it is told."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def subscribe(url: str, org=None, events=("*",), fmt="supportdesk") -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        url=url, organization=org, events=list(events), format=fmt
    )


def test_ticket_events_reach_the_right_subscriptions_signed(
    receiver, org, other_org, contact, agent, after_commit
):
    mine = subscribe(receiver.url, org=org)
    subscribe(receiver.url + "?other", org=other_org)
    global_sub = subscribe(receiver.url + "?global", events=["ticket.*", "note.created"])
    with after_commit():
        ticket = make_ticket(contact)
        tickets.ticket_reply_add(
            actor=agent, ticket=ticket, body="Customer runs an unsupported version", internal=True
        )
        tickets.ticket_reply_add(
            actor=agent,
            ticket=ticket,
            status_part="On it",
            next_steps_part="x",
            expectations_part="y",
        )
    by_sub: dict[int, list[str]] = {}
    for d in WebhookDelivery.objects.order_by("created_at"):
        by_sub.setdefault(d.subscription_id, []).append(d.event_type)
    assert by_sub[mine.pk] == ["ticket.created", "message.created", "ticket.updated"]
    assert by_sub[global_sub.pk] == ["ticket.created", "note.created", "ticket.updated"]
    assert len(by_sub) == 2  # the other organization's subscription got nothing
    # Internal notes never reach an organization's subscription.
    org_payloads = json.dumps(
        [d.payload for d in WebhookDelivery.objects.filter(subscription=mine)]
    )
    assert "unsupported version" not in org_payloads
    # Delivered after commit (immediate task backend) to the real server, signed.
    assert len(receiver.requests) == 6
    assert all(d.status == "succeeded" for d in WebhookDelivery.objects.all())
    first = next(r for r in receiver.requests if b"ticket.created" in r["body"])
    signature = first["headers"]["Supportdesk-Signature"]
    secrets = {mine.secret, global_sub.secret}
    assert any(services.verify_signature(s, signature, first["body"]) for s in secrets)
    assert not services.verify_signature("whsec_wrong", signature, first["body"])
    payload = json.loads(first["body"])
    assert payload["type"] == "ticket.created"
    assert payload["data"]["ticket"]["number"] == ticket.number


def test_a_payload_is_built_only_for_an_event_a_subscription_wants(org):
    built: list[str] = []

    def payload() -> dict[str, Any]:
        built.append("built")
        return {"n": 1}

    assert services.webhook_event_emit(event_type="ticket.created", data=payload) == []
    subscribe("https://hooks.example.test/a", org=org, events=["ticket.updated"])
    assert services.webhook_event_emit(event_type="ticket.created", data=payload) == []
    assert built == []  # nobody wants it: not built
    subscribe("https://hooks.example.test/b", events=["ticket.created"])
    (delivery,) = services.webhook_event_emit(
        event_type="ticket.created", data=payload, organization=org
    )
    assert built == ["built"]
    assert delivery.payload["data"] == {"n": 1}


def test_signature_checks_reject_tampering_and_old_timestamps():
    body = b'{"a":1}'
    now = timezone.now()
    header = services.sign("s3cret", int(now.timestamp()), body)
    assert services.verify_signature("s3cret", header, body, now=now)
    assert not services.verify_signature("s3cret", header, b'{"a":2}', now=now)
    assert not services.verify_signature("s3cret", header, body, now=now + dt.timedelta(minutes=6))
    assert not services.verify_signature("s3cret", "garbage", body, now=now)


def test_failures_are_retried_with_backoff_and_given_up(receiver, org, contact, after_commit):
    receiver.status = 500
    subscribe(receiver.url, org=org, events=["ticket.created"])
    with after_commit():
        make_ticket(contact)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    when = delivery.next_attempt_at
    assert (when - delivery.created_at).total_seconds() == pytest.approx(30, abs=2)
    for _ in range(len(services.RETRY_DELAYS)):
        assert services.webhook_deliver(delivery.pk, now=when) is False
        delivery.refresh_from_db()
        when = delivery.next_attempt_at
    assert delivery.status == "failed"
    assert delivery.attempts == len(services.RETRY_DELAYS) + 1
    receiver.status = 200
    with after_commit():
        replay = services.webhook_delivery_replay(delivery=delivery)
    replay.refresh_from_db()
    assert replay.status == "succeeded"
    assert replay.event_id == delivery.event_id


def test_a_claimed_delivery_is_not_sent_twice(receiver, org, contact, after_commit):
    subscribe(receiver.url, org=org, events=["ticket.created"])
    receiver.status = 500
    with after_commit():
        make_ticket(contact)
    delivery = WebhookDelivery.objects.get()
    due = delivery.next_attempt_at
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="sending", claimed_until=due + dt.timedelta(seconds=60)
    )
    assert services.webhook_deliver(delivery.pk, now=due) is False
    assert len(receiver.requests) == 1
    # A worker that died mid-send: the redrive releases its claim after it expires.
    later = due + dt.timedelta(minutes=5)
    services.webhook_deliveries_redrive(now=later)
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    receiver.status = 200
    assert services.webhook_deliver(delivery.pk, now=later) is True
    assert len(receiver.requests) == 2


def test_slack_format_sends_text(receiver, org, contact, after_commit):
    subscribe(receiver.url, org=org, events=["ticket.created"], fmt="slack")
    with after_commit():
        ticket = make_ticket(contact, subject="Search is down")
    body = json.loads(receiver.requests[0]["body"])
    assert body == {"text": f"New ticket #{ticket.number}: Search is down"}


@override_settings(SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_private_destinations_are_refused_in_production(receiver, org, contact, after_commit):
    subscribe(receiver.url, org=org, events=["ticket.created"])
    with after_commit():
        make_ticket(contact)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert "non-public address 127.0.0.1" in delivery.last_error
    assert receiver.requests == []
    for url in ("ftp://example.com/x", "http://169.254.169.254/latest/meta-data"):
        with pytest.raises(services.DestinationRefused):
            services.check_destination(url)


def test_leads_manage_subscriptions_and_see_the_secret_once(
    lead, agent, org, receiver, contact, after_commit
):
    client = client_for(lead)
    response = client.post(
        "/console/webhooks/",
        {
            "url": receiver.url,
            "organization": str(org.pk),
            "events": ["ticket.created"],
            "format": "supportdesk",
            "description": "CRM sync",
        },
    )
    assert response.status_code == 302
    subscription = WebhookSubscription.objects.get()
    first = client.get(response.url).content.decode()
    assert subscription.secret in first
    assert subscription.secret not in client.get(response.url).content.decode()
    with after_commit():
        make_ticket(contact)
    delivery = WebhookDelivery.objects.get()
    assert "delivered" in client.get(response.url).content.decode()
    with after_commit():
        replayed = client.post(f"/console/webhooks/deliveries/{delivery.pk}/replay/")
    assert replayed.status_code == 302
    assert WebhookDelivery.objects.filter(replay_of=delivery).count() == 1
    bad = client.post(
        "/console/webhooks/", {"url": "notaurl", "events": ["nope"], "format": "supportdesk"}
    )
    assert bad.status_code == 400
    assert client_for(agent).get("/console/webhooks/").status_code == 404
