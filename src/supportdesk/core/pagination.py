from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class CappedPaginator(Paginator[Any]):
    """A paginator that counts at most `cap` rows.

    An agent needs "5,000+ tickets", not an exact count that costs a scan of every matching row on
    each page view. Pages beyond the cap are not offered; sorting and filters narrow the list."""

    def __init__(self, object_list: Any, per_page: int, *, cap: int = 5000, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap
        self.capped = False

    @cached_property
    def count(self) -> int:
        queryset: QuerySet[Any] = self.object_list  # type: ignore[assignment]
        counted = queryset.order_by()[: self.cap + 1].count()
        self.capped = counted > self.cap
        return min(counted, self.cap)
