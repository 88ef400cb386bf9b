from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from supportdesk.conftest import client_for
from supportdesk.core.testing import run_concurrently
from supportdesk.notifications.models import Notification
from supportdesk.notifications.services import (
    notification_email_send,
    notifications_redrive,
    notify,
)

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


@pytest.mark.django_db
def test_a_notification_is_shown_and_emailed_once_with_automatic_headers(agent, after_commit):
    with after_commit():
        n = notify(
            recipient=agent,
            kind="ticket.assigned",
            title="You were assigned #1001",
            body="Sev 1 from Acme",
            url="/console/tickets/1001/",
            dedupe_key="assign:1001:1",
        )
    assert n is not None
    assert (
        notify(recipient=agent, kind="ticket.assigned", title="again", dedupe_key="assign:1001:1")
        is None
    )
    assert Notification.objects.count() == 1
    # The immediate task backend has sent it already.
    n.refresh_from_db()
    assert n.email_status == "sent"
    [message] = mail.outbox
    assert message.to == [agent.email]
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "http://testserver/console/tickets/1001/" in message.body
    assert notification_email_send(n.pk) is False  # safe to run twice
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_quiet_hours_hold_the_email_until_the_redrive_after_they_end(agent):
    later = timezone.now() + dt.timedelta(hours=8)
    n = notify(recipient=agent, kind="sla.warning", title="Due soon", deliver_after=later)
    assert mail.outbox == []
    assert notifications_redrive() == 0
    assert notifications_redrive(now=later + dt.timedelta(seconds=1)) == 1
    # The task ran at real "now", before deliver_after: still held. Send as of later:
    assert notification_email_send(n.pk, now=later + dt.timedelta(seconds=1))
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@override_settings(
    EMAIL_BACKEND="supportdesk.notifications.tests.test_notifications.FailingBackend"
)
def test_failed_emails_are_retried_with_backoff_then_given_up(agent):
    n = notify(recipient=agent, kind="x", title="t", now=NOW, deliver_after=NOW)
    # The enqueue at commit ran at real time; drive it by hand from NOW.
    Notification.objects.filter(pk=n.pk).update(
        email_attempts=0, email_status="pending", deliver_after=NOW
    )
    when = NOW
    for _ in range(6):
        assert notification_email_send(n.pk, now=when) is False
        n.refresh_from_db()
        when = n.deliver_after
    assert n.email_status == "failed"
    assert n.email_attempts == 6
    assert "smtp down" in n.last_error


@pytest.mark.django_db
def test_nothing_is_emailed_to_an_address_that_bounced(agent):
    agent.email_disabled_reason = "550 5.1.1 user unknown"
    agent.save()
    n = notify(recipient=agent, kind="x", title="t")
    assert n.email_status == "skipped"
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_racing_workers_create_one_notification(agent):
    results = run_concurrently(
        lambda: notify(
            recipient=agent,
            kind="sla.breach",
            title="Breached",
            dedupe_key="breach:7:resolution:1",
            email=False,
        )
    )
    assert len(results) == 4
    assert sum(r is not None for r in results) == 1
    assert Notification.objects.filter(dedupe_key="breach:7:resolution:1").count() == 1


@pytest.mark.django_db
def test_inbox_shows_only_your_own_and_opening_marks_read(agent, lead, contact):
    mine = notify(recipient=agent, kind="x", title="For the agent", url="/console/", email=False)
    theirs = notify(recipient=lead, kind="x", title="For the lead", email=False)
    client = client_for(agent)
    page = client.get("/notifications/").content.decode()
    assert "For the agent" in page
    assert "For the lead" not in page
    assert 'Notifications<span class="count">1</span>' in client.get("/console/").content.decode()
    assert client.post(f"/notifications/{theirs.pk}/open/").status_code == 404
    response = client.post(f"/notifications/{mine.pk}/open/")
    assert response.url == "/console/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    notify(recipient=contact, kind="maintenance.scheduled", title="Maintenance Tue", email=False)
    assert "Maintenance Tue" in client_for(contact).get("/notifications/").content.decode()
