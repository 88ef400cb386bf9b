"""End to end: real HTTP servers on loopback go down and up; the probe engine notices, opens the
incident and the Sev 1 ticket, tells the customer, sees the recovery, and the report shows the
downtime."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.management import call_command

from supportdesk.instances.models import Incident, IncidentStatus, Monitor, ProbeRun
from supportdesk.instances.prober import ProbeEngine, Store
from supportdesk.notifications.models import Notification
from supportdesk.organizations.models import ManagedInstance


class Switchable(ThreadingHTTPServer):
    healthy = True


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.server.healthy
        body = b"status: ok" if ok else b"status: broken"
        self.send_response(200 if ok else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def servers():
    started = []
    for _ in range(2):
        server = Switchable(("127.0.0.1", 0), Health)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


def run_engine(engine: ProbeEngine, seconds_and_actions):
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(engine.run(stop)))
    thread.start()
    try:
        for seconds, action in seconds_and_actions:
            time.sleep(seconds)
            action()
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_detects_an_outage_opens_incident_and_ticket_and_the_report_shows_it(
    instance, org_admin, contact, servers
):
    flaky, steady = servers
    other = ManagedInstance.objects.create(
        organization=instance.organization,
        name="acme-staging",
        url="https://staging.acme.example.test",
        health_url=f"http://127.0.0.1:{steady.server_port}/health",
    )
    ManagedInstance.objects.filter(pk=instance.pk).update(
        health_url=f"http://127.0.0.1:{flaky.server_port}/health"
    )
    Monitor.objects.filter(pk=instance.pk).update(
        interval_seconds=1, max_gap_seconds=3, timeout_seconds=1, body_keyword="ok"
    )
    Monitor.objects.create(instance=other, interval_seconds=1, max_gap_seconds=3, timeout_seconds=1)
    engine = ProbeEngine(store=Store("main", "test"), refresh_seconds=0.5, jitter_fraction=0)

    def down():
        flaky.healthy = False

    def up():
        flaky.healthy = True

    run_engine(engine, [(3, down), (5, up), (4, lambda: None)])

    assert engine.stats.probes >= 20
    incident = Incident.objects.get()
    assert incident.instance_id == instance.pk
    assert incident.status == IncidentStatus.MONITORING  # back up, watched
    assert incident.recovered_at is not None
    outage = (incident.recovered_at - incident.started_at).total_seconds()
    assert 3 <= outage <= 8
    ticket = incident.ticket
    assert ticket.severity == 1
    assert ticket.requester == org_admin
    assert "failed 2 consecutive health checks" in ticket.messages.first().body_text
    assert "passes its health checks again" in ticket.messages.last().body_text
    for person in (contact, org_admin):
        kinds = set(Notification.objects.filter(recipient=person).values_list("kind", flat=True))
        assert {"incident.created", "incident.updated"} <= kinds
    assert any("is down" in m.subject for m in mail.outbox)
    assert not Incident.objects.filter(instance=other).exists()
    assert ProbeRun.objects.filter(monitor_id=other.pk, ok=False).count() == 0

    out = io.StringIO()
    call_command(
        "availability", "report", "--organization", "Acme", "--period", "1d", "--json", stdout=out
    )
    report = {i["instance"]: i for i in json.loads(out.getvalue())["instances"]}
    assert 3 <= report["acme-prod"]["downtime_seconds"] <= 8
    assert (
        report["acme-prod"]["outages"][0]["downtime_seconds"]
        == report["acme-prod"]["downtime_seconds"]
    )
    assert report["acme-staging"]["downtime_seconds"] == 0
