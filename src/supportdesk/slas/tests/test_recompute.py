"""The bulk recompute (batch engine, bulk write) agrees with the one-ticket path, clock by clock."""

from __future__ import annotations

import pytest

from supportdesk.core.testing import make_ticket
from supportdesk.slas import clocks as sla
from supportdesk.slas.models import Calendar, SlaClock, SlaPolicy, TicketSlaSummary
from supportdesk.slas.recompute import sla_recompute
from supportdesk.slas.tests.helpers import pt
from supportdesk.tickets import services
from supportdesk.tickets.models import ResolutionKind, Status

pytestmark = pytest.mark.django_db
CLOCK_FIELDS = ("id", "due_at", "warn_at", "next_event_at", "state", "target_seconds")
SUMMARY_FIELDS = ("ticket_id", "is_open", "next_event_at", "due_at", "state", "calendar_id")


def snapshot() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    return (
        list(SlaClock.objects.order_by("id").values_list(*CLOCK_FIELDS)),
        list(TicketSlaSummary.objects.order_by("ticket_id").values_list(*SUMMARY_FIELDS)),
    )


@pytest.fixture
def mixed(contact, agent):
    """Tickets in every state: running, warned, breached, paused, reopened, with a commitment."""
    plain = make_ticket(contact, severity=1, now=pt(0, 9))
    two = make_ticket(contact, severity=2, now=pt(0, 11))
    waiting = make_ticket(contact, severity=1, now=pt(0, 10))
    services.ticket_reply_add(
        actor=agent,
        ticket=waiting,
        status_part="Logs?",
        new_status=Status.WAITING_ON_CUSTOMER,
        now=pt(0, 12),
    )
    reopened = make_ticket(contact, severity=1, now=pt(0, 13))
    services.ticket_update(
        actor=agent, ticket=reopened, status=Status.WAITING_ON_CUSTOMER, now=pt(0, 14)
    )
    services.ticket_update(actor=agent, ticket=reopened, status=Status.OPEN, now=pt(1, 10))
    services.ticket_update(
        actor=agent,
        ticket=reopened,
        status=Status.SOLVED,
        resolution_kind=ResolutionKind.FIX,
        now=pt(1, 12),
    )
    services.ticket_reply_add(actor=contact, ticket=reopened, body="Again", now=pt(1, 15))
    promised = make_ticket(contact, severity=2, now=pt(0, 9))
    services.ticket_reply_add(
        actor=agent, ticket=promised, status_part="x", next_update_by=pt(1, 9), now=pt(0, 10)
    )
    sla.sla_sweep(now=pt(2, 12))  # warnings and a breach or two
    return [plain, two, waiting, reopened, promised]


def test_bulk_recompute_of_a_calendar_matches_the_one_ticket_path(mixed):
    before = snapshot()
    unmet = SlaClock.objects.exclude(metric="commitment").filter(met_at=None)
    affected = set(unmet.values_list("ticket_id", flat=True))
    unmet.update(due_at=None, warn_at=None, next_event_at=None)
    TicketSlaSummary.objects.filter(pk__in=affected).update(
        next_event_at=None, due_at=None, state=""
    )
    business = Calendar.objects.get(slug="business-hours")
    assert sla_recompute(calendar_id=business.pk, now=pt(2, 12)) == len(affected) == 4
    assert snapshot() == before


def test_bulk_recompute_of_a_policy_matches_the_one_ticket_path(mixed):
    before = snapshot()
    SlaClock.objects.exclude(metric="commitment").filter(met_at=None).update(
        due_at=None, warn_at=None, next_event_at=None
    )
    policy = SlaPolicy.objects.get(kind="self_hosted")
    sla_recompute(policy_id=policy.pk, now=pt(2, 12))
    assert snapshot() == before


def test_bulk_recompute_writes_only_the_rows_that_changed(mixed):
    business = Calendar.objects.get(slug="business-hours")
    stamps = dict(SlaClock.objects.values_list("id", "updated_at"))
    summaries = snapshot()[1]
    sla_recompute(calendar_id=business.pk, now=pt(2, 12))  # the same instant: nothing moved
    assert dict(SlaClock.objects.values_list("id", "updated_at")) == stamps
    assert snapshot()[1] == summaries
    # One clock loses its due instant (say, a crashed writer): only it is written again.
    broken = SlaClock.objects.filter(metric="first_response", met_at=None).order_by("id").first()
    assert broken is not None
    SlaClock.objects.filter(pk=broken.pk).update(due_at=None, next_event_at=None)
    sla_recompute(calendar_id=business.pk, now=pt(2, 13))
    after = dict(SlaClock.objects.values_list("id", "updated_at"))
    assert {pk for pk, at in after.items() if at != stamps[pk]} == {broken.pk}
    assert after[broken.pk] == pt(2, 13)
    assert SlaClock.objects.get(pk=broken.pk).due_at is not None


def test_a_closed_ticket_leaves_the_recompute_and_keeps_its_summary(mixed, agent):
    plain = mixed[0]
    services.ticket_update(
        actor=agent,
        ticket=plain,
        status=Status.SOLVED,
        resolution_kind=ResolutionKind.FIX,
        now=pt(2, 13),
    )
    stored = TicketSlaSummary.objects.get(pk=plain.pk)
    assert stored.is_open is False
    business = Calendar.objects.get(slug="business-hours")
    SlaClock.objects.filter(ticket=plain, met_at=None).update(due_at=None, next_event_at=None)
    sla_recompute(calendar_id=business.pk, now=pt(2, 14))
    # Not recomputed: the ticket is closed (its summary says so, without reading the ticket).
    assert not SlaClock.objects.filter(ticket=plain, met_at=None).exclude(due_at=None).exists()
