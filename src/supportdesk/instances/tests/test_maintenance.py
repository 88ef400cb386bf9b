"""Maintenance windows: the workflow, the promise, automatic start and end, exactly-once
notifications."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connection

from supportdesk.instances import maintenance as svc
from supportdesk.instances.models import (
    Incident,
    MaintenanceWindow,
    Monitor,
    MonitorStatus,
    WindowStatus,
)
from supportdesk.instances.tests.conftest import NOW
from supportdesk.notifications.models import Notification
from supportdesk.webhooks.events import EVENT_TYPES
from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


def propose(actor, instance, *, start=NOW + 48 * H, length=H, now=NOW, **kw) -> Any:
    return svc.maintenance_window_propose(
        actor=actor,
        instance=instance,
        title="Upgrade to 6.1",
        start=start,
        end=start + length,
        now=now,
        **kw,
    )


def kinds(user) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_an_agents_proposal_is_confirmed_by_the_org_admin_and_announced(
    agent, org_admin, contact, instance
):
    window = propose(agent, instance)
    assert window.status == WindowStatus.PROPOSED
    assert window.announced_at is None
    with pytest.raises(PermissionDenied, match="other side"):
        svc.maintenance_window_confirm(actor=agent, window=window, now=NOW + H)
    with pytest.raises(PermissionDenied):
        svc.maintenance_window_confirm(actor=contact, window=window, now=NOW + H)
    window = svc.maintenance_window_confirm(actor=org_admin, window=window, now=NOW + H)
    assert window.status == WindowStatus.SCHEDULED
    assert window.announced_at == NOW + H
    assert svc.verdict_of(window).compliant
    assert kinds(contact) == ["maintenance.proposed", "maintenance.scheduled"]


def test_an_org_admins_proposal_is_confirmed_by_an_agent(agent, org_admin, instance):
    window = propose(org_admin, instance)
    assert Notification.objects.filter(recipient=agent, kind="maintenance.proposed").exists()
    with pytest.raises(PermissionDenied):
        svc.maintenance_window_confirm(actor=org_admin, window=window, now=NOW)
    assert svc.maintenance_window_confirm(actor=agent, window=window, now=NOW).status == (
        WindowStatus.SCHEDULED
    )


def test_a_short_notice_window_is_refused_naming_the_earliest_compliant_start(agent, instance):
    start = NOW + 23 * H + dt.timedelta(minutes=59)
    with pytest.raises(ValidationError) as refused:
        propose(agent, instance, start=start)
    message = " ".join(refused.value.message_dict["start"])
    assert "only 23 h 59 min before its start" in message
    assert "The earliest compliant start for a 1 h window" in message
    assert "2026-10-06T09:00:00+00:00" in message
    assert "emergency" in message
    assert not MaintenanceWindow.objects.exists()


def test_a_window_of_2_h_01_min_can_never_be_compliant(org_admin, instance):
    with pytest.raises(ValidationError, match="can never be compliant"):
        propose(org_admin, instance, length=2 * H + dt.timedelta(minutes=1))


def test_emergency_needs_a_reason_and_staff_schedule_it_at_once(agent, contact, instance):
    with pytest.raises(ValidationError) as missing:
        propose(agent, instance, start=NOW + 2 * H, emergency=True)
    assert "emergency_reason" in missing.value.message_dict
    window = propose(
        agent, instance, start=NOW + 2 * H, emergency=True, emergency_reason="CVE-2026-1234"
    )
    assert window.status == WindowStatus.SCHEDULED
    assert window.announced_at == NOW
    verdict = svc.verdict_of(window)
    assert not verdict.compliant
    assert "emergency" in verdict.explain()
    assert kinds(contact) == ["maintenance.scheduled"]


def test_confirming_too_late_is_refused_and_a_reschedule_is_a_new_announcement(
    agent, org_admin, contact, instance
):
    window = propose(agent, instance, start=NOW + 25 * H)
    with pytest.raises(ValidationError, match="Reschedule it"):
        svc.maintenance_window_confirm(actor=org_admin, window=window, now=NOW + 2 * H)
    window = svc.maintenance_window_reschedule(
        actor=org_admin, window=window, start=NOW + 30 * H, end=NOW + 31 * H, now=NOW + 2 * H
    )
    assert window.status == WindowStatus.PROPOSED
    assert window.sequence == 1
    assert window.proposed_by == org_admin
    window = svc.maintenance_window_confirm(actor=agent, window=window, now=NOW + 3 * H)
    assert window.announced_at == NOW + 3 * H
    assert svc.verdict_of(window).compliant
    assert "maintenance.rescheduled" in kinds(contact)
    assert [e.kind for e in window.events.all()] == ["proposed", "rescheduled", "confirmed"]


def test_cancel_needs_a_reason_and_tells_everyone(agent, org_admin, contact, instance):
    window = propose(agent, instance)
    svc.maintenance_window_confirm(actor=org_admin, window=window, now=NOW)
    with pytest.raises(ValidationError):
        svc.maintenance_window_cancel(actor=org_admin, window=window, reason=" ", now=NOW)
    window = svc.maintenance_window_cancel(
        actor=org_admin, window=window, reason="Quarter-end freeze", now=NOW + H
    )
    assert window.status == WindowStatus.CANCELLED
    note = Notification.objects.get(recipient=contact, kind="maintenance.cancelled")
    assert "Quarter-end freeze" in note.body
    with pytest.raises(ValidationError):
        svc.maintenance_window_cancel(actor=agent, window=window, reason="again", now=NOW)


def scheduled(agent, org_admin, instance, **kw) -> Any:
    window = propose(agent, instance, **kw)
    return svc.maintenance_window_confirm(actor=org_admin, window=window, now=NOW)


def test_windows_remind_start_and_complete_on_their_own(agent, org_admin, contact, instance):
    window = scheduled(agent, org_admin, instance)
    start = window.start
    assert svc.maintenance_sweep(now=start - 25 * H)["reminder_24h"] == 0
    assert svc.maintenance_sweep(now=start - 24 * H)["reminder_24h"] == 1
    assert svc.maintenance_sweep(now=start - 23 * H)["reminder_24h"] == 0
    assert svc.maintenance_sweep(now=start - H + dt.timedelta(seconds=10))["reminder_1h"] == 1
    assert svc.maintenance_sweep(now=start)["started"] == 1
    window.refresh_from_db()
    assert window.status == WindowStatus.IN_PROGRESS
    Monitor.objects.filter(instance=instance).update(status=MonitorStatus.UP)
    assert svc.maintenance_sweep(now=window.end)["completed"] == 1
    window.refresh_from_db()
    assert window.status == WindowStatus.COMPLETED
    assert kinds(contact) == [
        "maintenance.completed",
        "maintenance.proposed",
        "maintenance.reminder_1h",
        "maintenance.reminder_24h",
        "maintenance.scheduled",
        "maintenance.started",
    ]


def test_a_window_still_down_at_its_end_overruns_and_opens_an_incident(
    agent, org_admin, contact, instance, after_commit
):
    WebhookSubscription.objects.create(
        url="http://127.0.0.1:9/hook", organization=instance.organization, events=["*"]
    )
    window = scheduled(agent, org_admin, instance)
    svc.maintenance_sweep(now=window.start)
    Monitor.objects.filter(instance=instance).update(status=MonitorStatus.MAINTENANCE)
    with after_commit():
        assert svc.maintenance_sweep(now=window.end + dt.timedelta(seconds=20))["overrun"] == 1
    window.refresh_from_db()
    assert window.status == WindowStatus.OVERRUNNING
    incident = Incident.objects.get()
    assert incident.kind == Incident.Kind.OVERRUN
    assert incident.maintenance_window == window
    assert incident.started_at == window.end
    assert incident.ticket.severity == 1
    assert incident.ticket.requester == org_admin
    assert "maintenance.overrun" in kinds(contact)
    assert "incident.created" in kinds(contact)
    svc.maintenance_window_complete(actor=agent, window=window, now=window.end + H)
    window.refresh_from_db()
    assert window.status == WindowStatus.COMPLETED
    emitted = set(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert {"maintenance.overrun", "incident.created", "maintenance.completed"} <= emitted
    assert emitted <= set(EVENT_TYPES), "list new event types in webhooks/events.py"
    assert "overran its scheduled end by 1 h" in (
        Notification.objects.get(recipient=contact, kind="maintenance.completed").body
    )


def test_unconfirmed_proposals_lapse_at_their_start(agent, contact, instance):
    window = propose(agent, instance)
    assert svc.maintenance_sweep(now=window.start)["expired"] == 1
    window.refresh_from_db()
    assert window.status == WindowStatus.CANCELLED
    assert "not confirmed" in window.cancel_reason


def sweep_retrying(moment) -> Any:
    """SQLite's shared in-memory test database reports a concurrent writer at once ("table is
    locked") where a real database file waits (busy timeout): retry like the scheduler would.
    A failed sweep rolled back, and sweeps are safe to run twice."""
    for _ in range(200):
        try:
            return svc.maintenance_sweep(now=moment)
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            time.sleep(0.01)
    raise AssertionError("the database stayed locked")


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_notify_exactly_once(agent, org_admin, contact, instance):
    WebhookSubscription.objects.create(
        url="http://127.0.0.1:9/hook", organization=instance.organization, events=["*"]
    )
    window = scheduled(agent, org_admin, instance)
    moments = [
        window.start - 24 * H,
        window.start - H + dt.timedelta(seconds=5),
        window.start,
        window.end,
    ]
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def worker():
        try:
            for moment in moments:
                barrier.wait()
                sweep_retrying(moment)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [e for e in errors if not isinstance(e, threading.BrokenBarrierError)], errors
    for person in (contact, org_admin):
        for kind in ("reminder_24h", "reminder_1h", "started", "completed"):
            assert (
                Notification.objects.filter(recipient=person, kind=f"maintenance.{kind}").count()
                == 1
            ), kind
    for event in ("maintenance.reminder", "maintenance.started", "maintenance.completed"):
        expected = 2 if event == "maintenance.reminder" else 1
        assert WebhookDelivery.objects.filter(event_type=event).count() == expected, event
