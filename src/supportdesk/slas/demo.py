"""SLA demo data: contract policies for the Elite and Enterprise Plus demo customers, an on-call
rota, and — after the demo tickets exist — a sweep, so that `make run` shows real clocks: met,
breached, at risk and paused."""

from __future__ import annotations

import datetime as dt
from typing import Any

from supportdesk.accounts.models import Role, User
from supportdesk.organizations.models import Contract
from supportdesk.slas.clocks import sla_sweep
from supportdesk.slas.models import Calendar, Metric
from supportdesk.slas.policies import TargetSpec, on_call_shift_add, policy_save

H = 3600


def create_sla_demo_policies(*, now: dt.datetime) -> None:
    """Call after the organizations and contracts exist, before the tickets."""
    lead = User.objects.filter(role=Role.LEAD).order_by("pk").first()
    if lead is None:
        return
    business = Calendar.objects.get(slug="business-hours")
    always = Calendar.objects.get(slug="24x7")
    globex = Contract.objects.filter(reference="GLOBEX-ELITE-2025").first()
    if globex is not None:
        policy_save(
            actor=lead,
            name="Globex Elite",
            contract=globex,
            description="Elite contract: 1 h first response on Sev 1, around the clock.",
            warn_at_percent=75,
            warn_minutes_before=15,
            targets=[
                TargetSpec(1, Metric.FIRST_RESPONSE, 1 * H, always),
                TargetSpec(1, Metric.RESOLUTION, 24 * H, always),
                TargetSpec(1, Metric.NEXT_REPLY, 4 * H, always),
                TargetSpec(2, Metric.FIRST_RESPONSE, 8 * H, business),
                TargetSpec(2, Metric.NEXT_REPLY, 16 * H, business),
            ],
            now=now,
        )
    initech = Contract.objects.filter(reference="INITECH-EP-2026").first()
    if initech is not None:
        policy_save(
            actor=lead,
            name="Initech Enterprise Plus",
            contract=initech,
            description="Enterprise Plus contract: business hours, faster than the default.",
            targets=[
                TargetSpec(1, Metric.FIRST_RESPONSE, 4 * H, business),
                TargetSpec(1, Metric.RESOLUTION, 40 * H, business),
                TargetSpec(2, Metric.FIRST_RESPONSE, 16 * H, business),
            ],
            now=now,
        )
    agents = list(User.objects.filter(role=Role.AGENT).order_by("pk"))
    start = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=12)
    for week in range(2):
        for k, agent in enumerate(agents):
            begins = start + dt.timedelta(days=7 * week + 3 * k)
            on_call_shift_add(
                actor=lead,
                user=agent,
                starts_at=begins,
                ends_at=begins + dt.timedelta(days=3 if k < len(agents) - 1 else 4),
                note="Weekend and nights" if k else "Weekdays, nights",
            )


def create_sla_demo_tickets(*, now: dt.datetime) -> int:
    """A few tickets whose clocks are in a known state right now: two at risk, one paused while
    waiting on the customer, one just opened."""
    from supportdesk.tickets import services
    from supportdesk.tickets.models import Channel, Status

    people = {u.email: u for u in User.objects.filter(email__endswith="demo.test")}
    agent = people.get("agent@demo.test")
    made = 0

    def opened(email: str, subject: str, text: str, severity: int, hours_ago: float) -> Any:
        nonlocal made
        made += 1
        return services.ticket_create(
            actor=people[email],
            subject=subject,
            description=text,
            severity=severity,
            channel=Channel.PORTAL,
            now=now - dt.timedelta(hours=hours_ago),
        )

    if "bob@globex.demo.test" in people:
        opened(
            "bob@globex.demo.test",
            "Login page times out for all users",
            "Since a few minutes ago our managed instance's login page spins and times out.",
            1,
            0.8,
        )
    if "gavin@hooli.demo.test" in people:
        opened(
            "gavin@hooli.demo.test",
            "Repository sync stalled for GitLab mirror",
            "The GitLab mirror stopped syncing overnight; new commits are missing in search.",
            1,
            20,
        )
        waiting = opened(
            "nelson@hooli.demo.test",
            "Webhooks to Jenkins fail with 401",
            "Jenkins rejects the webhook calls from our instance with 401 since the upgrade.",
            1,
            30,
        )
        if agent is not None:
            services.ticket_reply_add(
                actor=agent,
                ticket=waiting,
                status_part="The webhook secret changed with the upgrade.",
                next_steps_part="Please paste the new secret (Site admin > Webhooks) in Jenkins.",
                expectations_part="Once you confirm, I will verify the deliveries on our side.",
                new_status=Status.WAITING_ON_CUSTOMER,
                channel=Channel.CONSOLE,
                now=now - dt.timedelta(hours=29),
            )
    if "milton@initech.demo.test" in people:
        question = opened(
            "milton@initech.demo.test",
            "Question about retention of search logs",
            "How long are search query logs kept, and can we shorten it for compliance?",
            2,
            0.5,
        )
        if agent is not None:
            services.ticket_reply_add(
                actor=agent,
                ticket=question,
                status_part="Search query logs are kept 30 days by default.",
                next_steps_part="I am checking with Engineering whether 7 days is supported.",
                expectations_part="I will get back to you with their answer this afternoon.",
                next_update_by=now + dt.timedelta(hours=3),
                channel=Channel.CONSOLE,
                now=now - dt.timedelta(minutes=10),
            )
    return made


def settle_demo_clocks(*, now: dt.datetime) -> int:
    """Record the warnings and breaches that are due at `now` (what the worker's sweep would do
    in its first minute)."""
    fired = 0
    while True:
        batch = sla_sweep(now=now, limit=1000)
        fired += batch
        if batch == 0:
            return fired
