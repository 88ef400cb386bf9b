"""A ticket's SLA state through the API is what `supportdesk sla explain --json` prints (the same
selector), for staff; customers get it without the staff's internals. The SLA attainment report is
the console's report, for leads, as JSON or its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from supportdesk.api.tests.conftest import error_of, make_token, token_client
from supportdesk.core.testing import make_ticket
from supportdesk.tickets import services

pytestmark = pytest.mark.django_db


def explain_json(number: int) -> dict[str, Any]:
    out = StringIO()
    call_command("sla", "explain", str(number), "--json", stdout=out)
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def test_sla_state_is_what_sla_explain_prints(agent, contact, api):
    # A self-hosted Enterprise customer: the Self-hosted policy on the US Pacific business hours.
    ticket = make_ticket(contact, severity=1)
    client = api(agent)
    reply = client.post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {
            "status": "Reproduced",
            "next_steps": "A patch",
            "expectations": "An update tomorrow",
            "next_update_by": (timezone.now() + dt.timedelta(days=1)).isoformat(),
        },
        content_type="application/json",
    )
    assert reply.status_code == 201, reply.json()
    services.ticket_update(
        actor=agent, ticket=ticket, status="waiting_on_customer", expected_version=None
    )
    # The same instant for both, so the "3h 20m left" texts agree too.
    with freeze_time(timezone.now() + dt.timedelta(minutes=7)):
        response = client.get(f"/api/v1/tickets/{ticket.number}/sla/")
        cli = explain_json(ticket.number)
    assert response.status_code == 200
    body = response.json()
    assert body == cli
    assert body["policy"] == "Self-hosted"
    assert body["why"].startswith("Self-hosted policy, because")
    assert [t["metric"] for t in body["targets"]] == ["first_response", "resolution", "commitment"]
    first, resolution, commitment = body["targets"]
    assert first["state"] == "met"
    assert first["met"] is not None
    assert resolution["state"] == "paused"
    assert resolution["pauses"]
    assert resolution["pauses"][-1][1] is None
    assert commitment["due"] is not None
    assert body["calendars"][0]["name"] == "Business hours (US Pacific)"
    assert body["timeline"]


def test_customers_get_their_tickets_sla_without_the_staffs_internals(
    agent, contact, outsider, community, api
):
    ticket = make_ticket(contact, severity=1)
    services.ticket_reply_add(actor=agent, ticket=ticket, status_part="Looking")
    staff = api(agent).get(f"/api/v1/tickets/{ticket.number}/sla/").json()
    mine = api(contact).get(f"/api/v1/tickets/{ticket.number}/sla/")
    assert mine.status_code == 200
    body = mine.json()
    assert body["timeline"] == []
    assert all(t["warn"] is None and t["warned"] is False for t in body["targets"])
    keep = ("metric", "state", "start", "pauses", "due", "met", "breached", "target")
    assert [{k: t[k] for k in keep} for t in body["targets"]] == [
        {k: t[k] for k in keep} for t in staff["targets"]
    ]
    assert (body["policy"], body["why"]) == (staff["policy"], staff["why"])
    # Another organization's ticket is not there.
    assert api(outsider).get(f"/api/v1/tickets/{ticket.number}/sla/").status_code == 404
    # A community user's ticket has no SLA, and says so.
    own = make_ticket(community)
    none = api(community).get(f"/api/v1/tickets/{own.number}/sla/").json()
    assert none["policy"] is None
    assert none["targets"] == []
    assert none["why"].startswith("No SLA")


def test_the_sla_report_is_the_consoles_for_leads(agent, lead, contact, org_admin, api):
    ticket = make_ticket(contact, severity=1)
    services.ticket_reply_add(actor=agent, ticket=ticket, status_part="Looking")
    for user in (agent, contact, org_admin):
        assert api(user).get("/api/v1/reports/sla/").status_code == 404
    client = api(lead)
    body = client.get("/api/v1/reports/sla/?group=metric&months=3").json()
    assert (body["group"], body["group_label"], body["months"]) == ("metric", "Target", 3)
    by = {g["key"]: g for g in body["groups"]}
    assert by["First response"]["met"] == 1
    assert by["First response"]["attainment"] == 1.0
    assert by["Resolution"]["running"] == 1
    assert by["Resolution"]["attainment"] is None

    web = Client()
    web.force_login(lead)
    for group in ("metric", "severity", "deployment", "organization", "month"):
        page_csv = web.get(f"/console/sla/reports/?group={group}&months=3&format=csv")
        api_csv = client.get(f"/api/v1/reports/sla/?group={group}&months=3&format=csv")
        assert api_csv.status_code == 200
        assert api_csv["Content-Type"].startswith("text/csv")
        assert api_csv.content == page_csv.content
    rows = list(csv.DictReader(io.StringIO(api_csv.content.decode())))
    assert rows
    assert "attainment_percent" in rows[0]
    by_accept = client.get("/api/v1/reports/sla/?group=severity", HTTP_ACCEPT="text/csv")
    assert by_accept.content.decode().startswith("Severity,met,breached")

    # Errors stay JSON even when CSV was asked for.
    bad = client.get("/api/v1/reports/sla/?group=planet&format=csv")
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/json"
    assert "group" in error_of(bad)["fields"]
    assert error_of(client.get("/api/v1/reports/sla/?months=99"))["fields"]["months"]
    # A read token of a lead is enough; a write-only one is not.
    write_only = token_client(make_token(lead, scopes=["write"]))
    assert write_only.get("/api/v1/reports/sla/").status_code == 403
