"""Who sees what. Every URL of the console and the portal is tried by every customer role against
another organization's objects: the answer is always 404, never 403, never the data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from supportdesk.accounts.models import Role, User
from supportdesk.conftest import client_for
from supportdesk.core.testing import make_ticket, make_user
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


def url_patterns(
    resolver: URLResolver | None = None, prefix: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


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


# Routes whose parameters are not tenant objects (they carry their own signed proof).
NOT_TENANT_ROUTES = {
    "password-reset/<uidb64>/<token>/",
    # The private status page and feeds: the secret token is the proof (instances/tests).
    "status/<slug:token>/",
    "status/<slug:token>/maintenance.ics",
    "status/<slug:token>/feed.atom",
}


def _foreign_objects(outsider: User) -> dict[str, str]:
    from supportdesk.notifications.services import notify
    from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription

    subscription = WebhookSubscription.objects.create(
        url="http://127.0.0.1:9/globex data", organization=outsider.organization, events=["*"]
    )
    ticket = make_ticket(outsider, attachments=[UploadedAttachment("dump.txt", b"globex data")])
    notification = notify(recipient=outsider, kind="x", title="globex data", email=False)
    from supportdesk.instances.models import Incident, MaintenanceWindow
    from supportdesk.organizations.models import ManagedInstance

    foreign_org = outsider.organization
    assert foreign_org is not None
    instance = ManagedInstance.objects.create(
        organization=foreign_org, name="globex-data", url="http://127.0.0.1:9/"
    )
    start = timezone.now() + dt.timedelta(days=2)
    window = MaintenanceWindow.objects.create(
        organization=foreign_org,
        instance=instance,
        title="globex data",
        start=start,
        end=start + dt.timedelta(hours=1),
    )
    incident = Incident.objects.create(
        organization=foreign_org,
        instance=instance,
        kind=Incident.Kind.OUTAGE,
        title="globex data",
        started_at=timezone.now(),
    )
    return {
        "name": instance.name,
        "window_id": str(window.pk),
        "incident_id": str(incident.pk),
        "action": "confirm",
        "number": str(ticket.number),
        "attachment_id": str(ticket.attachments.get().id),
        "slug": outsider.organization.slug,
        "notification_id": str(notification.pk),
        "subscription_id": str(subscription.pk),
        "delivery_id": str(WebhookDelivery.objects.filter(subscription=subscription).first().pk),
        **_sla_objects(),
    }


def _sla_objects() -> dict[str, str]:
    """SLA configuration is staff-only: customers get 404 for every calendar, policy, shift."""
    from supportdesk.slas.models import Calendar, OnCallShift, SlaPolicy

    agent = make_user(Role.AGENT)
    now = dt.datetime.now(dt.UTC)
    shift = OnCallShift.objects.create(user=agent, starts_at=now, ends_at=now + dt.timedelta(1))
    return {
        "calendar_id": str(Calendar.objects.first().pk),
        "policy_id": str(SlaPolicy.objects.first().pk),
        "shift_id": str(shift.pk),
    }


def test_every_page_denies_other_organizations_objects_to_every_customer_role(
    contact, org_admin, community, outsider
):
    values = _foreign_objects(outsider)
    checked = 0
    for route, pattern in url_patterns():
        params = list(pattern.pattern.converters)
        if not params or route in NOT_TENANT_ROUTES:
            continue
        missing = [p for p in params if p not in values]
        assert not missing, f"{route}: add a value for {missing} to this access test"
        path = "/" + route
        for name in params:
            path = (
                path.replace(f"<int:{name}>", values[name])
                .replace(f"<uuid:{name}>", values[name])
                .replace(f"<slug:{name}>", values[name])
            )
        for user in (contact, org_admin, community):
            client = client_for(user)
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                assert response.status_code in (404, 405), (
                    f"{method.upper()} {path} as {user.role}: {response.status_code}"
                )
                assert b"globex data" not in response.content
                checked += 1
    assert checked >= 30


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
