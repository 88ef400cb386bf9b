"""Background work for SLA clocks: ids in, state re-read, safe to run twice."""

from __future__ import annotations

from django_tasks import task

from supportdesk.slas import clocks, recompute
from supportdesk.slas.models import SlaClock, SlaPolicy, TicketSla
from supportdesk.tickets.models import Ticket


@task()
def sla_sweep_task() -> int:
    """Periodic: record the warnings and breaches that are due (and notify, once)."""
    return clocks.sla_sweep()


@task()
def sla_repair_task() -> int:
    """Periodic: re-drive tickets left inconsistent by a crash."""
    return clocks.sla_repair()


@task()
def sla_recompute_task(calendar_id: int | None = None, policy_id: int | None = None) -> int:
    """After a calendar edit: recompute the open clocks on it, in bulk."""
    return recompute.sla_recompute(calendar_id=calendar_id, policy_id=policy_id)


@task()
def sla_ticket_evaluate_task(ticket_id: int) -> list[str]:
    from django.db import transaction

    from supportdesk.tickets.models import Ticket

    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        return clocks.ticket_sla_evaluate(ticket) if ticket else []


@task()
def sla_policy_resync_task(policy_id: int) -> int:
    """After a policy edit: recompute its open clocks in bulk; tickets whose policy changes (a new
    contract policy) or that need a clock the policy did not have are re-synced one by one."""
    policy = SlaPolicy.objects.filter(pk=policy_id).select_related("contract").first()
    if policy is None:
        return 0
    touched = recompute.sla_recompute(policy_id=policy.pk)
    candidates: set[int] = set(
        TicketSla.objects.filter(policy=policy, ticket__is_open=True).values_list(
            "ticket_id", flat=True
        )
    )
    if policy.contract is not None:
        candidates |= set(
            Ticket.objects.filter(
                organization_id=policy.contract.organization_id, is_open=True
            ).values_list("pk", flat=True)
        )
    wanted = {(t.severity, t.metric) for t in policy.targets.all()}
    for ticket_id in sorted(candidates):
        sla = TicketSla.objects.filter(ticket_id=ticket_id).first()
        have = set(SlaClock.objects.filter(ticket_id=ticket_id).values_list("metric", flat=True))
        severity = Ticket.objects.filter(pk=ticket_id).values_list("severity", flat=True)
        sev = next(iter(severity), None)
        missing = {m for s, m in wanted if s == sev and m != "next_reply"} - have
        if sla is None or sla.policy_id != policy.pk or missing or not policy.is_active:
            clocks.ticket_sla_resync(ticket_id, reason=f"Policy {policy.name} changed")
            touched += 1
    return touched
