"""Full-text search over ticket messages: PostgreSQL full-text search, or SQLite FTS5.

Both indexes are created by migration 0002 (a GIN expression index on PostgreSQL; an
external-content FTS5 table kept current by triggers on SQLite). Results are limited to what the
user may see before the limit is applied, so search never leaks another organization's tickets or
internal notes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from supportdesk.accounts.models import User
from supportdesk.tickets.access import tickets_visible_to
from supportdesk.tickets.models import Message, Ticket

# Highlight markers that cannot occur in stored text; swapped for <mark> after escaping.
_START, _STOP = "\x02", "\x03"
PG_CONFIG = "english"
_WORD = re.compile(r"\w+", re.UNICODE)


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


def message_search(user: User, text: str, *, limit: int = 50) -> list[MessageHit]:
    """Messages matching `text` that `user` may see, newest first, with a highlighted snippet."""
    text = text.strip()
    if not text:
        return []
    messages: QuerySet[Message] = Message.objects.filter(ticket__in=tickets_visible_to(user))
    if not user.is_staff:
        messages = messages.filter(kind=Message.Kind.REPLY)
    if connection.vendor == "postgresql":
        query_sql = f"websearch_to_tsquery('{PG_CONFIG}', %s)"
        # Constant SQL; the user's text is always a query parameter.
        matches = RawSQL(  # noqa: S611
            f"to_tsvector('{PG_CONFIG}', tickets_message.body_text) @@ {query_sql}",
            (text,),
            output_field=BooleanField(),
        )
        snippet = RawSQL(  # noqa: S611
            f"ts_headline('{PG_CONFIG}', tickets_message.body_text, {query_sql}, "
            f'\'StartSel="{_START}", StopSel="{_STOP}", MaxWords=24, MinWords=10, '
            "MaxFragments=1')",
            (text,),
        )
        rows = (
            messages.filter(matches).order_by("-created_at").values_list("id", "ticket_id")[:limit]
        )
        ids = list(rows)
        snippets = dict(
            Message.objects.filter(pk__in=[mid for mid, _ in ids])
            .annotate(snippet=snippet)
            .values_list("id", "snippet")
        )
    else:
        query = fts5_query(text)
        if not query:
            return []
        match_ids = RawSQL(
            "SELECT rowid FROM tickets_message_fts WHERE tickets_message_fts MATCH %s", (query,)
        )
        ids = list(
            messages.filter(id__in=match_ids)
            .order_by("-created_at")
            .values_list("id", "ticket_id")[:limit]
        )
        snippets = {}
        if ids:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT rowid, snippet(tickets_message_fts, 0, %s, %s, '…', 16) "
                    "FROM tickets_message_fts WHERE tickets_message_fts MATCH %s "
                    "AND rowid IN (SELECT value FROM json_each(%s))",
                    [_START, _STOP, query, json.dumps([mid for mid, _ in ids])],
                )
                snippets = dict(cursor.fetchall())
    tickets = Ticket.objects.select_related("organization").in_bulk([tid for _, tid in ids])
    return [
        MessageHit(ticket=tickets[tid], message_id=mid, snippet=highlight(snippets.get(mid, "")))
        for mid, tid in ids
        if tid in tickets
    ]
