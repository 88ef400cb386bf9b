from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_full_text_index_exists_after_all_migrations():
    """A later migration that rebuilds tickets_message on SQLite would silently drop the FTS
    triggers; this catches it."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = "
                "'tickets_message' ORDER BY name"
            )
            assert [r[0] for r in cursor.fetchall()] == [
                "tickets_message_fts_ad",
                "tickets_message_fts_ai",
                "tickets_message_fts_au",
            ]
        else:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'tickets_message_fts_idx'"
            )
            (definition,) = cursor.fetchone()
            assert "to_tsvector('english'::regconfig, body_text)" in definition
            cursor.execute(
                "SELECT 1 FROM pg_indexes WHERE indexname = 'tickets_ticket_subject_fts_idx'"
            )
            assert cursor.fetchone() is not None


@pytest.mark.django_db
def test_search_index_follows_edits_and_deletes(contact, agent):
    from supportdesk.core.testing import make_ticket
    from supportdesk.tickets.models import Message
    from supportdesk.tickets.search import message_search

    ticket = make_ticket(contact, description="kubernetes helm chart")
    message = ticket.messages.get()
    assert len(message_search(agent, "helm")) == 1
    Message.objects.filter(pk=message.pk).update(body_text="docker compose")
    assert message_search(agent, "helm") == []
    assert len(message_search(agent, "compose")) == 1
    ticket.delete()
    assert message_search(agent, "compose") == []


@pytest.mark.django_db
def test_dropped_triggers_come_back_after_migrate(contact, agent):
    """What a table rebuild on SQLite does to triggers, repaired by ensure_fulltext."""
    from supportdesk.core.testing import make_ticket
    from supportdesk.tickets.fulltext import ensure_fulltext
    from supportdesk.tickets.search import ticket_lookup

    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX tickets_ticket_subject_fts_idx")
        assert ensure_fulltext(connection) == ["tickets_ticket_subject_fts_idx"]
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER tickets_ticket_fts_ai")
    missed = make_ticket(contact, subject="Helm upgrade fails")
    assert ensure_fulltext(connection) == ["tickets_ticket_fts_ai"]
    assert ticket_lookup(agent, "helm") == [missed]  # re-indexed, not just re-triggered
    assert ensure_fulltext(connection) == []
