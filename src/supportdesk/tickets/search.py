"""Full-text search over ticket messages: PostgreSQL full-text search, or SQLite FTS5.

Both indexes are created by migration 0002 (a GIN expression index on PostgreSQL; an
external-content FTS5 table kept current by triggers on SQLite). Results are limited to what the
user may see before the limit is applied, so search never leaks another organization's tickets or
internal notes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from supportdesk.accounts.models import User
from supportdesk.organizations.models import Organization
from supportdesk.tickets.access import (
    all_messages_visible_to,
    sees_everything,
    tickets_visible_to,
)
from supportdesk.tickets.fulltext import PG_CONFIG, VECTOR_COLUMN
from supportdesk.tickets.models import Message, Ticket

# Highlight markers that cannot occur in stored text; swapped for <mark> after escaping.
_START, _STOP = "\x02", "\x03"
_WORD = re.compile(r"\w+", re.UNICODE)
# How many of the newest rows are scanned before asking the GIN index (newest_matches_postgresql).
RECENT_WINDOW = 10_000


@dataclass(frozen=True)
class MessageHit:
    ticket: Ticket
    message_id: int
    snippet: SafeString


def highlight(raw: str) -> SafeString:
    """Escape a snippet from the database and turn its markers into <mark> elements."""
    escaped = str(escape(raw.replace("\n", " ")))
    return mark_safe(escaped.replace(_START, "<mark>").replace(_STOP, "</mark>"))


def fts5_query(text: str) -> str:
    """User text → a safe FTS5 query: every word quoted (no operators), all words required,
    the last one as a prefix so search-as-you-type works."""
    words = _WORD.findall(text)
    if not words:
        return ""
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def ticket_lookup(user: User, text: str, *, limit: int = 20) -> list[Ticket]:
    """Tickets whose subject (full-text), organization or requester matches `text`, most recently
    updated first.

    Each source is asked for its own few best candidates (small tables first, the subject through
    its full-text index), so nothing scans the ticket table; the user's visibility is applied to
    the candidates, or inside each source for customers, whose own set is small."""
    text = text.strip()
    if not text:
        return []
    org_ids = list(
        Organization.objects.filter(name__icontains=text).values_list("id", flat=True)[:100]
    )
    person_ids = list(
        User.objects.filter(Q(email__icontains=text) | Q(name__icontains=text)).values_list(
            "id", flat=True
        )[:500]
    )
    subject = _subject_match(text)
    visible = tickets_visible_to(user)
    order = ("-updated_at", "-id")
    if sees_everything(user):
        candidates: set[int] = set()
        if connection.vendor == "postgresql":
            candidates.update(
                int(row[0])
                for row in newest_matches_postgresql(
                    table="tickets_ticket",
                    columns=("id",),
                    order=("updated_at", "id"),
                    text=text,
                    limit=limit,
                )
            )
            subject = None
        for source in (
            visible.filter(subject) if subject is not None else None,
            visible.filter(organization_id__in=org_ids) if org_ids else None,
            visible.filter(requester_id__in=person_ids) if person_ids else None,
        ):
            if source is not None:
                candidates.update(source.order_by(*order).values_list("id", flat=True)[:limit])
        found = visible.filter(id__in=candidates)
    else:
        either = Q(organization_id__in=org_ids) | Q(requester_id__in=person_ids)
        found = visible.filter(either | Q(subject) if subject is not None else either)
    return list(found.prefetch_related("organization", "requester").order_by(*order)[:limit])


def _subject_match(text: str) -> RawSQL | None:
    if connection.vendor == "postgresql":
        return RawSQL(  # noqa: S611 - constant SQL, parameterised
            f"tickets_ticket.search_vector @@ websearch_to_tsquery('{PG_CONFIG}', %s)",
            (text,),
            output_field=BooleanField(),
        )
    query = fts5_query(text)
    if not query:
        return None
    return RawSQL(
        "tickets_ticket.id IN (SELECT rowid FROM tickets_ticket_fts "
        "WHERE tickets_ticket_fts MATCH %s)",
        (query,),
        output_field=BooleanField(),
    )


def message_search(user: User, text: str, *, limit: int = 50) -> list[MessageHit]:
    """Messages matching `text` that `user` may see, newest first, with a highlighted snippet.

    Staff search everything, so the search runs from the full-text index; a customer's search
    runs from the (small) set of messages they may read. Either way the visibility rule comes from
    `access`, and the limit applies after it."""
    text = text.strip()
    if not text:
        return []
    if connection.vendor == "postgresql":
        found = _search_postgresql(user, text, limit)
    else:
        found = _search_sqlite(user, text, limit)
    tickets = Ticket.objects.select_related("organization").in_bulk({tid for _, tid, _ in found})
    return [
        MessageHit(ticket=tickets[tid], message_id=mid, snippet=highlight(snippet))
        for mid, tid, snippet in found
        if tid in tickets
    ]


def newest_matches_postgresql(
    *, table: str, columns: tuple[str, ...], order: tuple[str, ...], text: str, limit: int
) -> list[tuple[Any, ...]]:
    """The newest `limit` rows of `table` (by `order`, descending) whose search vector matches
    `text`, fast whatever the word's frequency, without trusting the planner's guess of it.

    First the newest RECENT_WINDOW rows are walked through the ordering index and filtered: a
    common word fills the page within a few hundred rows. Only if that finds fewer than `limit`
    are the matches read through the GIN index (bitmap scan, forced) and the newest kept. Left to
    itself, PostgreSQL takes rare words for common ones (it has no statistics for words outside
    its most-common list) and walks the whole table through the ordering index."""
    query = f"{VECTOR_COLUMN} @@ websearch_to_tsquery('{PG_CONFIG}', %s)"
    wanted = ", ".join(columns)
    inner = ", ".join(dict.fromkeys((*columns, *order, VECTOR_COLUMN)))
    newest_first = ", ".join(f"{c} DESC" for c in order)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {wanted} FROM (SELECT {inner} FROM {table} "  # noqa: S608
            f"ORDER BY {newest_first} LIMIT %s) AS recent "
            f"WHERE {query} ORDER BY {newest_first} LIMIT %s",
            [RECENT_WINDOW, text, limit],
        )
        rows = [tuple(r) for r in cursor.fetchall()]
    if len(rows) == limit:
        return rows
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(
            f"SELECT {wanted} FROM {table} WHERE {query} "  # noqa: S608
            f"ORDER BY {newest_first} LIMIT %s",
            [text, limit],
        )
        return [tuple(r) for r in cursor.fetchall()]


def _search_postgresql(user: User, text: str, limit: int) -> list[tuple[int, int, str]]:
    query_sql = f"websearch_to_tsquery('{PG_CONFIG}', %s)"
    if sees_everything(user):
        ids = [
            (int(mid), int(tid))
            for mid, tid in newest_matches_postgresql(
                table="tickets_message",
                columns=("id", "ticket_id"),
                order=("created_at", "id"),
                text=text,
                limit=limit,
            )
        ]
    else:
        # A customer's own messages are few: the planner starts from them.
        matches = RawSQL(  # noqa: S611 - constant SQL, parameterised
            f"tickets_message.{VECTOR_COLUMN} @@ {query_sql}", (text,), output_field=BooleanField()
        )
        ids = list(
            all_messages_visible_to(user)
            .filter(matches)
            .order_by("-created_at", "-id")
            .values_list("id", "ticket_id")[:limit]
        )
    if not ids:
        return []
    snippet = RawSQL(  # noqa: S611
        f"ts_headline('{PG_CONFIG}', tickets_message.body_text, {query_sql}, "
        f'\'StartSel="{_START}", StopSel="{_STOP}", MaxWords=24, MinWords=10, '
        "MaxFragments=1')",
        (text,),
    )
    snippets = dict(
        Message.objects.filter(pk__in=[mid for mid, _ in ids])
        .annotate(snippet=snippet)
        .values_list("id", "snippet")
    )
    return [(mid, tid, snippets.get(mid, "")) for mid, tid in ids]


def _search_sqlite(user: User, text: str, limit: int) -> list[tuple[int, int, str]]:
    query = fts5_query(text)
    if not query:
        return []
    if sees_everything(user):
        # Straight from the index, newest (highest rowid) first: FTS5 stops after `limit`.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rowid, snippet(tickets_message_fts, 0, %s, %s, '…', 16) "
                "FROM tickets_message_fts WHERE tickets_message_fts MATCH %s "
                "ORDER BY rowid DESC LIMIT %s",
                [_START, _STOP, query, limit],
            )
            rows = cursor.fetchall()
        ticket_of = dict(
            Message.objects.filter(pk__in=[r[0] for r in rows]).values_list("id", "ticket_id")
        )
        return [(mid, ticket_of[mid], snip) for mid, snip in rows if mid in ticket_of]
    # A customer: check each message they may read against the index.
    in_index = RawSQL(
        "EXISTS (SELECT 1 FROM tickets_message_fts WHERE tickets_message_fts MATCH %s "
        "AND tickets_message_fts.rowid = tickets_message.id)",
        (query,),
        output_field=BooleanField(),
    )
    ids = list(
        all_messages_visible_to(user)
        .filter(in_index)
        .order_by("-id")
        .values_list("id", "ticket_id")[:limit]
    )
    snippets: dict[int, str] = {}
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rowid, snippet(tickets_message_fts, 0, %s, %s, '…', 16) "
                "FROM tickets_message_fts WHERE tickets_message_fts MATCH %s "
                "AND rowid IN (SELECT value FROM json_each(%s))",
                [_START, _STOP, query, json.dumps([mid for mid, _ in ids])],
            )
            snippets = dict(cursor.fetchall())
    return [(mid, tid, snippets.get(mid, "")) for mid, tid in ids]
