"""Managed instances, maintenance windows, incidents and availability through the API: who sees and
does what, the maintenance promise (24 h notice, 2 h at most) refused with the earliest compliant
start, the propose → confirm handshake between the two sides, reschedule as a new announcement,
cancel with a reason, and the webhook events the services emit."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from supportdesk.api.tests.conftest import error_of, make_token, token_client
from supportdesk.core.testing import run_concurrently
from supportdesk.instances.incidents import incident_open
from supportdesk.instances.maintenance import maintenance_window_propose
from supportdesk.instances.models import (
    Incident,
    MaintenanceEvent,
    MaintenanceWindow,
    Monitor,
    ProbeRun,
)
from supportdesk.organizations.models import Deployment, ManagedInstance, Organization
from supportdesk.tickets.models import Ticket
from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _in(hours: float) -> dt.datetime:
    return timezone.now().replace(microsecond=0) + dt.timedelta(hours=hours)


@pytest.fixture
def instance(org: Organization) -> ManagedInstance:
    Organization.objects.filter(pk=org.pk).update(deployment=Deployment.MANAGED)
    made = ManagedInstance.objects.create(
        organization=org, name="acme-prod", url="https://acme.example.test"
    )
    Monitor.objects.create(instance=made, interval_seconds=60, max_gap_seconds=180)
    return made


@pytest.fixture
def foreign(other_org: Organization) -> ManagedInstance:
    return ManagedInstance.objects.create(
        organization=other_org, name="globex-prod", url="https://globex.example.test"
    )


@pytest.fixture
def hooks(org: Organization) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        url="https://hooks.acme.test/desk", organization=org, events=["maintenance.*", "incident.*"]
    )


def events(subscription: WebhookSubscription) -> list[str]:
    return list(
        WebhookDelivery.objects.filter(subscription=subscription)
        .order_by("created_at", "id")
        .values_list("event_type", flat=True)
    )


def propose(client: Any, name: str, **body: Any) -> Any:
    headers = {k: body.pop(k) for k in list(body) if k.startswith("HTTP_")}
    payload = {"title": "Upgrade to 6.0", "start": _iso(_in(48)), "end": _iso(_in(49))} | body
    return client.post(
        f"/api/v1/instances/{name}/maintenance/",
        payload,
        content_type="application/json",
        **headers,
    )


# ---------------------------------------------------------------------------------------------
# Instances


def test_customers_list_and_read_only_their_organizations_instances(
    api, contact, org_admin, outsider, agent, community, instance, foreign
):
    for user in (contact, org_admin):
        body = api(user).get("/api/v1/instances/").json()
        assert [i["name"] for i in body["results"]] == ["acme-prod"]
        read = api(user).get("/api/v1/instances/acme-prod/")
        assert read.status_code == 200
        assert read.json()["health"] == {"status": "unknown", "since": None, "monitored": True}
        assert read.json()["organization"]["slug"] == instance.organization.slug
        assert api(user).get("/api/v1/instances/globex-prod/").status_code == 404
    assert [i["name"] for i in api(outsider).get("/api/v1/instances/").json()["results"]] == [
        "globex-prod"
    ]
    assert api(community).get("/api/v1/instances/").json()["results"] == []
    staff = api(agent).get("/api/v1/instances/").json()["results"]
    assert [i["name"] for i in staff] == ["acme-prod", "globex-prod"]
    only = api(agent).get("/api/v1/instances/?organization=" + foreign.organization.slug).json()
    assert [i["name"] for i in only["results"]] == ["globex-prod"]


# ---------------------------------------------------------------------------------------------
# Maintenance: the promise


def test_a_window_with_short_notice_is_refused_with_the_earliest_compliant_start(
    api, org_admin, instance
):
    response = propose(api(org_admin), "acme-prod", start=_iso(_in(2)), end=_iso(_in(3)))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "start" in error["fields"]
    compliance = error["compliance"]
    assert compliance["compliant"] is False
    earliest = dt.datetime.fromisoformat(compliance["earliest_compliant_start"])
    announced = dt.datetime.fromisoformat(compliance["announced_at"])
    assert earliest == announced + dt.timedelta(hours=24)
    assert abs((announced - timezone.now()).total_seconds()) < 5
    # The message a person reads says it too, and how to go ahead anyway.
    assert "earliest compliant start" in error["message"]
    assert "emergency" in error["message"]
    assert not MaintenanceWindow.objects.exists()


def test_a_window_longer_than_two_hours_can_never_be_compliant(api, agent, instance):
    response = propose(api(agent), "acme-prod", start=_iso(_in(48)), end=_iso(_in(51)))
    error = error_of(response)
    assert response.status_code == 400
    assert error["compliance"]["earliest_compliant_start"] is None
    assert "shorten it or split it" in error["message"]


def test_emergency_maintenance_needs_a_reason_and_then_goes_ahead(
    api, agent, org_admin, instance, hooks, after_commit
):
    soon = {"start": _iso(_in(1)), "end": _iso(_in(2)), "emergency": True}
    response = propose(api(org_admin), "acme-prod", **soon)
    assert response.status_code == 400
    assert error_of(response)["fields"] == {
        "emergency_reason": ["Emergency maintenance needs a reason the customer will read."]
    }
    # A customer's emergency proposal still waits for support.
    with after_commit():
        mine = propose(api(org_admin), "acme-prod", **soon, emergency_reason="Data corruption")
    assert mine.status_code == 201
    assert mine.json()["status"] == "proposed"
    assert mine.json()["awaiting"] == "support"
    assert mine.json()["compliance"]["compliant"] is False
    # Staff's emergency maintenance is announced at once; it counts as downtime.
    with after_commit():
        theirs = propose(api(agent), "acme-prod", **soon, emergency_reason="Security fix")
    body = theirs.json()
    assert theirs.status_code == 201
    assert body["status"] == "scheduled"
    assert body["emergency_reason"] == "Security fix"
    assert body["announced_at"] is not None
    assert body["compliance"]["compliant"] is False
    assert "emergency" in body["compliance"]["explanation"]
    assert events(hooks) == ["maintenance.scheduled"]


def test_customer_proposes_and_an_agent_confirms(
    api, org_admin, agent, instance, hooks, after_commit
):
    with after_commit():
        proposed = propose(api(org_admin), "acme-prod", description="Downtime about 20 minutes")
    assert proposed.status_code == 201
    window = proposed.json()
    assert proposed["Location"] == f"/api/v1/maintenance/{window['id']}/"
    assert (window["status"], window["awaiting"]) == ("proposed", "support")
    assert window["proposed_by"]["email"] == org_admin.email
    assert window["compliance"]["compliant"] is True
    # The proposer's side cannot confirm its own proposal.
    again = api(org_admin).post(f"/api/v1/maintenance/{window['id']}/confirm/")
    assert again.status_code == 403
    assert "waiting for our support team" in error_of(again)["message"]

    with after_commit():
        confirmed = api(agent).post(f"/api/v1/maintenance/{window['id']}/confirm/")
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert body["status"] == "scheduled"
    assert body["awaiting"] is None
    assert body["confirmed_by"]["email"] == agent.email
    assert body["announced_at"] is not None
    assert body["compliance"]["compliant"] is True
    assert confirmed["ETag"] == '"0.scheduled"'
    # Customers are told by webhook on confirmation (the proposal went to the agents).
    assert events(hooks) == ["maintenance.scheduled"]
    seen = api(org_admin).get(f"/api/v1/maintenance/{window['id']}/").json()
    assert seen["status"] == "scheduled"


def test_agent_proposes_and_the_customers_org_admin_confirms(
    api, org_admin, contact, agent, instance, hooks, after_commit
):
    with after_commit():
        proposed = propose(api(agent), "acme-prod")
    window = proposed.json()
    assert (window["status"], window["awaiting"]) == ("proposed", "customer")
    assert events(hooks) == ["maintenance.proposed"]
    # A plain contact reads it but does not confirm for the organization.
    assert api(contact).get(f"/api/v1/maintenance/{window['id']}/").status_code == 200
    refused = api(contact).post(f"/api/v1/maintenance/{window['id']}/confirm/")
    assert refused.status_code == 403
    with after_commit():
        confirmed = api(org_admin).post(f"/api/v1/maintenance/{window['id']}/confirm/")
    assert confirmed.status_code == 200
    assert confirmed.json()["confirmed_by"]["email"] == org_admin.email
    assert events(hooks) == ["maintenance.proposed", "maintenance.scheduled"]


def test_a_proposal_confirmed_too_late_is_refused_with_the_earliest_compliant_start(
    api, agent, org_admin, instance
):
    now = timezone.now()
    window = maintenance_window_propose(
        actor=agent,
        instance=instance,
        title="Upgrade",
        start=now.replace(microsecond=0) + dt.timedelta(hours=20),
        end=now.replace(microsecond=0) + dt.timedelta(hours=21),
        now=now - dt.timedelta(hours=10),  # 30 h notice when proposed, 20 h left now
    )
    response = api(org_admin).post(f"/api/v1/maintenance/{window.pk}/confirm/")
    assert response.status_code == 400
    error = error_of(response)
    assert error["message"].startswith("start: Confirmed now,")
    assert error["compliance"]["compliant"] is False
    assert error["compliance"]["earliest_compliant_start"] is not None
    window.refresh_from_db()
    assert window.status == "proposed"


def test_reschedule_is_a_new_announcement_confirmed_again(
    api, agent, org_admin, instance, hooks, after_commit
):
    client = api(org_admin)
    with after_commit():
        window = propose(api(agent), "acme-prod").json()
        client.post(f"/api/v1/maintenance/{window['id']}/confirm/")
    read = client.get(f"/api/v1/maintenance/{window['id']}/")
    etag = read["ETag"]
    assert etag == '"0.scheduled"'
    new = {
        "start": _iso(_in(72)),
        "end": _iso(
            _in(
                73,
            )
        ),
    }
    with after_commit():
        moved = client.post(
            f"/api/v1/maintenance/{window['id']}/reschedule/",
            new,
            content_type="application/json",
            HTTP_IF_MATCH=etag,
        )
    assert moved.status_code == 200, moved.json()
    body = moved.json()
    assert (body["status"], body["sequence"], body["awaiting"]) == ("proposed", 1, "support")
    assert body["announced_at"] is None
    assert body["confirmed_by"] is None
    assert (body["start"], body["end"]) == (new["start"], new["end"])
    assert moved["ETag"] == '"1.proposed"'
    # The old ETag is stale now: nothing changes, and the current one comes back.
    stale = client.post(
        f"/api/v1/maintenance/{window['id']}/cancel/",
        {"reason": "Not needed"},
        content_type="application/json",
        HTTP_IF_MATCH=etag,
    )
    assert stale.status_code == 412
    assert error_of(stale)["code"] == "stale"
    assert stale["ETag"] == '"1.proposed"'
    assert MaintenanceWindow.objects.get(pk=window["id"]).status == "proposed"
    # Support confirms the new times: a second announcement.
    with after_commit():
        again = api(agent).post(
            f"/api/v1/maintenance/{window['id']}/confirm/", HTTP_IF_MATCH='"1.proposed"'
        )
    assert again.status_code == 200
    assert events(hooks) == [
        "maintenance.proposed",
        "maintenance.scheduled",
        "maintenance.rescheduled",
        "maintenance.rescheduled",
    ]
    # A reschedule to non-compliant times is refused like a proposal.
    refused = client.post(
        f"/api/v1/maintenance/{window['id']}/reschedule/",
        {"start": _iso(_in(3)), "end": _iso(_in(4))},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert error_of(refused)["compliance"]["compliant"] is False


def test_cancel_needs_a_reason_and_tells_the_customer(
    api, agent, org_admin, instance, hooks, after_commit
):
    with after_commit():
        window = propose(api(org_admin), "acme-prod").json()
    url = f"/api/v1/maintenance/{window['id']}/cancel/"
    missing = api(agent).post(url, {}, content_type="application/json")
    assert missing.status_code == 400
    assert error_of(missing)["fields"] == {"reason": ["This field is required."]}
    blank = api(agent).post(url, {"reason": "   "}, content_type="application/json")
    assert blank.status_code == 400
    with after_commit():
        done = api(agent).post(
            url, {"reason": "The fix shipped in 5.9.4"}, content_type="application/json"
        )
    assert done.status_code == 200
    body = done.json()
    assert (body["status"], body["cancel_reason"]) == ("cancelled", "The fix shipped in 5.9.4")
    assert body["cancelled_by"]["email"] == agent.email
    assert events(hooks) == ["maintenance.cancelled"]
    twice = api(agent).post(url, {"reason": "again"}, content_type="application/json")
    assert twice.status_code == 400
    assert "cannot be cancelled" in error_of(twice)["message"]


def test_other_organizations_windows_are_not_there(
    api, outsider_admin, agent, org_admin, instance, foreign
):
    window = propose(api(agent), "acme-prod").json()
    client = api(outsider_admin)
    assert client.get(f"/api/v1/maintenance/{window['id']}/").status_code == 404
    for action, body in (
        ("confirm", {}),
        ("cancel", {"reason": "mine now"}),
        ("reschedule", {"start": _iso(_in(50)), "end": _iso(_in(51))}),
    ):
        response = client.post(
            f"/api/v1/maintenance/{window['id']}/{action}/", body, content_type="application/json"
        )
        assert response.status_code == 404, action
    assert propose(client, "acme-prod").status_code == 404
    assert client.get("/api/v1/maintenance/").json()["results"] == []
    assert MaintenanceWindow.objects.get(pk=window["id"]).status == "proposed"
    # And the list filters work for the organization's own.
    mine = api(org_admin).get("/api/v1/maintenance/?upcoming=true&status=proposed").json()
    assert [w["id"] for w in mine["results"]] == [window["id"]]
    done = api(org_admin).get("/api/v1/maintenance/?upcoming=false").json()
    assert done["results"] == []


def test_scopes_a_read_token_does_not_propose(api, org_admin, instance):
    response = propose(api(org_admin, scopes=["read"]), "acme-prod")
    assert response.status_code == 403
    assert "'write' scope" in error_of(response)["message"]


# ---------------------------------------------------------------------------------------------
# Incidents


def test_agents_open_and_update_incidents_customers_read_them(
    api, agent, org_admin, contact, outsider, instance, hooks, after_commit
):
    started = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    refused = api(org_admin).post(
        "/api/v1/incidents/",
        {"instance": "acme-prod", "title": "x", "message": "y"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    unknown = api(agent).post(
        "/api/v1/incidents/",
        {"instance": "nope", "title": "x", "message": "y"},
        content_type="application/json",
    )
    assert error_of(unknown)["fields"] == {"instance": ["No instance has that name."]}
    with after_commit():
        opened = api(agent).post(
            "/api/v1/incidents/",
            {
                "instance": "acme-prod",
                "title": "Logins fail",
                "message": "SAML logins return 500",
                "started_at": _iso(started),
            },
            content_type="application/json",
        )
    assert opened.status_code == 201, opened.json()
    incident = opened.json()
    assert (incident["kind"], incident["status"]) == ("manual", "investigating")
    assert incident["started_at"] == _iso(started)
    assert [u["message"] for u in incident["updates"]] == ["SAML logins return 500"]
    ticket = Ticket.objects.get(number=incident["ticket"])
    assert ticket.severity == 1
    assert ticket.organization_id == instance.organization_id

    url = f"/api/v1/incidents/{incident['id']}/"
    assert api(contact).get(url).json()["title"] == "Logins fail"
    assert api(outsider).get(url).status_code == 404
    assert (
        api(contact).post(url + "updates/", {}, content_type="application/json").status_code == 403
    )
    with after_commit():
        resolved = api(agent).post(
            url + "updates/",
            {"status": "resolved", "message": "Fixed by restarting the IdP proxy"},
            content_type="application/json",
        )
    assert resolved.status_code == 201
    body = resolved.json()
    assert body["status"] == "resolved"
    assert body["resolved_at"] is not None
    assert [u["status"] for u in body["updates"]] == ["investigating", "resolved"]
    assert events(hooks) == ["incident.created", "incident.resolved"]
    ticket.refresh_from_db()
    assert ticket.status == "solved"
    again = api(agent).post(
        url + "updates/",
        {"status": "investigating", "message": "back?"},
        content_type="application/json",
    )
    assert again.status_code == 400
    assert "open a new one" in error_of(again)["fields"]["status"][0]

    listed = api(org_admin).get("/api/v1/incidents/?open=false").json()["results"]
    assert [i["id"] for i in listed] == [incident["id"]]
    assert api(org_admin).get("/api/v1/incidents/?open=true").json()["results"] == []
    assert api(outsider).get("/api/v1/incidents/").json()["results"] == []


def test_incident_lists_do_not_grow_queries_per_row(
    api, agent, instance, django_assert_max_num_queries
):
    for n in range(5):
        incident_open(
            actor=agent,
            instance=instance,
            kind=Incident.Kind.MANUAL,
            title=f"Outage {n}",
            message="down",
            started_at=timezone.now(),
        )
    client = api(agent)
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/incidents/")
    assert len(response.json()["results"]) == 5


# ---------------------------------------------------------------------------------------------
# Availability


def test_availability_report_matches_the_report_pages_figures(
    api, org_admin, agent, outsider, community, instance, client
):
    monitor = instance.monitor
    end = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    start = end - dt.timedelta(hours=5)
    # Five hours of probes a minute apart, down for 30 minutes in the middle.
    first, last = int(start.timestamp()), int(end.timestamp())
    middle = first + 2 * 3600
    ProbeRun.objects.create(
        monitor=monitor,
        location="default",
        first_t=first,
        last_t=middle,
        count=121,
        ok=True,
        max_step=60,
    )
    ProbeRun.objects.create(
        monitor=monitor,
        location="default",
        first_t=middle + 60,
        last_t=middle + 1800,
        count=30,
        ok=False,
        max_step=60,
    )
    ProbeRun.objects.create(
        monitor=monitor,
        location="default",
        first_t=middle + 1860,
        last_t=last,
        count=150,
        ok=True,
        max_step=60,
    )
    mine = api(org_admin).get("/api/v1/availability/?period=30d")
    assert mine.status_code == 200, mine.json()
    body = mine.json()
    [row] = body["instances"]
    assert row["instance"]["name"] == "acme-prod"
    assert row["figures"]["downtime_seconds"] > 0
    assert body["total"]["downtime_seconds"] == row["figures"]["downtime_seconds"]
    assert [o["downtime_seconds"] for o in row["outages"]] == [row["figures"]["downtime_seconds"]]
    # The CSV is the report page's CSV, byte for byte.
    client.force_login(org_admin)
    page_csv = client.get("/portal/availability/?period=30d&format=csv").content.decode()
    api_csv = api(org_admin).get("/api/v1/availability/?period=30d", HTTP_ACCEPT="text/csv")
    assert api_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(api_csv.content.decode())))
    assert [r["instance"] for r in rows] == ["acme-prod", "(all)"]
    assert _without_to(api_csv.content.decode()) == _without_to(page_csv)
    assert rows[0]["downtime_seconds"] == str(row["figures"]["downtime_seconds"])
    # And `supportdesk availability report --json` says the same.
    out = StringIO()
    call_command(
        "availability",
        "report",
        "--organization",
        instance.organization.slug,
        "--period",
        "30d",
        "--json",
        stdout=out,
    )
    [cli] = json.loads(out.getvalue())["instances"]
    assert {k: cli[k] for k in row["figures"]} == row["figures"]
    assert cli["outages"] == row["outages"]
    # Staff name the organization; customers cannot ask for another's.
    slug = instance.organization.slug
    assert error_of(api(agent).get("/api/v1/availability/"))["fields"] == {
        "organization": ["Staff: name the organization (its slug)."]
    }
    staff = api(agent).get(f"/api/v1/availability/?organization={slug}&period=30d").json()
    assert staff["total"] == body["total"]
    assert api(outsider).get(f"/api/v1/availability/?organization={slug}").status_code == 404
    assert api(community).get("/api/v1/availability/").status_code == 404
    bad = api(org_admin).get("/api/v1/availability/?period=last-week")
    assert "is not a period" in error_of(bad)["fields"]["period"][0]
    quarter = api(org_admin).get("/api/v1/availability/?period=2026-Q3").json()
    assert quarter["period"] == "2026-Q3"
    # By default: the current month in the organization's report time zone.
    default = api(org_admin).get("/api/v1/availability/").json()
    assert default["time_zone"] == "UTC"
    assert default["period"] == timezone.now().astimezone(dt.UTC).strftime("%Y-%m")


def _without_to(text: str) -> list[list[str]]:
    """The rolling period ends at 'now': the two requests differ in that column only."""
    rows = list(csv.reader(io.StringIO(text)))
    drop = {rows[0].index("from"), rows[0].index("to")}
    return [[v for i, v in enumerate(r) if i not in drop] for r in rows]


@pytest.mark.django_db(transaction=True)
def test_concurrent_actions_with_one_etag_change_the_window_once(agent, org_admin, instance):
    """Four clients read the scheduled window, then at the same moment two reschedule it and two
    cancel it, all with the ETag they read: exactly one wins; the others get 412 and change
    nothing (the ETag is compared under the row lock, in the action's transaction)."""
    if connection.vendor == "sqlite":
        pytest.skip(
            "the in-memory SQLite test database locks whole tables between connections instead "
            "of waiting; SQLite serialises writers anyway"
        )
    window = maintenance_window_propose(
        actor=agent, instance=instance, title="Upgrade", start=_in(48), end=_in(49)
    )
    token_client(make_token(org_admin)).post(f"/api/v1/maintenance/{window.pk}/confirm/")
    secrets = [make_token(agent), make_token(org_admin)] * 2
    counter = iter(range(4))

    def act() -> int:
        n = next(counter)
        client = token_client(secrets[n])
        url = f"/api/v1/maintenance/{window.pk}/"
        if n % 2:
            url, body = url + "cancel/", {"reason": f"cancel {n}"}
        else:
            url, body = url + "reschedule/", {"start": _iso(_in(50 + n)), "end": _iso(_in(51 + n))}
        response = client.post(
            url, body, content_type="application/json", HTTP_IF_MATCH='"0.scheduled"'
        )
        return response.status_code

    statuses = run_concurrently(act, workers=4)
    assert sorted(statuses) == [200, 412, 412, 412]
    changes = MaintenanceEvent.objects.filter(window=window, kind__in=["rescheduled", "cancelled"])
    assert changes.count() == 1
    assert MaintenanceWindow.objects.get(pk=window.pk).sequence == 1


def test_window_and_instance_lists_do_not_grow_queries_per_row(
    api, agent, org_admin, instance, django_assert_max_num_queries
):
    for day in range(2, 7):
        maintenance_window_propose(
            actor=agent if day % 2 else org_admin,
            instance=instance,
            title=f"Upgrade {day}",
            start=_in(24 * day),
            end=_in(24 * day + 1),
        )
    client = api(org_admin)
    with django_assert_max_num_queries(8):
        windows = client.get("/api/v1/maintenance/?ordering=start")
    assert [w["title"] for w in windows.json()["results"]] == [f"Upgrade {d}" for d in range(2, 7)]
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/v1/instances/").json()["results"]) == 1


def test_proposals_and_incidents_accept_idempotency_keys(api, agent, org_admin, instance):
    client = api(org_admin)
    times = {"start": _iso(_in(48)), "end": _iso(_in(49))}  # the same request, byte for byte
    first = propose(client, "acme-prod", **times, HTTP_IDEMPOTENCY_KEY="upgrade-6.0")
    again = propose(client, "acme-prod", **times, HTTP_IDEMPOTENCY_KEY="upgrade-6.0")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again["Location"] == first["Location"]
    assert MaintenanceWindow.objects.count() == 1
    other = propose(client, "acme-prod", title="Another", HTTP_IDEMPOTENCY_KEY="upgrade-6.0")
    assert other.status_code == 422
    # A refused proposal stores nothing: fixed, the same key goes through.
    key = {"HTTP_IDEMPOTENCY_KEY": "patch"}
    refused = propose(client, "acme-prod", start=_iso(_in(1)), end=_iso(_in(2)), **key)
    assert refused.status_code == 400
    assert propose(client, "acme-prod", **key).status_code == 201

    body = {"instance": "acme-prod", "title": "Down", "message": "502s"}
    staff = api(agent)
    opened = [
        staff.post(
            "/api/v1/incidents/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in opened] == [201, 201]
    assert opened[1]["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1
    assert Ticket.objects.filter(tags__name="incident").count() == 1
