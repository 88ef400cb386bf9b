"""What people see: the queue badge and the at-risk queue, the ticket's clocks, the customer's
promise, the lead pages (calendars, policies, rota), reports and the what-if, `sla explain`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from supportdesk.accounts.models import Role
from supportdesk.conftest import client_for
from supportdesk.core.testing import make_org, make_ticket, make_user
from supportdesk.organizations.models import Contract, Deployment, Plan
from supportdesk.slas import clocks as sla
from supportdesk.slas.models import Calendar, Metric, OnCallShift, SlaClock, SlaPolicy
from supportdesk.slas.tests.helpers import clock
from supportdesk.tickets import services
from supportdesk.tickets.models import ResolutionKind, Status
from supportdesk.tickets.selectors import ticket_queue

pytestmark = pytest.mark.django_db
H = 3600


def ago(hours: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=hours)


@pytest.fixture
def managed_contact():
    org = make_org("Hooli", plan=Plan.ENTERPRISE, deployment=Deployment.MANAGED)
    return make_user(Role.CONTACT, organization=org, email="nelson@hooli.test", name="Nelson")


def test_the_queue_shows_a_badge_and_the_at_risk_queue_sorts_by_due(agent, managed_contact):
    # 24×7 Sev 1 first response: 24 real hours.
    late = make_ticket(managed_contact, subject="Late one", severity=1, now=ago(30))
    soon = make_ticket(managed_contact, subject="Soon one", severity=1, now=ago(22))
    calm = make_ticket(managed_contact, subject="Calm one", severity=1, now=ago(1))
    sla.sla_sweep()
    client = client_for(agent)
    body = client.get("/console/?queue=open").content.decode()
    assert 'data-sla-state="breached"' in body
    assert "overdue" in body
    assert "left" in body
    risky = client.get("/console/?queue=at_risk").content.decode()
    assert "At risk (SLA)" in risky
    assert risky.index(late.subject) < risky.index(soon.subject)
    assert calm.subject not in risky
    # Solved: out of the at-risk queue (its SLA summary follows the ticket's status).
    services.ticket_update(
        actor=agent, ticket=late, status=Status.SOLVED, resolution_kind=ResolutionKind.FIX
    )
    risky = client.get("/console/?queue=at_risk").content.decode()
    assert late.subject not in risky
    assert soon.subject in risky


def test_the_at_risk_queue_reads_the_sla_summaries_in_due_order_from_their_index(
    agent, managed_contact
):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite sorts NULLs first and cannot read NULLS LAST order from an index")
    make_ticket(managed_contact, subject="Late one", severity=1, now=ago(30))
    query = ticket_queue(user=agent, queue="at_risk", sort="sla")
    sql, params = query.values_list("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        # A tiny table is read sequentially; ask whether an ordered index plan exists.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_sort = off")
        cursor.execute("EXPLAIN " + sql + " LIMIT 50", params)
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_sort")
    assert "Sort" not in plan
    assert "slasummary_open_due_idx" in plan


def test_the_ticket_page_shows_each_clock_its_history_and_the_policy_with_its_reason(
    agent, contact
):
    ticket = make_ticket(contact, severity=1, now=ago(2))
    services.ticket_update(actor=agent, ticket=ticket, status=Status.WAITING_ON_CUSTOMER)
    body = client_for(agent).get(f"/console/tickets/{ticket.number}/").content.decode()
    assert "Self-hosted policy, because Acme is on the Enterprise plan, self-hosted" in body
    assert 'data-sla-clock="first_response"' in body
    assert 'data-sla-clock="resolution"' in body
    assert "Paused" in body
    assert "History (2)" in body
    assert "24 h on Business hours (US Pacific)" in body


def test_the_composer_commits_to_the_next_update_in_the_agents_time_zone(agent, contact):
    ticket = make_ticket(contact, severity=2)
    local = (timezone.now() + dt.timedelta(days=2)).astimezone(agent.tzinfo)
    response = client_for(agent).post(
        f"/console/tickets/{ticket.number}/reply/",
        {
            "status_part": "Investigating",
            "next_steps_part": "Reading logs",
            "expectations_part": "I will update you by then",
            "next_update_by": local.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    promise = clock(ticket, Metric.COMMITMENT)
    assert promise.due_at == local.replace(second=0, microsecond=0)
    queue = client_for(agent).get("/console/?queue=open").content.decode()
    assert "sla-badge" in queue


def test_the_customer_sees_the_promise_in_their_own_time_zone(agent, contact):
    contact.timezone = "Europe/Berlin"
    contact.save()
    ticket = make_ticket(contact, severity=1)
    due = clock(ticket).due_at.astimezone(contact.tzinfo)
    body = client_for(contact).get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert f"We will respond by {due:%a %d %b %H:%M} CE" in body  # CET or CEST
    assert "Sev 1, self-hosted, business hours" in body
    services.ticket_reply_add(
        actor=agent,
        ticket=ticket,
        status_part="Found it",
        expectations_part="Patch by Friday",
        next_update_by=timezone.now() + dt.timedelta(days=1),
    )
    body = client_for(contact).get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "We will resolve this or give you a workaround by" in body
    assert "Next update from us by" in body
    assert "“Patch by Friday”" in body
    assert "breach" not in body.lower()


def test_community_users_see_best_effort(community):
    ticket = make_ticket(community)
    body = client_for(community).get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "Best-effort support: this ticket has no SLA." in body


def test_leads_edit_a_calendar_and_open_tickets_are_recomputed(lead, contact, after_commit):
    ticket = make_ticket(contact, severity=1)
    before = clock(ticket).due_at
    business = Calendar.objects.get(slug="business-hours")
    client = client_for(lead)
    page = client.get(f"/console/sla/calendars/{business.pk}/").content.decode()
    assert "09:00-17:00" in page
    toml = business.versions.get().toml.replace('"09:00-17:00"', '"09:00-12:00"')
    # A preview replays without saving.
    preview = client.post(
        f"/console/sla/calendars/{business.pk}/", {"toml": toml, "preview": "1", "whatif_months": 3}
    )
    assert "What if — replayed, not saved" in preview.content.decode()
    assert business.versions.count() == 1
    with after_commit():
        response = client.post(
            f"/console/sla/calendars/{business.pk}/", {"toml": toml, "note": "Half days"}
        )
    assert response.status_code == 302
    assert business.versions.count() == 2
    after = clock(ticket).due_at
    assert before is not None
    assert after is not None
    assert after > before
    bad = client.post(f"/console/sla/calendars/{business.pk}/", {"toml": "[hours]\nmon = 3\n"})
    assert bad.status_code == 400
    assert "timezone" in bad.content.decode()
    export = client.get(f"/console/sla/calendars/{business.pk}/export.toml")
    assert export["Content-Disposition"] == 'attachment; filename="business-hours.toml"'
    assert b"09:00-12:00" in export.content


def test_leads_import_a_calendar_file(lead):
    upload = SimpleUploadedFile(
        "berlin.toml", b'timezone = "Europe/Berlin"\n[hours]\nmon = ["08:00-16:00"]\n'
    )
    response = client_for(lead).post(
        "/console/sla/calendars/new/", {"name": "Berlin", "upload": upload, "toml": ""}
    )
    assert response.status_code == 302
    assert Calendar.objects.get(name="Berlin").versions.get().toml.startswith("timezone")


def test_leads_create_a_contract_policy_and_preview_a_policy_change(lead, agent, after_commit):
    org = make_org("Globex", plan=Plan.ELITE, deployment=Deployment.MANAGED)
    contract = Contract.objects.create(
        organization=org, reference="GLOBEX-ELITE-2025", starts_on=dt.date(2025, 1, 1)
    )
    person = make_user(Role.CONTACT, organization=org)
    ticket = make_ticket(person, severity=1, now=ago(5))
    services.ticket_reply_add(actor=agent, ticket=ticket, status_part="On it", now=ago(2))
    business = Calendar.objects.get(slug="business-hours")
    always = Calendar.objects.get(slug="24x7")
    client = client_for(lead)
    with after_commit():
        response = client.post(
            "/console/sla/policies/new/",
            {
                "contract": contract.pk,
                "name": "Globex Elite",
                "warn_at_percent": 80,
                "warn_minutes_before": 30,
                "is_active": "on",
                "h_1_first_response": "2",
                "c_1_first_response": always.pk,
                "h_2_first_response": "8",
                "c_2_first_response": business.pk,
            },
        )
    assert response.status_code == 302, response.content.decode()
    policy = SlaPolicy.objects.get(name="Globex Elite")
    assert clock(ticket).policy == policy
    # Answered after 3 h: under the new 2 h target that is a breach, recorded at once.
    assert clock(ticket).breached_at == clock(ticket).due_at
    page = client.get(f"/console/sla/policies/{policy.pk}/").content.decode()
    assert "Globex Elite" in page
    preview = client.post(
        f"/console/sla/policies/{policy.pk}/",
        {
            "name": "Globex Elite",
            "warn_at_percent": 80,
            "warn_minutes_before": 30,
            "is_active": "on",
            "h_1_first_response": "4",
            "c_1_first_response": always.pk,
            "preview": "1",
            "whatif_months": 1,
        },
    ).content.decode()
    assert "First response · Sev 1" in preview
    assert "+100 pts" in preview  # breached under 2 h, met under 4 h
    assert SlaPolicy.objects.get(pk=policy.pk).targets.get(severity=1).target_seconds == 2 * H
    index = client.get("/console/sla/").content.decode()
    assert "GLOBEX-ELITE-2025" in index


def test_agents_and_customers_cannot_reach_the_lead_pages(agent, contact):
    for user in (agent, contact):
        assert client_for(user).get("/console/sla/").status_code == 404
        assert client_for(user).get("/console/sla/reports/").status_code == 404


def test_the_on_call_rota(lead, agent):
    client = client_for(lead)
    now = timezone.now().astimezone(lead.tzinfo)
    response = client.post(
        "/console/sla/on-call/",
        {
            "user": agent.pk,
            "starts_at": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + dt.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
            "note": "Weekend",
        },
    )
    assert response.status_code == 302
    page = client.get("/console/sla/on-call/").content.decode()
    assert "on call</span>" in page
    shift = OnCallShift.objects.get()
    client.post(f"/console/sla/on-call/{shift.pk}/remove/")
    assert not OnCallShift.objects.exists()
    bad = client.post(
        "/console/sla/on-call/",
        {"user": agent.pk, "starts_at": "2026-05-02T10:00", "ends_at": "2026-05-01T10:00"},
    )
    assert "A shift ends after it starts." in bad.content.decode()


def test_reports_show_attainment_as_a_chart_and_csv(lead, agent, contact, managed_contact):
    # One base instant: two separate ago() calls would be a few microseconds more than an hour
    # apart, and the whole-second figure below would sometimes read 3601.
    opened = ago(50)
    met = make_ticket(managed_contact, severity=1, now=opened)  # 24×7: business = real time
    services.ticket_reply_add(
        actor=agent, ticket=met, status_part="Hi", now=opened + dt.timedelta(hours=1)
    )
    make_ticket(managed_contact, severity=1, now=ago(30))  # breached
    make_ticket(contact, severity=2, now=ago(1))  # self-hosted, running
    sla.sla_sweep()
    client = client_for(lead)
    page = client.get("/console/sla/reports/?group=metric&months=3").content.decode()
    assert "<svg" in page
    assert 'class="bar-met"' in page
    assert 'class="bar-breached"' in page
    assert "style=" not in page  # CSP: no inline styles
    assert "<script" not in page.split("</main>")[0].split("<main")[1]
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    "/console/sla/reports/?group=deployment&months=3&format=csv"
                ).content.decode()
            )
        )
    )
    by = {r["Deployment"]: r for r in rows}
    assert by["Managed instance"]["met"] == "1"
    assert by["Managed instance"]["breached"] == "1"
    assert by["Self-hosted"]["running"] == "1"
    assert by["Managed instance"]["first_response_median_business_s"] == "3600"
    for group in ("severity", "organization", "month"):
        assert client.get(f"/console/sla/reports/?group={group}").status_code == 200


def test_sla_explain_prints_the_policy_the_reason_the_calendar_targets_and_timeline(agent, contact):
    ticket = make_ticket(contact, severity=1)
    services.ticket_reply_add(actor=agent, ticket=ticket, status_part="Looking")
    out = StringIO()
    call_command("sla", "explain", str(ticket.number), stdout=out)
    text = out.getvalue()
    assert f"Ticket #{ticket.number}" in text
    assert "Why: Self-hosted policy, because Acme is on the Enterprise plan" in text
    assert "Calendar: Business hours (US Pacific)" in text
    assert "First response — met" in text
    assert "Resolution — running" in text
    assert "Timeline:" in text
    out = StringIO()
    call_command("sla", "explain", str(ticket.number), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["policy"] == "Self-hosted"
    assert [t["metric"] for t in data["targets"]] == ["first_response", "resolution"]
    assert data["targets"][0]["target"] == "24h"
    with pytest.raises(Exception, match="no ticket #999999"):
        call_command("sla", "explain", "999999")


def test_sla_due_still_runs_the_pure_engine(tmp_path, capsys):
    from supportdesk.cli import main

    calendar = tmp_path / "cal.toml"
    calendar.write_text('timezone = "UTC"\n[hours]\nmon = ["09:00-17:00"]\n')
    code = main(
        [
            "sla",
            "due",
            "--calendar",
            str(calendar),
            "--start",
            "2026-03-02T09:00:00Z",
            "--target",
            "8h",
        ]
    )
    assert code == 0
    assert "2026-03-02T17:00:00Z" in capsys.readouterr().out
    assert SlaClock.objects.count() == 0
