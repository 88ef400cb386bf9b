"""Probe results into runs, the instance's state, incidents and tickets, imports and reports."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from supportdesk.availability import runs_from_probes
from supportdesk.instances.incidents import incidents_auto_resolve
from supportdesk.instances.models import (
    Incident,
    IncidentStatus,
    Monitor,
    MonitorStatus,
    ProbeRun,
)
from supportdesk.instances.monitoring import ProbeResult, RunStore, monitor_evaluate
from supportdesk.notifications.models import Notification
from supportdesk.tickets.models import Channel, Status

pytestmark = pytest.mark.django_db
T0 = int(dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp())


def at(t: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def feed(
    store: RunStore, monitor: Monitor, probes: list[tuple[int, bool]], batch: int = 7
) -> list[int]:
    flipped = []
    for i in range(0, len(probes), batch):
        chunk = [
            ProbeResult(monitor.pk, t, ok, max_gap=180, failures_to_down=2)
            for t, ok in probes[i : i + batch]
        ]
        flipped += store.record(chunk, now=at(chunk[-1].t))
    return flipped


def test_stored_runs_equal_the_pure_fold(instance):
    monitor = instance.monitor
    probes = [(T0 + 60 * i, i % 17 not in (5, 6, 7) and i % 29 != 3) for i in range(300)]
    probes += [(T0 + 60 * 300 + 1000 + 60 * i, True) for i in range(20)]  # after a gap
    feed(RunStore("main"), monitor, probes)
    stored = [
        (r.first_t, r.last_t, r.count, r.ok, r.max_step)
        for r in ProbeRun.objects.filter(monitor=monitor).order_by("first_t")
    ]
    expected = runs_from_probes([t for t, _ in probes], [ok for _, ok in probes], max_gap=180)
    assert stored == [(r.first_t, r.last_t, r.count, r.ok, r.max_step) for r in expected]
    # A fresh store (a restarted worker) continues the same runs.
    more = [(probes[-1][0] + 60 * (i + 1), True) for i in range(5)]
    feed(RunStore("main"), monitor, more)
    assert ProbeRun.objects.filter(monitor=monitor).count() == len(expected)


def test_an_outage_opens_an_incident_and_a_sev1_ticket_and_recovery_moves_it_on(
    instance, org_admin, contact, after_commit
):
    monitor = instance.monitor
    store = RunStore("main")
    ups = [(T0 + 60 * i, True) for i in range(5)]
    feed(store, monitor, ups)
    monitor_evaluate(monitor.pk, now=at(ups[-1][0]))
    assert Monitor.objects.get(pk=monitor.pk).status == MonitorStatus.UP
    down_1 = T0 + 300
    with after_commit():
        for t in (down_1, down_1 + 60):
            for m in feed(store, monitor, [(t, False)]):
                monitor_evaluate(m, now=at(t))
    monitor.refresh_from_db()
    assert monitor.status == MonitorStatus.DOWN
    assert monitor.status_since == at(down_1)  # the outage starts at the first failure
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.INVESTIGATING
    assert incident.started_at == at(down_1)
    ticket = incident.ticket
    assert (ticket.severity, ticket.channel, ticket.requester) == (1, Channel.MONITORING, org_admin)
    assert ticket.reported_at == at(down_1)
    assert ticket.incident == incident
    assert Notification.objects.filter(recipient=contact, kind="incident.created").count() == 1
    recovered = down_1 + 180
    for m in feed(store, monitor, [(recovered, True)]):
        monitor_evaluate(m, now=at(recovered))
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.MONITORING
    assert incident.recovered_at == at(recovered)
    assert "passes its health checks again" in ticket.messages.last().body_text
    assert incidents_auto_resolve(now=at(recovered) + dt.timedelta(minutes=10)) == 0
    assert incidents_auto_resolve(now=at(recovered) + dt.timedelta(minutes=31)) == 1
    incident.refresh_from_db()
    ticket.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert ticket.status == Status.SOLVED
    assert [u.status for u in incident.updates.all()] == [
        "investigating",
        "monitoring",
        "resolved",
    ]


def test_a_single_failure_is_not_an_outage_and_with_two_locations_down_needs_the_quorum(
    instance, org_admin
):
    monitor = instance.monitor
    Monitor.objects.filter(pk=monitor.pk).update(quorum=2)
    main, eu = RunStore("main"), RunStore("eu")
    feed(main, monitor, [(T0, True), (T0 + 60, False), (T0 + 120, True)])
    monitor_evaluate(monitor.pk, now=at(T0 + 120))
    assert Monitor.objects.get(pk=monitor.pk).status == MonitorStatus.UP
    feed(eu, monitor, [(T0 + 130, True)])
    feed(main, monitor, [(T0 + 180, False), (T0 + 240, False)])
    assert monitor_evaluate(monitor.pk, now=at(T0 + 240)) == MonitorStatus.UP  # 1 of 2
    feed(eu, monitor, [(T0 + 190, False), (T0 + 250, False)])
    assert monitor_evaluate(monitor.pk, now=at(T0 + 250)) == MonitorStatus.DOWN
    assert Incident.objects.get().started_at == at(T0 + 190)  # when the quorum was reached


def write_jsonl(tmp_path, rows, name="history.jsonl") -> str:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(path)


def test_import_stores_runs_and_refuses_bad_lines_and_overlaps(instance, tmp_path):
    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    rows = [
        {
            "t": (start + dt.timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            "ok": i % 50 > 1,
        }
        for i in range(1000)
    ]
    out = io.StringIO()
    call_command(
        "probes", "import", "--instance", "acme-prod", write_jsonl(tmp_path, rows), stdout=out
    )
    assert "Imported 1,000 probes of acme-prod" in out.getvalue()
    assert ProbeRun.objects.filter(monitor=instance.monitor).count() == 40
    with pytest.raises(CommandError, match="overlap") as overlap:
        call_command("probes", "import", "--instance", "acme-prod", write_jsonl(tmp_path, rows))
    assert overlap.value.returncode == 2
    bad = [*rows[:3], {"t": "yesterday", "ok": True}]
    with pytest.raises(CommandError, match=r"line 4: 'yesterday' is not an ISO 8601 time"):
        call_command("probes", "import", "--instance", "acme-prod", write_jsonl(tmp_path, bad, "b"))
    with pytest.raises(CommandError, match=r'line 1: "ok" must be true or false'):
        call_command(
            "probes",
            "import",
            "--instance",
            "acme-prod",
            write_jsonl(tmp_path, [{"t": rows[0]["t"], "ok": 1}], "c"),
        )
    with pytest.raises(CommandError, match="no managed instance named 'nope'"):
        call_command("probes", "import", "--instance", "nope", write_jsonl(tmp_path, rows, "d"))


def test_import_of_a_big_file_shows_progress(instance, tmp_path, monkeypatch):
    from supportdesk.instances.management.commands import probes

    monkeypatch.setattr(probes, "PROGRESS_EVERY_BYTES", 10_000)
    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    rows = [
        {"t": (start + dt.timedelta(minutes=i)).isoformat().replace("+00:00", "Z"), "ok": True}
        for i in range(2000)
    ]
    err = io.StringIO()
    call_command(
        "probes", "import", "--instance", "acme-prod", write_jsonl(tmp_path, rows), stderr=err
    )
    assert "% read" in err.getvalue()
    assert "100% read (2,000 lines)" in err.getvalue()


def test_the_report_command_shows_the_downtime(instance, tmp_path):
    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    rows = [
        {
            "t": (start + dt.timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            "ok": not 600 <= i < 630,
        }
        for i in range(30 * 24 * 60)
    ]
    call_command("probes", "import", "--instance", "acme-prod", write_jsonl(tmp_path, rows))
    out = io.StringIO()
    call_command(
        "availability", "report", "--organization", "Acme", "--period", "2026-09", stdout=out
    )
    text = out.getvalue()
    assert "acme-prod" in text
    assert "30 min" in text  # the downtime
    assert "99.931 %" in text  # 1 − 1800 / 2,592,000
    out = io.StringIO()
    call_command(
        "availability",
        "report",
        "--organization",
        "Acme",
        "--period",
        "2026-09",
        "--json",
        stdout=out,
    )
    document = json.loads(out.getvalue())
    [item] = document["instances"]
    assert item["downtime_seconds"] == 1800
    assert item["unknown_seconds"] == 0
    assert item["budget_remaining_seconds"] == 0.005 * 2_592_000 - 1800
    assert document["aggregate"]["downtime_seconds"] == 1800
    for bad in (["--period", "2026-13"], ["--period", "soon"]):
        with pytest.raises(CommandError) as refused:
            call_command("availability", "report", "--organization", "Acme", *bad)
        assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="no organization named"):
        call_command("availability", "report", "--organization", "Nobody", "--period", "30d")


def test_monitoring_settings_keep_stored_runs_exact(agent, contact, instance):
    from django.core.exceptions import PermissionDenied, ValidationError

    from supportdesk.conftest import client_for
    from supportdesk.instances.monitoring import monitor_configure

    feed(RunStore("main"), instance.monitor, [(T0, True), (T0 + 150, True)])  # a 150 s step
    settings: dict[str, Any] = {
        "health_url": "https://acme.example.test/healthz",
        "enabled": True,
        "expected_status": 204,
        "body_keyword": "",
        "timeout_seconds": 5,
        "interval_seconds": 30,
        "failures_to_down": 3,
        "quorum": 1,
    }
    with pytest.raises(ValidationError, match="gaps of 150 s"):
        monitor_configure(actor=agent, instance=instance, max_gap_seconds=120, **settings)
    with pytest.raises(PermissionDenied):
        monitor_configure(actor=contact, instance=instance, max_gap_seconds=None, **settings)
    response = client_for(agent).post(
        "/console/instances/acme-prod/monitor/", {**settings, "max_gap_seconds": 150}
    )
    assert response.status_code == 302
    monitor = Monitor.objects.get(pk=instance.pk)
    assert (monitor.expected_status, monitor.interval_seconds, monitor.max_gap_seconds) == (
        204,
        30,
        150,
    )
    instance.refresh_from_db()
    assert instance.health_url == "https://acme.example.test/healthz"


def test_availability_compute_also_runs_through_django(capsys):
    from pathlib import Path

    example = Path(__file__).resolve().parents[4] / "docs/examples/availability-worked-example.json"
    call_command("availability", "compute", str(example))
    document = json.loads(capsys.readouterr().out)
    assert document["downtime_seconds"] == 2400
    assert document["maintenance_seconds"] == 1800
