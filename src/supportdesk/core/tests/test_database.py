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
            for table, index in (
                ("tickets_message", "tickets_message_search_idx"),
                ("tickets_ticket", "tickets_ticket_search_idx"),
            ):
                cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index])
                (definition,) = cursor.fetchone()
                assert f"ON public.{table} USING gin (search_vector)" in definition


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
            cursor.execute("DROP INDEX tickets_ticket_search_idx")
        assert ensure_fulltext(connection) == ["tickets_ticket_search_idx"]
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER tickets_ticket_fts_ai")
    missed = make_ticket(contact, subject="Helm upgrade fails")
    assert ensure_fulltext(connection) == ["tickets_ticket_fts_ai"]
    assert ticket_lookup(agent, "helm") == [missed]  # re-indexed, not just re-triggered
    assert ensure_fulltext(connection) == []


@pytest.mark.django_db
def test_search_returns_the_newest_matches_whether_the_word_is_common_or_rare(
    contact, agent, monkeypatch
):
    """Both PostgreSQL paths (recent window, then GIN) and SQLite's index order give the newest
    matches first."""
    import datetime as dt

    from supportdesk.core.testing import make_ticket
    from supportdesk.tickets import search
    from supportdesk.tickets.models import Message

    monkeypatch.setattr(search, "RECENT_WINDOW", 3)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    tickets = []
    for i in range(4):
        words = "helm chart upgrade" if i < 3 else "unrelated words"
        tickets.append(
            make_ticket(
                contact,
                subject=f"Case {i} {words}",
                description=words,
                now=base + dt.timedelta(hours=i),
            )
        )
    for i in range(3):  # the newest rows: no match for "helm"
        Message.objects.create(
            ticket=tickets[3],
            body_text="nothing here",
            created_at=base + dt.timedelta(days=1, hours=i),
        )
    hits = search.message_search(agent, "helm", limit=2)
    assert [h.ticket for h in hits] == [tickets[2], tickets[1]]
    assert search.ticket_lookup(agent, "helm", limit=2) == [tickets[2], tickets[1]]
    # Common: the recent window alone fills the page.
    assert [h.ticket for h in search.message_search(agent, "nothing", limit=2)] == [
        tickets[3],
        tickets[3],
    ]
