"""Background work for real: two workers sweeping at once (committed transactions, both
databases), and an SLA task enqueued through Redis and run by an RQ worker."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import redis
from django.db import OperationalError, connection
from django.test import override_settings

from supportdesk.accounts.models import Role
from supportdesk.core.testing import make_org, make_ticket, make_user
from supportdesk.notifications.models import Notification
from supportdesk.organizations.models import Deployment, Plan
from supportdesk.slas import clocks as sla
from supportdesk.slas.models import Metric, SlaClock, SlaClockEvent
from supportdesk.slas.tests.helpers import pt
from supportdesk.tickets import services
from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription

REDIS_URL = "redis://127.0.0.1:6379/15"


def _busy_desk(n: int) -> tuple[list[int], int]:
    """n Sev 1 managed tickets opened Monday 09:00 PT, assigned, with a lead and a webhook."""
    agent = make_user(Role.AGENT, email=f"a-{uuid.uuid4().hex[:6]}@vendor.test")
    lead = make_user(Role.LEAD, email=f"l-{uuid.uuid4().hex[:6]}@vendor.test")
    org = make_org(plan=Plan.ENTERPRISE, deployment=Deployment.MANAGED)
    person = make_user(Role.CONTACT, organization=org)
    WebhookSubscription.objects.create(url="http://127.0.0.1:9/hook", events=["sla.breached"])
    ids = []
    for i in range(n):
        ticket = make_ticket(person, subject=f"Down {i}", severity=1, now=pt(0, 9))
        services.ticket_update(actor=agent, ticket=ticket, assignee=agent, now=pt(0, 9))
        ids.append(ticket.pk)
    return ids, lead.pk


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_send_each_notification_exactly_once():
    ids, lead_id = _busy_desk(8)
    due = pt(1, 9)  # 24 h later: every first response is breached (and every warning due)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            for _attempt in range(50):
                try:
                    sla.sla_sweep(now=due)
                    return
                except OperationalError:  # SQLite "locked": the next scheduler tick retries
                    continue
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    first_responses = SlaClock.objects.filter(ticket_id__in=ids, metric=Metric.FIRST_RESPONSE)
    assert all(c.breached_at == pt(0, 9) + dt.timedelta(hours=24) for c in first_responses)
    assert SlaClockEvent.objects.filter(kind="breached").count() == 8
    assert Notification.objects.filter(kind="sla.breached").count() == 8
    assert Notification.objects.filter(kind="sla.escalated", recipient_id=lead_id).count() == 8
    assert WebhookDelivery.objects.filter(event_type="sla.breached").count() == 8
    # And a third sweep later finds nothing new to say about those breaches.
    sla.sla_sweep(now=due + dt.timedelta(minutes=1))
    assert Notification.objects.filter(kind="sla.breached").count() == 8


@pytest.mark.django_db(transaction=True)
def test_an_sla_task_runs_through_redis_with_an_rq_worker():
    import django_rq
    from django_tasks import TaskResultStatus
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    from supportdesk.slas.tasks import sla_sweep_task

    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # the machine's Redis (scripts/setup.sh; started before CI)
    client.flushdb()
    ids, _lead = _busy_desk(2)
    # The sweep task takes no arguments and looks at "now": make the tickets due now.
    SlaClock.objects.filter(ticket_id__in=ids).update(
        due_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), warn_at=None
    )
    from supportdesk.slas.models import TicketSlaSummary

    TicketSlaSummary.objects.filter(pk__in=ids).update(
        next_event_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    )
    try:
        with override_settings(
            TASKS={"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}},
            RQ_QUEUES={"default": {"URL": REDIS_URL}},
        ):
            result = sla_sweep_task.enqueue()
            queue = django_rq.get_queue("default", job_class=Job)
            assert queue.count == 1  # it is in Redis, not run yet
            assert SlaClockEvent.objects.filter(kind="breached").count() == 0
            worker = SimpleWorker([queue], connection=queue.connection, job_class=Job)
            worker.work(burst=True, with_scheduler=False)
            result.refresh()
            assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
            assert (result.return_value or 0) >= 2
        assert SlaClockEvent.objects.filter(kind="breached").count() >= 2
        assert Notification.objects.filter(kind="sla.breached").count() >= 2
    finally:
        client.flushdb()
