"""The migration that moves the SLA summary off the ticket (slas 0004 + tickets 0005) carries the
existing values over, and back when it is reversed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from supportdesk.accounts.models import User

BEFORE = [
    ("slas", "0003_clock_fillfactor"),
    ("tickets", "0004_ticket_next_sla_event_at_ticket_sla_calendar_id_and_more"),
]
AFTER = [("slas", "0004_ticketslasummary"), ("tickets", "0005_sla_summary_moved")]
DUE = dt.datetime(2026, 3, 4, 17, 0, tzinfo=dt.UTC)
NEXT = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_the_summary_moves_to_its_own_table_and_back():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = _migrate(BEFORE).loader.project_state(BEFORE).apps
        Ticket = old.get_model("tickets", "Ticket")
        # The accounts table is not part of this migration: the current model writes it.
        requester_id = User.objects.create_user("old@customer.test", None).pk

        def ticket(number: int, **fields: object) -> int:
            t = Ticket.objects.create(
                number=number,
                subject=f"Old ticket {number}",
                requester_id=requester_id,
                reported_at=DUE,
                **fields,
            )
            return int(t.pk)

        running = ticket(
            1,
            status="open",
            next_sla_event_at=NEXT,
            sla_due_at=DUE,
            sla_state="warning",
            sla_calendar_id=7,
        )
        closed = ticket(2, status="closed", sla_state="met")
        no_sla = ticket(3, status="new")

        new = _migrate(AFTER).loader.project_state(AFTER).apps
        Summary = new.get_model("slas", "TicketSlaSummary")
        rows = {
            s.ticket_id: (s.is_open, s.next_event_at, s.due_at, s.state, s.calendar_id)
            for s in Summary.objects.all()
        }
        assert rows == {
            running: (True, NEXT, DUE, "warning", 7),
            closed: (False, None, None, "met", None),
            no_sla: (True, None, None, "", None),
        }
        columns = {
            c.name
            for c in connection.introspection.get_table_description(
                connection.cursor(), "tickets_ticket"
            )
        }
        assert "sla_due_at" not in columns
        assert "next_sla_event_at" not in columns

        back = _migrate(BEFORE).loader.project_state(BEFORE).apps
        OldTicket = back.get_model("tickets", "Ticket")
        restored = {
            t.pk: (t.next_sla_event_at, t.sla_due_at, t.sla_state, t.sla_calendar_id)
            for t in OldTicket.objects.all()
        }
        assert restored == {
            running: (NEXT, DUE, "warning", 7),
            closed: (None, None, "met", None),
            no_sla: (None, None, "", None),
        }
    finally:
        _migrate(latest)
