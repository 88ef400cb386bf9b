"""The SLA engine: due dates and elapsed business time on a calendar, one at a time or in batches.

Definitions (SPEC §3):

* ``elapsed(start, end, pauses)`` = business seconds in ``[start, end)`` minus the business seconds
  inside the pauses (overlapping pauses are merged first, so nothing is subtracted twice);
* ``due(start, target, pauses)`` = the earliest instant ``t`` at which the business time in
  ``[start, t)``, less the business time inside pauses, reaches ``target``. A budget that runs out
  exactly at closing time is due *at* closing (17:00), not at the next opening; ``target == 0`` is
  due at ``start``. A pause with no end yet (``(since, None)``) stops the clock for good: if the
  target is not reached by ``since``, ``due`` returns ``None`` ("undefined while paused"), and the
  caller recomputes once the pause ends.

How: a :class:`~supportdesk.sla.timeline.Table` holds the working time as sorted UTC intervals with
running totals. With ``i`` the last interval starting at or before ``t``, the business time from the
table's start to ``t`` is ``cum(t) = cum_end[i] - max(ends[i] - t, 0)``; then
``elapsed = cum(end) - cum(start)`` and ``due`` is the inverse: with ``C = cum(start) + target``,
take the *first* interval ``j`` whose running total at its end is ``>= C`` (the first, which is what
puts a budget ending at closing *at* closing) and answer ``ends[j] - (cum_end[j] - C)``. Both
lookups go through the table's bucket indexes rather than a binary search (see ``Table``).

Pauses: walk the merged pauses in order, spending the budget on the working time between them.

Tables are built lazily for whole local years around the instants asked about and grown when a query
falls outside (``MIN_YEAR``..``MAX_YEAR``; beyond that a :class:`HorizonError`). All instants are
whole epoch seconds: tz-aware datetimes are floored to the second, naive ones are refused.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import ArrayLike

from supportdesk.sla.calendar import (
    BusinessCalendar,
    VersionedCalendar,
    aware_epoch_seconds,
)
from supportdesk.sla.durations import duration_seconds
from supportdesk.sla.errors import CalendarError, DurationError, HorizonError, SlaError
from supportdesk.sla.timeline import (
    MAX_YEAR,
    MIN_YEAR,
    Int64Array,
    Periods,
    Table,
    build_table,
    table_span,
)
from supportdesk.sla.zones import DAY, offset_segments

try:
    from supportdesk.sla._kernel import Kernel
except ImportError:  # not compiled (see setup.py): the Python path gives the same answers
    Kernel = None  # type: ignore[assignment,misc]

KERNEL = "c" if Kernel is not None else "python"
"""Which single-query path :meth:`BusinessClock.due` uses: ``"c"`` (the compiled kernel,
``supportdesk/sla/_kernel.c``) or ``"python"`` (it was not built)."""

Pause = tuple[datetime, datetime | None]
"""A pause: ``(start, end)`` tz-aware datetimes; ``end is None`` while the pause is still open."""
EpochPause = tuple[int, int | None]
"""A pause in epoch seconds; ``end is None`` while it is still open."""

_INF = 1 << 62
# lo, hi, starts (padded), ends, cum_end, start_buckets, start_shift, cum_buckets, cum_shift
_Fast = tuple[int, int, list[int], list[int], list[int], list[int], int, list[int], int]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _not_handled(start: object, target: object) -> None:
    """The kernel's stand-in when it is not in use: every query takes the Python path."""
    return None


# Building a timedelta from a large number of seconds costs more than the rest of a due()
# call, so epoch seconds become a datetime by adding cached parts: the day's midnight (cached per
# day; the horizon bounds the cache at about 83,000 days) plus cached hours and seconds.
_MIDNIGHTS: dict[int, datetime] = {}
_HOURS = tuple(timedelta(0, h * 3600) for h in range(24))
_SECONDS_OF_HOUR = tuple(timedelta(0, s) for s in range(3600))


def _from_epoch(t: int, tz: object = UTC) -> datetime:
    """Epoch seconds → UTC datetime (cached parts added up: cheaper than fromtimestamp)."""
    day, rest = divmod(t, 86400)
    try:
        midnight = _MIDNIGHTS[day]
    except KeyError:
        midnight = _MIDNIGHTS[day] = _EPOCH + timedelta(day)
    return midnight + _HOURS[rest // 3600] + _SECONDS_OF_HOUR[rest % 3600]


def _utc_year(t: int) -> int:
    try:
        return datetime.fromtimestamp(t, UTC).year
    except (OverflowError, OSError, ValueError):
        return MAX_YEAR + 1 if t > 0 else MIN_YEAR - 1


def _iso(t: int) -> str:
    try:
        return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return f"epoch second {t}"


def _naive(value: object, what: str) -> SlaError:
    if isinstance(value, datetime):
        return SlaError(
            f"{what} {value.isoformat()} has no UTC offset; give a timezone-aware datetime"
        )
    return SlaError(f"{what} must be a datetime, got {type(value).__name__}")


def merge_pauses(pauses: Iterable[EpochPause], after: int) -> list[EpochPause]:
    """Sorted, non-overlapping pauses that end after ``after`` (open ones last and unbounded).

    Overlapping or touching pauses become one, so their business time is subtracted once.
    """
    spans: list[tuple[int, int]] = []
    for begin, end in pauses:
        if end is not None and end < begin:
            raise SlaError(f"a pause cannot end ({_iso(end)}) before it starts ({_iso(begin)})")
        stop = _INF if end is None else end
        if stop > after and stop > begin:
            spans.append((begin, stop))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for begin, stop in spans:
        if merged and begin <= merged[-1][1]:
            if stop > merged[-1][1]:
                merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((begin, stop))
    return [(begin, None if stop == _INF else stop) for begin, stop in merged]


class BusinessClock:
    """Answers ``due`` / ``elapsed`` on one calendar (or one calendar's version history).

    Build one per calendar and reuse it (:func:`clock_for` does that): it caches the calendar's
    table. It is safe to share between threads; growing the table swaps in a new immutable table.
    """

    __slots__ = (
        "_calendar",
        "_fast",
        "_grow_lock",
        "_kernel_due",
        "_periods",
        "_table",
        "_use_kernel",
    )

    def __init__(
        self, calendar: BusinessCalendar | VersionedCalendar, *, use_kernel: bool = True
    ) -> None:
        """``use_kernel=False`` keeps :meth:`due` on its pure-Python path (the tests compare the
        two); the answers are the same."""
        if isinstance(calendar, BusinessCalendar):
            periods: Periods = ((None, None, calendar),)
        elif isinstance(calendar, VersionedCalendar):
            periods = tuple(calendar.periods())
        else:
            raise CalendarError(
                f"a clock needs a BusinessCalendar or VersionedCalendar, got {calendar!r}"
            )
        self._calendar = calendar
        self._periods = periods
        self._table: Table | None = None
        # What the single-query hot path reads from the current table, in one attribute lookup;
        # replaced together with the table. (lo > hi until the first table is built.)
        self._fast: _Fast = (1, 0, [], [], [], [], 0, [], 0)
        self._grow_lock = threading.Lock()
        self._use_kernel = use_kernel and Kernel is not None
        self._kernel_due: Callable[[datetime, timedelta | int], datetime | None] = _not_handled

    @property
    def calendar(self) -> BusinessCalendar | VersionedCalendar:
        return self._calendar

    def _install(self, table: Table) -> Table:
        self._table = table
        self._fast = (
            table.lo,
            table.hi,
            table.starts_padded,
            table.ends_list,
            table.cum_end_list,
            table.start_buckets,
            table.start_shift,
            table.cum_buckets,
            table.cum_shift,
        )
        if self._use_kernel:
            self._kernel_due = Kernel(
                table.starts_padded_array,
                table.ends,
                table.cum_end,
                table.start_buckets_array,
                table.cum_buckets_array,
                table.lo,
                table.hi,
                table.start_shift,
                table.cum_shift,
            ).due
        return table

    # -- tables --------------------------------------------------------------------------------

    def _cover(self, t_lo: int, t_hi: int) -> Table:
        """A table whose range includes ``[t_lo, t_hi]`` (built or grown as needed)."""
        with self._grow_lock:
            table = self._table
            if table is not None and table.lo <= t_lo and t_hi <= table.hi:
                return table
            want_first, want_last = _utc_year(t_lo - DAY), _utc_year(t_hi + DAY)
            if want_first < MIN_YEAR or want_last > MAX_YEAR:
                bad = t_lo if want_first < MIN_YEAR else t_hi
                lo, hi = table_span(MIN_YEAR, MAX_YEAR)
                raise HorizonError(
                    f"{_iso(bad)} is outside the range the SLA engine supports "
                    f"({_iso(lo)} to {_iso(hi)})"
                )
            if table is None:
                # One spare year ahead: due dates run forward.
                first, last = want_first, min(MAX_YEAR, want_last + 1)
            else:
                first = min(table.first_year, want_first)
                last = max(table.last_year, want_last)
            return self._install(build_table(self._periods, first, last))

    def _grow_until_total(self, table: Table, needed: int) -> Table:
        """The table grown forward (same start, so running totals keep their meaning) until its
        total business time reaches ``needed``."""
        with self._grow_lock:
            current = self._table
            if current is not None and current.first_year == table.first_year:
                table = current if current.last_year > table.last_year else table
            while table.total < needed:
                if table.last_year >= MAX_YEAR:
                    raise HorizonError(
                        f"the target is not reached before {MAX_YEAR + 1}-01-01 on this calendar"
                    )
                span = table.last_year - table.first_year + 1
                last = min(MAX_YEAR, table.last_year + max(2, span))
                table = build_table(self._periods, table.first_year, last)
            return self._install(table)

    # -- single queries, epoch seconds ---------------------------------------------------------

    @staticmethod
    def _interval_at(table: Table, t: int) -> int:
        """Index of the last interval starting at or before ``t`` (``lo <= t <= hi``; see Table)."""
        i = table.start_buckets[(t - table.lo) >> table.start_shift]
        starts = table.starts_padded
        while starts[i + 1] <= t:
            i += 1
        return i

    @staticmethod
    def _interval_reaching(table: Table, c: int) -> int:
        """Index of the first interval whose running total reaches ``c`` (``c <= total``)."""
        j = table.cum_buckets[c >> table.cum_shift]
        cum_end = table.cum_end_list
        while cum_end[j] < c:
            j += 1
        return j

    def _cum(self, table: Table, t: int) -> int:
        """Business seconds from the table's start to ``t``."""
        i = self._interval_at(table, t)
        gap = table.ends_list[i] - t
        return table.cum_end_list[i] - gap if gap > 0 else table.cum_end_list[i]

    def _due_plain(self, t: int, x: int) -> int:
        """Due for a budget ``x > 0`` from ``t`` with no pauses (growing the table if needed)."""
        table = self._table
        if table is None or t < table.lo or t > table.hi:
            table = self._cover(t, t)
        wanted = self._cum(table, t) + x
        if wanted > table.total:
            table = self._grow_until_total(table, wanted)  # same start: `wanted` still holds
        j = self._interval_reaching(table, wanted)
        return table.ends_list[j] - table.cum_end_list[j] + wanted

    def due_epoch(self, start: int, target: int, pauses: Sequence[EpochPause] = ()) -> int | None:
        """:meth:`due` in whole epoch seconds (``target`` in seconds); ``None`` if an open pause
        stops the clock before the target is reached."""
        if target < 0:
            raise DurationError(f"a target cannot be negative (got {target} s)")
        if target == 0:
            if start < MIN_EPOCH or start > MAX_EPOCH:
                self._cover(start, start)  # raises the horizon error
            return start
        if not pauses:
            return self._due_plain(start, target)
        remaining, cursor = target, start
        for begin, end in merge_pauses(pauses, start):
            if begin > cursor:
                table = self._cover(cursor, begin)
                available = self._cum(table, begin) - self._cum(table, cursor)
                if available >= remaining:
                    return self._due_plain(cursor, remaining)
                remaining -= available
            if end is None:
                return None
            cursor = max(cursor, end)
        return self._due_plain(cursor, remaining)

    def elapsed_epoch(self, start: int, end: int, pauses: Sequence[EpochPause] = ()) -> int:
        """:meth:`elapsed` in whole epoch seconds."""
        if end < start:
            raise SlaError(f"the end ({_iso(end)}) is before the start ({_iso(start)})")
        table = self._table
        if table is None or start < table.lo or end > table.hi:
            table = self._cover(start, end)
        total = self._cum(table, end) - self._cum(table, start)
        for begin, stop in merge_pauses(pauses, start) if pauses else ():
            lo = max(begin, start)
            hi = end if stop is None else min(stop, end)
            if lo < hi:
                total -= self._cum(table, hi) - self._cum(table, lo)
        return total

    # -- single queries, datetimes -------------------------------------------------------------

    def due(
        self, start: datetime, target: timedelta | int, pauses: Sequence[Pause] = ()
    ) -> datetime | None:
        """The instant (UTC, whole seconds) at which ``target`` of business time is used up.

        ``target`` is a ``timedelta`` or whole seconds. Returns ``None`` only when an open pause
        (``(since, None)``) stops the clock before the target is reached.
        """
        if not pauses:
            # The compiled kernel answers the common case (see _kernel.c) and None otherwise.
            result = self._kernel_due(start, target)
            if result is not None:
                return result
        else:
            t = aware_epoch_seconds(start, "start")
            due_s = self.due_epoch(t, duration_seconds(target), _epoch_pauses(pauses))
            return None if due_s is None else datetime.fromtimestamp(due_s, UTC)
        # The Python path (no kernel, or a query it leaves to us), kept lean: the same arithmetic
        # as _due_plain, inlined; measured in bench/sla.py.
        try:
            # Subtracting an aware epoch refuses naive datetimes (TypeError) and, unlike
            # timestamp(), needs no utcoffset() call; days/seconds floor like int(timestamp())
            # for instants after 1970 (the horizon starts in 1971).
            since = start - _EPOCH
        except TypeError:
            raise _naive(start, "start") from None
        t = since.days * 86400 + since.seconds
        if type(target) is timedelta and not target.microseconds:
            x = target.days * 86400 + target.seconds
        elif type(target) is int:
            x = target
        else:
            x = duration_seconds(target)
        if x <= 0:
            if x < 0:
                raise DurationError(f"a target cannot be negative (got {x} s)")
            if t < MIN_EPOCH or t > MAX_EPOCH:
                self._cover(t, t)  # raises the horizon error
            return _from_epoch(t, UTC)
        lo, hi, starts, ends, cum_end, start_buckets, start_shift, cum_buckets, cum_shift = (
            self._fast
        )
        if t < lo or t > hi:
            return _from_epoch(self._due_plain(t, x), UTC)
        # Same as _due_plain, with bucket indexes instead of binary searches (see Table).
        i = start_buckets[(t - lo) >> start_shift]
        while starts[i + 1] <= t:
            i += 1
        gap = ends[i] - t
        wanted = (cum_end[i] - gap if gap > 0 else cum_end[i]) + x
        if wanted > cum_end[-1]:
            return _from_epoch(self._due_plain(t, x), UTC)
        j = cum_buckets[wanted >> cum_shift]
        while cum_end[j] < wanted:
            j += 1
        # _from_epoch, inlined.
        day, rest = divmod(ends[j] - cum_end[j] + wanted, 86400)
        try:
            midnight = _MIDNIGHTS[day]
        except KeyError:
            midnight = _MIDNIGHTS[day] = _EPOCH + timedelta(day)
        return midnight + _HOURS[rest // 3600] + _SECONDS_OF_HOUR[rest % 3600]

    def elapsed(self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()) -> int:
        """Business seconds in ``[start, end)`` minus those inside ``pauses``."""
        return self.elapsed_epoch(
            aware_epoch_seconds(start, "start"),
            aware_epoch_seconds(end, "end"),
            _epoch_pauses(pauses) if pauses else (),
        )

    def is_business_time(self, instant: datetime) -> bool:
        """Whether the calendar is working at ``instant``."""
        t = aware_epoch_seconds(instant, "instant")
        table = self._cover(t, t)
        i = bisect_right(table.starts_list, t) - 1
        return t < table.ends_list[i]

    def working_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working time inside ``[start, end)`` as UTC ``(from, until)`` pairs, for display."""
        t0, t1 = aware_epoch_seconds(start, "start"), aware_epoch_seconds(end, "end")
        if t1 <= t0:
            return []
        table = self._cover(t0, t1)
        i = max(1, bisect_right(table.starts_list, t0) - 1)
        found: list[tuple[datetime, datetime]] = []
        while i < len(table.starts_list) and table.starts_list[i] < t1:
            lo, hi = max(table.starts_list[i], t0), min(table.ends_list[i], t1)
            if lo < hi:
                found.append((datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC)))
            i += 1
        return found

    def zone_at(self, instant: datetime | int) -> ZoneInfo:
        """The zone of the calendar version in effect at ``instant`` (for showing local times)."""
        t = instant if isinstance(instant, int) else aware_epoch_seconds(instant, "instant")
        current = self._periods[0][2]
        for since, _until, calendar in self._periods:
            if since is None or since <= t:
                current = calendar
        return current.zone

    def to_local(self, instant: datetime) -> datetime:
        """``instant`` in the zone of the calendar version in effect then."""
        return instant.astimezone(self.zone_at(instant))

    # -- batches -------------------------------------------------------------------------------

    def due_batch(self, starts_epoch_s: ArrayLike, targets_s: ArrayLike) -> Int64Array:
        """Due instants (epoch seconds) for many starts at once, without pauses.

        ``targets_s`` is one target for all or one per start (whole seconds). This is the
        "recompute every open ticket" path: a handful of numpy passes over the starts.
        """
        starts = np.ascontiguousarray(starts_epoch_s, dtype=np.int64)
        targets = np.asarray(targets_s, dtype=np.int64)
        if starts.size == 0:
            return np.zeros(starts.shape, dtype=np.int64)
        if targets.ndim and targets.shape != starts.shape:
            raise SlaError(f"{targets.shape[0]} targets for {starts.shape[0]} starts")
        if targets.min() < 0:
            raise DurationError("a target cannot be negative")
        table = self._table
        first, last = int(starts.min()), int(starts.max())
        if table is None or first < table.lo or last > table.hi:
            table = self._cover(first, last)
        wanted = self._cum_batch(table, starts)
        wanted += targets
        if int(wanted.max()) > table.total:
            table = self._grow_until_total(table, int(wanted.max()))
        # j = the first interval whose running total at its end reaches `wanted` (see Table).
        j = table.cum_buckets_array[wanted >> table.cum_shift]
        cum_end = table.cum_end
        while True:
            short = cum_end[j] < wanted
            if not short.any():
                break
            j += short
        due: Int64Array = table.ends[j]
        due -= cum_end[j]
        due += wanted
        if targets.ndim == 0:
            if int(targets) == 0:
                due[...] = starts
        else:
            zero = targets == 0
            if zero.any():
                due[zero] = starts[zero]
        return due

    def elapsed_batch(self, starts_epoch_s: ArrayLike, ends_epoch_s: ArrayLike) -> Int64Array:
        """Business seconds in ``[start, end)`` for many pairs at once, without pauses."""
        starts = np.ascontiguousarray(starts_epoch_s, dtype=np.int64)
        ends = np.ascontiguousarray(ends_epoch_s, dtype=np.int64)
        if starts.shape != ends.shape:
            raise SlaError(f"{ends.size} ends for {starts.size} starts")
        if starts.size == 0:
            return np.zeros(starts.shape, dtype=np.int64)
        if (ends < starts).any():
            raise SlaError("an end is before its start")
        table = self._table
        first, last = int(starts.min()), int(ends.max())
        if table is None or first < table.lo or last > table.hi:
            table = self._cover(first, last)
        return self._cum_batch(table, ends) - self._cum_batch(table, starts)

    @staticmethod
    def _cum_batch(table: Table, t: Int64Array) -> Int64Array:
        """Business seconds from the table's start to each ``t`` (all inside the table)."""
        # i = the last interval starting at or before t: its bucket's, then step forward.
        i = table.start_buckets_array[(t - table.lo) >> table.start_shift]
        padded = table.starts_padded_array
        while True:
            behind = padded[i + 1] <= t
            if not behind.any():
                break
            i += behind
        gap = table.ends[i]
        gap -= t
        np.maximum(gap, 0, out=gap)
        cum: Int64Array = table.cum_end[i]
        cum -= gap
        return cum

    def utc_offsets(self, epoch_s: Int64Array) -> Int64Array:
        """Offset (seconds east of UTC) of the calendar's zone at each instant, for display."""
        epoch_s = np.asarray(epoch_s, dtype=np.int64)
        offsets = np.zeros(epoch_s.shape, dtype=np.int64)
        if epoch_s.size == 0:
            return offsets
        lo, hi = int(epoch_s.min()), int(epoch_s.max()) + 1
        for since, until, calendar in self._periods:
            mask = np.ones(epoch_s.shape, dtype=bool)
            if since is not None:
                mask &= epoch_s >= since
            if until is not None:
                mask &= epoch_s < until
            if not mask.any():
                continue
            begins, zone_offsets = offset_segments(calendar.timezone, lo, hi)
            k = np.searchsorted(np.array(begins, dtype=np.int64), epoch_s[mask], side="right") - 1
            offsets[mask] = np.array(zone_offsets, dtype=np.int64)[k]
        return offsets


MIN_EPOCH, MAX_EPOCH = table_span(MIN_YEAR, MAX_YEAR)
"""The instants the engine answers for: from 1971-01-02 to 2199-12-31 UTC."""


def _epoch_pauses(pauses: Iterable[Pause]) -> list[EpochPause]:
    converted: list[EpochPause] = []
    for pause in pauses:
        try:
            begin, end = pause
        except (TypeError, ValueError):
            raise SlaError(f"a pause is a (start, end) pair, got {pause!r}") from None
        converted.append(
            (
                aware_epoch_seconds(begin, "pause start"),
                None if end is None else aware_epoch_seconds(end, "pause end"),
            )
        )
    return converted


@lru_cache(maxsize=256)
def clock_for(calendar: BusinessCalendar | VersionedCalendar) -> BusinessClock:
    """The shared :class:`BusinessClock` of a calendar (equal calendars share one and its table)."""
    return BusinessClock(calendar)
