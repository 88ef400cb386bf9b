"""SPEC.md §3, rule by rule, through the ticket services with a fake clock (explicit `now=`)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from supportdesk.accounts.models import Role
from supportdesk.core.testing import make_org, make_ticket, make_user
from supportdesk.notifications.models import Notification
from supportdesk.organizations.models import Contract, Deployment, Plan
from supportdesk.slas import clocks as sla
from supportdesk.slas.models import (
    Calendar,
    ClockState,
    Metric,
    SlaClockEvent,
    SlaPolicy,
    TicketSla,
    TicketSlaSummary,
)
from supportdesk.slas.policies import TargetSpec, calendar_create, calendar_update, policy_save
from supportdesk.slas.tests.helpers import clock, pt, summary
from supportdesk.tickets import services
from supportdesk.tickets.models import Message, ResolutionKind, Status
from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db
H = 3600


@pytest.fixture
def sev1(contact, agent):
    """A Sev 1 ticket of a self-hosted Enterprise customer, opened Monday 09:00 PT."""
    return make_ticket(contact, severity=1, now=pt(0, 9))


# --- Time, calendars and due instants ------------------------------------------------------------


def test_clock_starts_at_reported_at_and_a_budget_ending_at_closing_is_due_at_closing(sev1):
    first = clock(sev1, Metric.FIRST_RESPONSE)
    assert first.started_at == pt(0, 9)
    assert first.started_at.tzinfo is not None
    # 24 business hours = Mon, Tue, Wed 09:00–17:00: due Wednesday at 17:00, not Thursday 09:00.
    assert first.due_at == pt(2, 17)
    assert clock(sev1, Metric.RESOLUTION).due_at == pt(10, 17)  # 72 h = 9 business days
    # 75 % of 24 h is 18 h (Wed 11:00); 60 min before is Wed 16:00: the earlier one counts.
    assert summary(sev1).next_event_at == first.warn_at == pt(2, 11)


def test_a_reply_exactly_at_the_due_instant_meets_the_target(sev1, agent):
    services.ticket_reply_add(actor=agent, ticket=sev1, status_part="On it", now=pt(2, 17))
    first = clock(sev1)
    assert first.state == ClockState.MET
    assert first.met_at == first.due_at == pt(2, 17)
    assert first.breached_at is None
    assert first.business_seconds == 24 * H


def test_business_time_counts_real_seconds_across_a_dst_change(lead, agent):
    """A 00:00–24:00 calendar in Los Angeles: Sunday 8 March 2026 lasts 23 hours."""
    org = make_org("Elite Co", plan=Plan.ELITE, deployment=Deployment.SELF_HOSTED)
    contract = Contract.objects.create(
        organization=org, reference="EC-1", starts_on=dt.date(2026, 1, 1)
    )
    days = "\n".join(
        f'{d} = ["00:00-24:00"]' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    calendar = calendar_create(
        actor=lead, name="LA days", toml=f'timezone = "America/Los_Angeles"\n[hours]\n{days}\n'
    )
    policy_save(
        actor=lead,
        name="Elite Co",
        contract=contract,
        targets=[TargetSpec(1, Metric.FIRST_RESPONSE, 48 * H, calendar)],
    )
    customer = make_user(Role.CONTACT, organization=org)
    ticket = make_ticket(customer, severity=1, now=pt(5, 0))  # Saturday 00:00 PST
    # Saturday 24 h + Sunday 23 h = 47 h by Monday 00:00 PDT; the last hour ends 01:00 PDT.
    assert clock(ticket).due_at == pt(7, 1)
    assert clock(ticket).due_at == dt.datetime(2026, 3, 9, 8, 0, tzinfo=dt.UTC)


def test_calendar_toml_errors_name_the_field(lead):
    with pytest.raises(ValidationError) as error:
        calendar_create(
            actor=lead,
            name="Broken",
            toml='timezone = "America/Los_Angeles"\n'
            '[hours]\ntue = ["09:00-13:00", "12:00-17:00"]\n',
        )
    assert "hours.tue" in str(error.value)
    assert not Calendar.objects.filter(name="Broken").exists()


# --- First response ------------------------------------------------------------------------------


def test_first_response_is_met_only_by_a_public_non_automatic_agent_reply(contact, agent, internal):
    # Staff open the ticket on the customer's behalf: that opening message is not a response.
    ticket = make_ticket(contact, actor=agent, severity=1, channel="console", now=pt(0, 9))
    services.ticket_reply_add(
        actor=internal, ticket=ticket, body="Looking", internal=True, now=pt(0, 10)
    )
    services.ticket_reply_add(
        actor=agent, ticket=ticket, body="Auto-ack", is_automatic=True, now=pt(0, 11)
    )
    services.ticket_update(actor=agent, ticket=ticket, status=Status.WAITING_ON_US, now=pt(0, 12))
    services.ticket_reply_add(actor=contact, ticket=ticket, body="Any news?", now=pt(0, 13))
    assert clock(ticket).met_at is None
    assert clock(ticket).state == ClockState.RUNNING
    services.ticket_reply_add(actor=agent, ticket=ticket, status_part="Found it", now=pt(0, 14))
    assert clock(ticket).met_at == pt(0, 14)
    assert clock(ticket).business_seconds == 5 * H


def test_first_response_never_pauses(sev1, agent):
    services.ticket_update(
        actor=agent, ticket=sev1, status=Status.WAITING_ON_CUSTOMER, now=pt(0, 10)
    )
    assert clock(sev1).state == ClockState.RUNNING
    assert clock(sev1).due_at == pt(2, 17)
    assert clock(sev1, Metric.RESOLUTION).state == ClockState.PAUSED


# --- Resolution: pauses and reopen ---------------------------------------------------------------


def test_resolution_pauses_while_waiting_and_solved_and_reopen_resumes_the_same_clock(
    sev1, agent, contact
):
    # Waiting on the customer from Mon 11:00 to Tue 11:00: 8 business hours do not count.
    services.ticket_reply_add(
        actor=agent,
        ticket=sev1,
        status_part="Need logs",
        new_status=Status.WAITING_ON_CUSTOMER,
        now=pt(0, 11),
    )
    resolution = clock(sev1, Metric.RESOLUTION)
    assert resolution.state == ClockState.PAUSED
    assert resolution.due_at is None
    assert summary(sev1).state == "paused"  # first response met, resolution paused
    services.ticket_reply_add(actor=contact, ticket=sev1, body="Logs attached", now=pt(1, 11))
    resolution = clock(sev1, Metric.RESOLUTION)
    assert resolution.state == ClockState.RUNNING
    assert resolution.due_at == pt(11, 17)  # one business day later than without the pause
    # Solved Wednesday 13:00: 2 h Mon + 6 h Tue + 4 h Wed = 12 business hours used.
    services.ticket_update(
        actor=agent,
        ticket=sev1,
        status=Status.SOLVED,
        resolution_kind=ResolutionKind.WORKAROUND,
        now=pt(2, 13),
    )
    resolution = clock(sev1, Metric.RESOLUTION)
    assert resolution.state == ClockState.MET
    assert resolution.business_seconds == 12 * H
    # Reopened Friday 09:00 by the customer: the same clock resumes with 60 h left.
    services.ticket_reply_add(actor=contact, ticket=sev1, body="It is back", now=pt(4, 9))
    resolution = clock(sev1, Metric.RESOLUTION)
    assert resolution.state == ClockState.RUNNING
    assert resolution.met_at is None
    assert resolution.cycle == 2
    assert resolution.due_at == pt(15, 13)  # Fri 8 h + 6 days of 8 h + 4 h on Tuesday
    kinds = list(resolution.events.values_list("kind", flat=True))
    assert kinds == ["started", "paused", "resumed", "met", "reopened"]


# --- Severity, policy and reported-at changes ----------------------------------------------------


def test_severity_change_recomputes_from_the_original_start_and_can_breach_at_once(
    contact, agent, lead
):
    ticket = make_ticket(contact, severity=2, now=pt(0, 9))
    assert clock(ticket).due_at == pt(4, 17)  # 40 business hours: Friday 17:00
    # Thursday noon someone realises it is a Sev 1: 24 h from Monday 09:00 passed Wed 17:00.
    services.ticket_update(actor=agent, ticket=ticket, severity=1, now=pt(3, 12))
    first = clock(ticket)
    assert first.due_at == pt(2, 17)
    assert first.breached_at == pt(2, 17)
    assert first.state == ClockState.BREACHED
    assert clock(ticket, Metric.RESOLUTION).due_at == pt(10, 17)  # a new target, same start
    events = list(first.events.values_list("kind", "due_before", "due_after"))
    assert ("recomputed", pt(4, 17), pt(2, 17)) in events
    assert events[-1][0] == "escalated"
    assert Notification.objects.filter(recipient=lead, kind="sla.escalated").count() == 1
    assert summary(ticket).state == "breached"


def test_a_breach_stays_recorded_after_a_pause_and_a_target_change(sev1, agent):
    sla.sla_sweep(now=pt(2, 17))
    assert clock(sev1).breached_at == pt(2, 17)
    services.ticket_update(
        actor=agent, ticket=sev1, status=Status.WAITING_ON_CUSTOMER, now=pt(3, 9)
    )
    services.ticket_update(actor=agent, ticket=sev1, severity=2, now=pt(3, 10))
    first = clock(sev1)
    assert first.due_at == pt(4, 17)  # the new, later target…
    assert first.breached_at == pt(2, 17)  # …and the breach is still there
    assert first.state == ClockState.BREACHED
    services.ticket_reply_add(actor=agent, ticket=sev1, status_part="Late, sorry", now=pt(3, 11))
    assert clock(sev1).met_at == pt(3, 11)
    assert clock(sev1).state == ClockState.BREACHED


def test_a_reported_at_edit_recomputes_from_the_new_start(sev1, agent):
    services.ticket_update(actor=agent, ticket=sev1, reported_at=pt(-3, 9), now=pt(0, 9, 30))
    # Reported Friday 09:00: Fri 8 h + Mon 8 h + Tue 8 h → due Tuesday 17:00.
    assert clock(sev1).started_at == pt(-3, 9)
    assert clock(sev1).due_at == pt(1, 17)
    assert "reported-at" in clock(sev1).events.last().detail


def test_a_policy_change_recomputes_open_tickets_from_their_start(
    contact, agent, lead, org, after_commit
):
    ticket = make_ticket(contact, severity=1, now=pt(0, 9))
    org.plan = Plan.ELITE
    org.save()
    contract = Contract.objects.create(
        organization=org, reference="ACME-ELITE", starts_on=dt.date(2026, 1, 1)
    )
    business = Calendar.objects.get(slug="business-hours")
    with after_commit():
        policy_save(
            actor=lead,
            name="Acme Elite",
            contract=contract,
            targets=[TargetSpec(1, Metric.FIRST_RESPONSE, 4 * H, business)],
            now=pt(0, 10),
        )
    first = clock(ticket)
    assert first.policy.name == "Acme Elite"
    assert first.due_at == pt(0, 13)
    assert clock(ticket, Metric.RESOLUTION).state == ClockState.CANCELLED
    assert TicketSla.objects.get(ticket=ticket).reason == (
        "Acme Elite contract policy, because Acme's contract ACME-ELITE says so"
    )


# --- Calendar edits ------------------------------------------------------------------------------


def test_a_calendar_edit_takes_effect_from_the_edit_and_consumed_time_stays_consumed(
    sev1, lead, after_commit
):
    business = Calendar.objects.get(slug="business-hours")
    mornings = business.versions.get().toml.replace("09:00-17:00", "09:00-13:00")
    # Tuesday 09:00: 8 h of the 24 are used. From now on the days are 4 h long.
    with after_commit():
        version = calendar_update(actor=lead, calendar=business, toml=mornings, now=pt(1, 9))
    assert version is not None
    assert version.effective_from == pt(1, 9)
    first = clock(sev1)
    assert first.due_at == pt(4, 13)  # Tue, Wed, Thu, Fri mornings: 16 h
    assert summary(sev1).next_event_at == first.warn_at
    # The 75 % warning (18 h): 10 h more after the edit: Tue 4, Wed 4, Thu 2 → Thu 11:00.
    assert first.warn_at == pt(3, 11)
    assert first.events.last().kind == "recomputed" or first.events.count() == 1


# --- Which policy applies ------------------------------------------------------------------------


def test_the_policy_rule_contract_then_deployment_then_none(lead, community):
    business = Calendar.objects.get(slug="business-hours")
    elite = make_org("Globex", plan=Plan.ELITE, deployment=Deployment.MANAGED)
    contract = Contract.objects.create(
        organization=elite, reference="GLOBEX-ELITE-2025", starts_on=dt.date(2025, 1, 1)
    )
    elite_user = make_user(Role.CONTACT, organization=elite)
    before = make_ticket(elite_user, severity=1, now=pt(0, 9))
    assert TicketSla.objects.get(ticket=before).reason == (
        "Managed instance policy, because Globex is on the Elite plan, managed instance "
        "(no contract policy is attached to its contract)"
    )
    policy_save(
        actor=lead,
        name="Elite",
        contract=contract,
        targets=[TargetSpec(1, Metric.FIRST_RESPONSE, 2 * H, business)],
    )
    ticket = make_ticket(elite_user, severity=1, now=pt(0, 9))
    sla_row = TicketSla.objects.get(ticket=ticket)
    assert sla_row.rule == TicketSla.Rule.CONTRACT
    assert sla_row.reason == (
        "Elite contract policy, because Globex's contract GLOBEX-ELITE-2025 says so"
    )
    prospect = make_user(Role.CONTACT, organization=make_org("Trial", plan=Plan.PROSPECT))
    for person, reason in (
        (community, "No SLA: community users get best-effort support"),
        (prospect, "No SLA: Trial is on the Prospect (trial) plan without a contract policy"),
    ):
        t = make_ticket(person, severity=1, now=pt(0, 9))
        assert TicketSla.objects.get(ticket=t).reason.startswith(reason)
        assert not t.sla_clocks.exists()
        assert summary(t).next_event_at is None
        assert summary(t).state == ""


def test_managed_sev1_runs_around_the_clock_and_sev2_on_the_business_week(lead):
    managed = make_org("Hooli", plan=Plan.ENTERPRISE, deployment=Deployment.MANAGED)
    person = make_user(Role.CONTACT, organization=managed)
    urgent = make_ticket(person, severity=1, now=pt(4, 16))  # Friday 16:00
    assert clock(urgent).due_at == pt(5, 16)  # Saturday 16:00: 24 real hours
    normal = make_ticket(person, severity=2, now=pt(4, 16))
    assert clock(normal).due_at == pt(11, 16)  # 40 business hours: next Friday 16:00
    assert not normal.sla_clocks.filter(metric=Metric.RESOLUTION).exists()  # Sev 2: none


def test_a_contract_policy_needs_an_enterprise_plus_or_elite_organization(lead, org):
    contract = Contract.objects.create(
        organization=org, reference="X", starts_on=dt.date(2026, 1, 1)
    )
    with pytest.raises(ValidationError, match="Enterprise Plus and Elite"):
        policy_save(actor=lead, name="Nope", contract=contract, targets=[])


# --- Warnings, breaches, escalation, quiet hours -------------------------------------------------


@pytest.fixture
def hooks(db):
    return WebhookSubscription.objects.create(url="http://127.0.0.1:9/hook", events=["sla.*"])


def test_warnings_and_breaches_are_sent_once_per_target_and_cycle(sev1, agent, lead, hooks):
    services.ticket_update(actor=agent, ticket=sev1, assignee=agent, now=pt(0, 9, 5))
    assert sla.sla_sweep(now=pt(2, 10)) == 0  # nothing due yet
    assert sla.sla_sweep(now=pt(2, 11)) == 1  # the warning point (75 %)
    assert sla.sla_sweep(now=pt(2, 11, 30)) == 0
    warning = Notification.objects.get(kind="sla.warning")
    assert warning.recipient == agent
    assert f"#{sev1.number}" in warning.title
    assert sla.sla_sweep(now=pt(2, 17)) == 1
    assert sla.sla_sweep(now=pt(2, 18)) == 0
    assert Notification.objects.filter(kind="sla.breached", recipient=agent).count() == 1
    assert Notification.objects.filter(kind="sla.escalated", recipient=lead).count() == 1
    assert Notification.objects.filter(kind="sla.warning").count() == 1
    assert list(
        WebhookDelivery.objects.order_by("created_at").values_list("event_type", flat=True)
    ) == ["sla.warning", "sla.breached"]
    first = clock(sev1)
    assert first.breached_at == pt(2, 17)
    assert list(first.events.values_list("kind", flat=True)) == [
        "started",
        "warned",
        "breached",
        "escalated",
    ]
    # The resolution clock warns in its own time (54 h: Tuesday 15:00 next week), once.
    assert sla.sla_sweep(now=pt(8, 14)) == 0
    assert sla.sla_sweep(now=pt(8, 15)) == 1
    assert Notification.objects.filter(kind="sla.warning").count() == 2


def test_a_reopened_resolution_clock_warns_again_in_its_new_cycle(sev1, agent, contact):
    sla.sla_sweep(now=pt(8, 15))  # resolution at 75 %
    services.ticket_update(
        actor=agent,
        ticket=sev1,
        status=Status.SOLVED,
        resolution_kind=ResolutionKind.FIX,
        now=pt(8, 16),
    )
    services.ticket_reply_add(actor=contact, ticket=sev1, body="Broken again", now=pt(9, 9))
    resolution = clock(sev1, Metric.RESOLUTION)
    # Already past 75 %: the new cycle's warning goes out with the reopen itself.
    assert resolution.cycle == 2
    assert resolution.warned_cycle == 2
    assert resolution.warn_at == pt(8, 15)
    warned = resolution.events.filter(kind="warned").values_list("at", flat=True)
    assert list(warned) == [pt(8, 15), pt(9, 9)]
    assert sla.sla_sweep(now=pt(9, 10)) == 0


def test_quiet_hours_hold_a_notification_until_the_agent_starts_work(contact, agent):
    ticket = make_ticket(contact, severity=2, now=pt(0, 9))
    services.ticket_update(actor=agent, ticket=ticket, assignee=agent, now=pt(0, 9))
    warn_at = clock(ticket).warn_at
    assert warn_at == pt(3, 15)  # 30 business hours: Thursday 15:00 PT, inside working hours
    agent.work_starts = dt.time(6, 0)
    agent.work_ends = dt.time(14, 0)
    agent.save()
    sla.sla_sweep(now=pt(3, 15))
    held = Notification.objects.get(kind="sla.warning")
    assert held.deliver_after == pt(4, 6)  # Friday 06:00 PT, the agent's next start


def test_sev1_on_a_24x7_policy_goes_to_the_on_call_person_at_once(agent, lead):
    from supportdesk.slas.policies import on_call_shift_add

    on_call = make_user(Role.AGENT, email="oncall@vendor.test")
    on_call_shift_add(actor=lead, user=on_call, starts_at=pt(5, 0), ends_at=pt(7, 0))
    managed = make_org("Hooli", plan=Plan.ENTERPRISE, deployment=Deployment.MANAGED)
    ticket = make_ticket(make_user(Role.CONTACT, organization=managed), severity=1, now=pt(5, 1))
    services.ticket_update(actor=agent, ticket=ticket, assignee=agent, now=pt(5, 1))
    sla.sla_sweep(now=clock(ticket).warn_at)  # Saturday night: nobody is at work
    to_on_call = Notification.objects.get(recipient=on_call, kind="sla.warning")
    assert to_on_call.deliver_after == clock(ticket).warn_at
    # Urgent: the assignee gets it at once too, not on Monday.
    assert Notification.objects.get(recipient=agent).deliver_after == clock(ticket).warn_at


def test_the_sweep_finds_due_tickets_with_one_index_range_scan(sev1):
    query = TicketSlaSummary.objects.filter(next_event_at__lte=pt(9, 0)).order_by("next_event_at")
    sql, params = query.values_list("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(row[0] for row in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "slasummary_next_event_idx" in plan


# --- Expectations (commitments) ------------------------------------------------------------------


def test_a_commitment_is_tracked_like_a_target(sev1, agent, contact, lead):
    services.ticket_reply_add(
        actor=agent,
        ticket=sev1,
        status_part="Reproduced",
        expectations_part="Update by 15:00",
        next_update_by=pt(0, 15),
        now=pt(0, 10),
    )
    promise = clock(sev1, Metric.COMMITMENT)
    assert promise.due_at == pt(0, 15)
    assert promise.warn_at == pt(0, 14)
    assert promise.message.expectations_part == "Update by 15:00"
    assert summary(sev1).next_event_at == pt(0, 14)
    sla.sla_sweep(now=pt(0, 14))
    assert Notification.objects.filter(kind="sla.warning").count() == 1
    # A customer message does not keep the promise; an agent's next public reply does.
    services.ticket_reply_add(actor=contact, ticket=sev1, body="Thanks", now=pt(0, 14, 30))
    assert clock(sev1, Metric.COMMITMENT).met_at is None
    services.ticket_reply_add(actor=agent, ticket=sev1, status_part="Patched", now=pt(0, 14, 50))
    assert clock(sev1, Metric.COMMITMENT).state == ClockState.MET


def test_a_missed_commitment_is_breached(sev1, agent):
    services.ticket_reply_add(
        actor=agent, ticket=sev1, status_part="x", next_update_by=pt(0, 12), now=pt(0, 10)
    )
    sla.sla_sweep(now=pt(0, 12))
    assert clock(sev1, Metric.COMMITMENT).breached_at == pt(0, 12)
    assert summary(sev1).state == "breached"


def test_a_commitment_must_be_in_the_future_and_made_by_an_agent(sev1, agent, contact):
    with pytest.raises(ValidationError, match="future"):
        services.ticket_reply_add(
            actor=agent, ticket=sev1, status_part="x", next_update_by=pt(0, 8), now=pt(0, 10)
        )
    with pytest.raises(ValidationError, match="agent"):
        services.ticket_reply_add(
            actor=contact, ticket=sev1, body="x", next_update_by=pt(0, 12), now=pt(0, 10)
        )


def test_next_reply_cycles_start_with_the_customer_and_end_with_our_reply(lead, agent):
    org = make_org("Initech", plan=Plan.ENTERPRISE_PLUS)
    contract = Contract.objects.create(
        organization=org, reference="IN-1", starts_on=dt.date(2026, 1, 1)
    )
    business = Calendar.objects.get(slug="business-hours")
    policy_save(
        actor=lead,
        name="Initech",
        contract=contract,
        targets=[
            TargetSpec(2, Metric.FIRST_RESPONSE, 8 * H, business),
            TargetSpec(2, Metric.NEXT_REPLY, 4 * H, business),
        ],
    )
    person = make_user(Role.CONTACT, organization=org)
    ticket = make_ticket(person, severity=2, now=pt(0, 9))
    assert not ticket.sla_clocks.filter(metric=Metric.NEXT_REPLY).exists()
    services.ticket_reply_add(actor=agent, ticket=ticket, status_part="Hi", now=pt(0, 10))
    services.ticket_reply_add(actor=person, ticket=ticket, body="More", now=pt(0, 15))
    cycle = clock(ticket, Metric.NEXT_REPLY)
    assert cycle.started_at == pt(0, 15)
    assert cycle.due_at == pt(1, 11)
    services.ticket_reply_add(actor=agent, ticket=ticket, status_part="Ok", now=pt(1, 10))
    assert clock(ticket, Metric.NEXT_REPLY).state == ClockState.MET
    services.ticket_reply_add(actor=person, ticket=ticket, body="Again", now=pt(1, 12))
    assert clock(ticket, Metric.NEXT_REPLY).cycle == 2


# --- Repair and idempotence ----------------------------------------------------------------------


def test_evaluating_twice_records_nothing_new_and_the_repair_sweep_redrives_stuck_tickets(sev1):
    # Simulate a worker that died after writing the clock but before the ticket's summary.
    TicketSlaSummary.objects.filter(pk=sev1.pk).update(next_event_at=None)
    assert sla.sla_sweep(now=pt(3, 0)) == 0  # the sweep cannot see it…
    assert sla.sla_repair(now=pt(3, 0)) == 1  # …the repair sweep can
    assert clock(sev1).breached_at == pt(2, 17)
    before = SlaClockEvent.objects.count()
    sla.sla_repair(now=pt(3, 0))
    sla.sla_sweep(now=pt(3, 0))
    assert SlaClockEvent.objects.count() == before
    assert clock(sev1).events.filter(kind="breached").count() == 1
    assert Message.objects.count() == 1
    assert SlaPolicy.objects.count() == 2
