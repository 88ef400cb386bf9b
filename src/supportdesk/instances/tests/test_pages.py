"""Pages, the private status page, and the feeds (validated with icalendar and feedparser)."""

from __future__ import annotations

import datetime as dt

import feedparser
import icalendar
import pytest
from django.test import Client
from django.utils import timezone

from supportdesk.conftest import client_for
from supportdesk.instances import maintenance as svc
from supportdesk.instances.reports import availability_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def windows(agent, org_admin, instance):
    now = timezone.now()
    start = (now + dt.timedelta(days=3)).replace(microsecond=0)
    scheduled = svc.maintenance_window_propose(
        actor=agent,
        instance=instance,
        title="Upgrade; then reindex, carefully",
        description="Line one\nLine two with a long text " + "x" * 120,
        start=start,
        end=start + dt.timedelta(hours=1),
    )
    svc.maintenance_window_confirm(actor=org_admin, window=scheduled)
    emergency = svc.maintenance_window_propose(
        actor=agent,
        instance=instance,
        title="Security patch",
        start=now + dt.timedelta(hours=2),
        end=now + dt.timedelta(hours=3),
        emergency=True,
        emergency_reason="CVE fix",
    )
    return scheduled, emergency


def test_the_ical_feed_is_valid_rfc_5545(instance, windows):
    token = availability_settings(instance.organization).status_token
    response = Client().get(f"/status/{token}/maintenance.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    calendar = icalendar.Calendar.from_ical(body)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 2
    by_summary = {str(e["SUMMARY"]): e for e in events}
    upgrade = by_summary["acme-prod: Upgrade; then reindex, carefully"]
    assert upgrade["DTSTART"].dt == windows[0].start
    assert upgrade["STATUS"] == "CONFIRMED"
    assert "Line two" in str(upgrade["DESCRIPTION"])
    assert "Compliant" in str(upgrade["DESCRIPTION"])
    assert str(by_summary["acme-prod: Security patch"]["CATEGORIES"].cats[0]).startswith("EMERG")


def test_the_atom_feed_is_valid(instance, windows):
    token = availability_settings(instance.organization).status_token
    response = Client().get(f"/status/{token}/feed.atom")
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    titles = [e.title for e in parsed.entries]
    assert any("Security patch" in t for t in titles)
    assert all(e.id.startswith("tag:supportdesk") for e in parsed.entries)


def test_the_status_page_opens_with_its_token_only(instance, windows):
    token = availability_settings(instance.organization).status_token
    page = Client().get(f"/status/{token}/")
    assert page.status_code == 200
    assert b"acme-prod" in page.content
    assert b"Security patch" in page.content
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), "short", "x" * 32):
        for suffix in ("", "maintenance.ics", "feed.atom"):
            assert Client().get(f"/status/{wrong}/{suffix}").status_code == 404


def test_rotating_the_status_link_retires_the_old_one(org_admin, contact, instance):
    old = availability_settings(instance.organization).status_token
    assert client_for(contact).post("/portal/instances/status-link/").status_code == 404
    response = client_for(org_admin).post("/portal/instances/status-link/")
    assert response.status_code == 302
    assert Client().get(f"/status/{old}/").status_code == 404
    new = availability_settings(instance.organization).status_token
    assert Client().get(f"/status/{new}/").status_code == 200


def test_console_and_portal_pages_render(agent, lead, org_admin, contact, instance, windows):
    scheduled, _ = windows
    for url in (
        "/console/instances/",
        "/console/instances/acme-prod/",
        f"/console/maintenance/{scheduled.pk}/",
        f"/console/organizations/{instance.organization.slug}/availability/?period=30d",
        f"/console/organizations/{instance.organization.slug}/availability/?period=2026-Q4",
    ):
        assert client_for(agent).get(url).status_code == 200, url
    for user in (org_admin, contact):
        for url in (
            "/portal/instances/",
            "/portal/instances/acme-prod/",
            f"/portal/maintenance/{scheduled.pk}/",
            "/portal/availability/?period=30d",
        ):
            assert client_for(user).get(url).status_code == 200, url
    report = client_for(org_admin).get("/portal/availability/?period=30d&format=csv")
    assert report["Content-Type"].startswith("text/csv")
    header, *rows = report.content.decode().splitlines()
    assert header.startswith("organization,instance,period")
    assert [r.split(",")[1] for r in rows] == ["acme-prod", "(all)"]
    printable = client_for(org_admin).get("/portal/availability/?period=30d&print=1")
    assert b"data-print" in printable.content
    assert b'name="period"' not in printable.content
    assert b"portal-body printable" in printable.content
    bad_period = client_for(org_admin).get("/portal/availability/?period=2026-13")
    assert b"month must be 01 to 12" in bad_period.content


def test_contacts_read_but_only_org_admins_manage_maintenance(agent, org_admin, contact, instance):
    start = timezone.now() + dt.timedelta(days=2)
    form = {
        "instance": instance.pk,
        "title": "Upgrade",
        "start": start.astimezone(contact.tzinfo).strftime("%Y-%m-%dT%H:%M"),
        "end": (start + dt.timedelta(hours=1))
        .astimezone(contact.tzinfo)
        .strftime("%Y-%m-%dT%H:%M"),
    }
    assert client_for(contact).post("/portal/maintenance/new/", form).status_code == 404
    response = client_for(org_admin).post("/portal/maintenance/new/", form)
    assert response.status_code == 302
    window_id = int(response.url.rstrip("/").rsplit("/", 1)[1])
    assert client_for(contact).post(f"/portal/maintenance/{window_id}/cancel/").status_code == 404
    # The proposer cannot confirm their own proposal; the page says who must.
    page = client_for(org_admin).post(f"/portal/maintenance/{window_id}/confirm/")
    assert page.status_code == 400
    assert b"waiting for our support team" in page.content
    assert client_for(agent).post(f"/console/maintenance/{window_id}/confirm/").status_code == 302


def test_a_short_notice_proposal_in_the_portal_shows_the_earliest_compliant_start(
    org_admin, instance
):
    start = timezone.now() + dt.timedelta(hours=3)
    tz = org_admin.tzinfo
    response = client_for(org_admin).post(
        "/portal/maintenance/new/",
        {
            "instance": instance.pk,
            "title": "Upgrade",
            "start": start.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
            "end": (start + dt.timedelta(hours=1)).astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 400
    assert b"The earliest compliant start for a 1 h window" in response.content


def test_the_ticket_page_shows_instance_health_and_open_maintenance(
    agent, contact, instance, windows
):
    from supportdesk.core.testing import make_ticket

    ticket = make_ticket(contact)
    page = client_for(agent).get(f"/console/tickets/{ticket.number}/").content.decode()
    assert "/console/instances/acme-prod/" in page
    assert "Open maintenance" in page
    assert "Security patch" in page


def test_status_pages_cost_a_fixed_number_of_queries_per_instance(
    org_admin, instance, django_assert_max_num_queries
):
    from supportdesk.instances.models import Monitor
    from supportdesk.organizations.models import ManagedInstance

    token = availability_settings(instance.organization).status_token
    client = client_for(org_admin)
    client.get("/portal/instances/")  # warm the session and settings rows
    with django_assert_max_num_queries(15) as one:
        client.get("/portal/instances/")
    for n in range(4):
        extra = ManagedInstance.objects.create(
            organization=instance.organization, name=f"acme-extra-{n}", url="https://x.test"
        )
        Monitor.objects.create(instance=extra)
    # Each instance costs a few queries (its monitor, locations, runs, windows): 4 today.
    with django_assert_max_num_queries(len(one.captured_queries) + 4 * 5):
        client.get("/portal/instances/")
    with django_assert_max_num_queries(len(one.captured_queries) + 4 * 5):
        Client().get(f"/status/{token}/")
