"""Building the table behind every query: a calendar's working time as sorted UTC intervals.

For a range of whole local years, a calendar (or a calendar's version history) becomes disjoint,
sorted, non-touching UTC intervals ``[starts[k], ends[k])`` in int64 epoch seconds with a running
total of business seconds (``cum_end[k]`` = business seconds from the table's start to
``ends[k]``). Queries are then two binary searches (see :mod:`supportdesk.sla.clock`).

The build is vectorised (numpy), which is what makes ten years take a millisecond or two rather than
a ``zoneinfo`` call per business day:

1. weekly hours become *local* intervals (local epoch seconds: wall-clock time read as if it were
   UTC) for every date in the years, minus closed dates and public holidays, plus special days;
2. the zone's constant-offset segments ``[T_k, T_k+1)`` with offset ``o_k`` come from
   :mod:`supportdesk.sla.zones`; inside a segment, wall time ``w`` is UTC ``w - o_k``, so the UTC
   preimage of a local interval ``[A, B)`` is ``[A - o_k, B - o_k) ∩ [T_k, T_k+1)``. This *is* the
   rule "an instant is business time iff its wall-clock time is inside working hours": in a DST gap
   no instant has those wall times (an interval starting in the gap effectively starts at its end),
   and a repeated hour has two preimages, both counted;
3. the pieces are concatenated (already in UTC order), touching ones merged (a 24×7 calendar is a
   single interval) and clipped to the range the table vouches for.

A table vouches for ``[lo, hi)``: the local years' UTC span shrunk by a day at each end, since an
instant's wall-clock date can differ from its UTC date by less than a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from supportdesk.sla.calendar import BusinessCalendar
from supportdesk.sla.zones import DAY, EPOCH_ORDINAL, offset_segments, year_start_epoch

Int64Array = NDArray[np.int64]

MIN_YEAR = 1971
"""First local year the engine builds tables for (instants from 1971-01-02 UTC)."""
MAX_YEAR = 2199
"""Last local year the engine builds tables for (instants until 2199-12-31 UTC)."""

_EMPTY: Int64Array = np.zeros(0, dtype=np.int64)

# A calendar's history: (from, until, calendar) in epoch seconds, None = unbounded.
Periods = tuple[tuple[int | None, int | None, BusinessCalendar], ...]


def merge_intervals(starts: Int64Array, ends: Int64Array) -> tuple[Int64Array, Int64Array]:
    """Union of intervals sorted by start: drop empty ones, merge overlapping and touching ones."""
    keep = starts < ends
    if not keep.all():
        starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return _EMPTY, _EMPTY
    reach = np.maximum.accumulate(ends)
    opens_group = np.empty(starts.size, dtype=bool)
    opens_group[0] = True
    np.greater(starts[1:], reach[:-1], out=opens_group[1:])
    closes_group = np.empty(starts.size, dtype=bool)
    closes_group[-1] = True
    closes_group[:-1] = opens_group[1:]
    return starts[opens_group], reach[closes_group]


def _day_number(day: date) -> int:
    return day.toordinal() - EPOCH_ORDINAL


def local_intervals(
    calendar: BusinessCalendar, first_year: int, last_year: int
) -> tuple[Int64Array, Int64Array]:
    """Working intervals of every local date in ``first_year..last_year``, in local epoch seconds.

    Sorted and merged. Precedence as in :class:`BusinessCalendar`: special day > closed date or
    public holiday > weekly hours.
    """
    first_day = _day_number(date(first_year, 1, 1))
    day_count = _day_number(date(last_year + 1, 1, 1)) - first_day
    days = np.arange(first_day, first_day + day_count, dtype=np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)

    exceptional: set[date] = {d for d in calendar.closed_dates if first_year <= d.year <= last_year}
    holidays = calendar.public_holidays
    if holidays is not None:
        for year in range(first_year, last_year + 1):
            exceptional |= holidays.dates_in(year)
    specials = [s for s in calendar.special_days if first_year <= s.date.year <= last_year]
    exceptional.update(s.date for s in specials)

    regular = np.ones(day_count, dtype=bool)
    if exceptional:
        regular[np.fromiter((_day_number(d) - first_day for d in exceptional), dtype=np.int64)] = (
            False
        )

    start_parts: list[Int64Array] = []
    end_parts: list[Int64Array] = []
    for wd in range(7):
        ranges = calendar.hours.on(wd)
        if not ranges:
            continue
        midnights = days[(weekday == wd) & regular] * DAY
        for r in ranges:
            start_parts.append(midnights + r.start)
            end_parts.append(midnights + r.end)
    if specials:
        extra = [
            (_day_number(s.date) * DAY + r.start, _day_number(s.date) * DAY + r.end)
            for s in specials
            for r in s.hours
        ]
        if extra:
            pairs = np.array(extra, dtype=np.int64)
            start_parts.append(pairs[:, 0])
            end_parts.append(pairs[:, 1])
    if not start_parts:
        return _EMPTY, _EMPTY
    starts = np.concatenate(start_parts)
    ends = np.concatenate(end_parts)
    order = np.argsort(starts, kind="stable")
    return merge_intervals(starts[order], ends[order])


def utc_intervals(
    zone_key: str, local_starts: Int64Array, local_ends: Int64Array, window: tuple[int, int]
) -> tuple[Int64Array, Int64Array]:
    """UTC instants in ``window`` whose wall-clock time in ``zone_key`` is in a local interval."""
    lo, hi = window
    begins, offsets = offset_segments(zone_key, lo, hi)
    bounds = [*begins, hi]
    start_parts: list[Int64Array] = []
    end_parts: list[Int64Array] = []
    for k, offset in enumerate(offsets):
        seg_lo, seg_hi = bounds[k], bounds[k + 1]
        # Local intervals that reach into this segment's wall-clock span [seg_lo+o, seg_hi+o).
        first = int(np.searchsorted(local_ends, seg_lo + offset, side="right"))
        last = int(np.searchsorted(local_starts, seg_hi + offset, side="left"))
        if first < last:
            start_parts.append(np.maximum(local_starts[first:last] - offset, seg_lo))
            end_parts.append(np.minimum(local_ends[first:last] - offset, seg_hi))
    if not start_parts:
        return _EMPTY, _EMPTY
    return merge_intervals(np.concatenate(start_parts), np.concatenate(end_parts))


MAX_BUCKETS = 1 << 16
"""Upper bound on the entries of each bucket index (memory: a few MB per table at most)."""


def _bucket_shift(min_spacing: int, span: int) -> int:
    """log2 of the bucket width: the largest power of two not above ``min_spacing`` (so a bucket
    holds at most one boundary), widened until there are at most ``MAX_BUCKETS`` buckets."""
    shift = min(max(min_spacing, 1).bit_length() - 1, 30)
    while (span >> shift) >= MAX_BUCKETS:
        shift += 1
    return shift


@dataclass(frozen=True, slots=True, eq=False)
class Table:
    """Working time in ``[lo, hi)`` as UTC intervals with running business-second totals.

    Index 0 is a zero-length sentinel at ``lo`` so that "the last interval starting at or before t"
    always exists for ``t >= lo``. The same data is kept as numpy arrays (batch queries) and as
    Python lists (single queries: on one value, list lookups beat numpy's per-call overhead).

    Single queries find their interval without a binary search: ``start_buckets[(t - lo) >>
    start_shift]`` is the last interval starting at or before the bucket's first second, and a
    bucket is normally no wider than the closest two interval starts, so at most a step or two
    forward remains (``starts_padded`` ends with a sentinel that stops that walk). Likewise
    ``cum_buckets[c >> cum_shift]`` is the first interval whose running total reaches the bucket's
    first business second. Batches do the same with numpy gathers. Measured in bench/sla.py, this
    beats binary search (``bisect``, ``numpy.searchsorted`` on unsorted queries) by about a
    quarter for single queries and by several times for batches; for fragmented calendars the
    walk is longer but the answer the same.
    """

    first_year: int
    last_year: int
    lo: int
    hi: int
    starts: Int64Array
    ends: Int64Array
    cum_end: Int64Array
    starts_list: list[int]
    ends_list: list[int]
    cum_end_list: list[int]
    starts_padded: list[int]
    start_buckets: list[int]
    start_shift: int
    cum_buckets: list[int]
    cum_shift: int
    starts_padded_array: Int64Array
    start_buckets_array: Int64Array
    cum_buckets_array: Int64Array

    @property
    def total(self) -> int:
        """Business seconds in ``[lo, hi)``."""
        return self.cum_end_list[-1]


def table_span(first_year: int, last_year: int) -> tuple[int, int]:
    """The UTC range ``[lo, hi)`` a table of these local years vouches for."""
    return year_start_epoch(first_year) + DAY, year_start_epoch(last_year + 1) - DAY


def build_table(periods: Periods, first_year: int, last_year: int) -> Table:
    """The table of a calendar history for local years ``first_year..last_year``."""
    lo, hi = table_span(first_year, last_year)
    start_parts: list[Int64Array] = []
    end_parts: list[Int64Array] = []
    for since, until, calendar in periods:
        window = (lo if since is None else max(lo, since), hi if until is None else min(hi, until))
        if window[0] >= window[1]:
            continue
        local_starts, local_ends = local_intervals(calendar, first_year, last_year)
        starts, ends = utc_intervals(calendar.timezone, local_starts, local_ends, window)
        start_parts.append(starts)
        end_parts.append(ends)
    # Each period's pieces lie inside its window and the windows are in order, so this is sorted.
    starts, ends = merge_intervals(
        np.concatenate(start_parts) if start_parts else _EMPTY,
        np.concatenate(end_parts) if end_parts else _EMPTY,
    )
    # The sentinel [lo, lo) goes first; a real interval may start at lo too, which is fine.
    starts = np.concatenate([np.array([lo], dtype=np.int64), starts])
    ends = np.concatenate([np.array([lo], dtype=np.int64), ends])
    cum_end = np.cumsum(ends - starts)
    lengths = ends[1:] - starts[1:]
    start_gaps = np.diff(starts[1:])
    start_shift = _bucket_shift(int(start_gaps.min()) if start_gaps.size else hi - lo, hi - lo)
    bucket_firsts = lo + (np.arange(((hi - lo) >> start_shift) + 2, dtype=np.int64) << start_shift)
    start_buckets = np.searchsorted(starts, bucket_firsts, side="right") - 1
    total = int(cum_end[-1])
    cum_shift = _bucket_shift(int(lengths.min()) if lengths.size else total, total)
    cum_firsts = np.arange((total >> cum_shift) + 2, dtype=np.int64) << cum_shift
    cum_buckets = np.minimum(np.searchsorted(cum_end, cum_firsts, side="left"), cum_end.size - 1)
    starts_list = starts.tolist()
    starts_padded = np.append(starts, np.int64(1 << 62))
    return Table(
        first_year=first_year,
        last_year=last_year,
        lo=lo,
        hi=hi,
        starts=starts,
        ends=ends,
        cum_end=cum_end,
        starts_list=starts_list,
        ends_list=ends.tolist(),
        cum_end_list=cum_end.tolist(),
        starts_padded=[*starts_list, 1 << 62],
        start_buckets=start_buckets.tolist(),
        start_shift=start_shift,
        cum_buckets=cum_buckets.tolist(),
        cum_shift=cum_shift,
        starts_padded_array=starts_padded,
        start_buckets_array=start_buckets,
        cum_buckets_array=cum_buckets,
    )
