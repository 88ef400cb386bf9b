"""Cursor pagination: stable under inserts, one ordered index scan per page at any depth.

Responses are `{"next": url|null, "previous": url|null, "results": [...]}`; follow `next` until
it is null. `page_size` is 25 by default, at most 100."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering: tuple[str, ...] = ("-updated_at", "-id")
    invalid_cursor_message = "That cursor is not valid: use the next/previous links as given."


class OldestFirst(Cursor):
    ordering = ("created_at", "id")


class NewestFirst(Cursor):
    ordering = ("-created_at", "-id")
