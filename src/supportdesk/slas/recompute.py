"""Recomputing many clocks at once after a calendar or policy edit, with the batch engine.

Rows are read with one raw query per chunk of tickets (instants as epoch seconds, no datetime
objects), due instants computed with `BusinessClock.due_batch` (clocks with pauses one by one),
the tickets' summaries (next SLA event, earliest unmet due, badge state) reduced with numpy, and
what changed written back in bulk: on PostgreSQL through COPY into a temporary table and one
`UPDATE … FROM` per table, on SQLite with `executemany`. Rows whose values did not change are
compared away in numpy and not sent at all.

The summaries live in the narrow `slas_ticketslasummary` (three small indexes), not on
`tickets_ticket`: a changed due instant is an update of an indexed column, which PostgreSQL
cannot do as a HOT update, so it inserts into every index of the table it is stored in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from supportdesk.sla import BusinessClock
from supportdesk.slas import engine
from supportdesk.slas.clocks import RANK_STATE, STATE_RANK
from supportdesk.slas.models import ClockState, Metric, SlaClock, SlaPolicy

NONE = np.int64(-1)  # "no instant" in the epoch arrays
CHUNK_TICKETS = 100_000


def _epoch_sql(column: str) -> str:
    """An instant as whole epoch seconds, -1 for none."""
    if connection.vendor == "postgresql":
        # date_part (double precision) rather than EXTRACT (numeric): several times cheaper, and
        # exact to the microsecond for any instant of this millennium.
        return f"COALESCE(FLOOR(date_part('epoch', {column}))::bigint, -1)"
    return f"COALESCE(CAST(strftime('%%s', {column}) AS INTEGER), -1)"  # %% : parameterised


METRIC_CODES = [m.value for m in Metric]


def _case(column: str, codes: dict[str, int], default: int) -> str:
    whens = " ".join(f"WHEN '{value}' THEN {code}" for value, code in codes.items())
    return f"CASE {column} {whens} ELSE {default} END"


@dataclass
class Rows:
    """A chunk of clocks (all clocks of the affected tickets), as columns, sorted by ticket."""

    clock_id: np.ndarray
    ticket_id: np.ndarray
    match: np.ndarray  # True: this clock is recomputed
    start: np.ndarray
    target: np.ndarray
    calendar_id: np.ndarray
    pauses: dict[int, list[tuple[int, int | None]]]  # row index → pauses (most have none)
    has_pause: np.ndarray
    cycle: np.ndarray
    warned_cycle: np.ndarray
    met: np.ndarray
    breached: np.ndarray
    cancelled: np.ndarray
    due: np.ndarray
    warn: np.ndarray
    next_event: np.ndarray
    percent: np.ndarray
    minutes: np.ndarray
    severity: np.ndarray
    metric: np.ndarray  # index into METRIC_CODES
    # As stored before the recompute, to write only what changed: the clock's columns, and per
    # clock row its ticket's summary (the state as its STATE_RANK).
    stored_due: np.ndarray
    stored_warn: np.ndarray
    stored_next_event: np.ndarray
    stored_target: np.ndarray
    stored_calendar_id: np.ndarray
    stored_cancelled: np.ndarray
    summary_next: np.ndarray
    summary_due: np.ndarray
    summary_state: np.ndarray
    summary_calendar: np.ndarray


# The columns `_load` reads, every one a whole number (instants as epoch seconds, -1 for none), so
# PostgreSQL can send them as fixed-size binary COPY rows that numpy reads without a Python loop.
_COLUMNS = (
    ("clock_id", "c.id"),
    ("ticket_id", "c.ticket_id"),
    ("match", "CASE WHEN {match} THEN 1 ELSE 0 END"),
    ("start", "{epoch:c.started_at}"),
    ("target", "COALESCE(c.target_seconds, 0)"),
    ("calendar_id", "COALESCE(c.calendar_id, -1)"),
    ("has_pause", "CASE WHEN CAST(c.pauses AS TEXT) = '[]' THEN 0 ELSE 1 END"),
    ("cycle", "c.cycle"),
    ("warned_cycle", "c.warned_cycle"),
    ("met", "{epoch:c.met_at}"),
    ("breached", "{epoch:c.breached_at}"),
    ("cancelled", "CASE WHEN c.state = 'cancelled' THEN 1 ELSE 0 END"),
    ("due", "{epoch:c.due_at}"),
    ("warn", "{epoch:c.warn_at}"),
    ("next_event", "{epoch:c.next_event_at}"),
    ("percent", "COALESCE(p.warn_at_percent, 75)"),
    ("minutes", "COALESCE(p.warn_minutes_before, 60)"),
    ("severity", "{severity}"),
    ("metric", "{metric}"),
    ("summary_next", "{epoch:s.next_event_at}"),
    ("summary_due", "{epoch:s.due_at}"),
    ("summary_state", "{state}"),
    ("summary_calendar", "COALESCE(s.calendar_id, -1)"),
)


def _select_sql(match_sql: str, *, severity: bool) -> str:
    def column(template: str) -> str:
        if template.startswith("{epoch:"):
            return _epoch_sql(template[len("{epoch:") : -1])
        return template.format(
            match=match_sql,
            severity="t.severity" if severity else "0",
            metric=_case("c.metric", {m: i for i, m in enumerate(METRIC_CODES)}, 0),
            state=_case("s.state", STATE_RANK, -1),
        )

    columns = ", ".join(f"CAST({column(t)} AS BIGINT)" for _, t in _COLUMNS)
    ticket_join = "JOIN tickets_ticket t ON t.id = c.ticket_id" if severity else ""
    return f"""
        SELECT {columns}
        FROM slas_slaclock c
        JOIN slas_ticketslasummary s ON s.ticket_id = c.ticket_id
        {ticket_join}
        LEFT JOIN slas_slapolicy p ON p.id = c.policy_id
        WHERE c.ticket_id > %s AND c.ticket_id <= %s AND s.is_open
          AND c.ticket_id IN (
              SELECT m.ticket_id FROM slas_slaclock m
              WHERE m.ticket_id > %s AND m.ticket_id <= %s AND ({match_sql.replace("c.", "m.")})
          )
    """  # noqa: S608 - match_sql is one of two constants; values are parameters


def _fetch_postgresql(sql: str, params: list[Any]) -> np.ndarray:
    """The query's rows as an (n, columns) int64 array, through binary COPY: each row is a
    field count (int16) and per field a length (int32) and a big-endian int64."""
    n = len(_COLUMNS)
    row = np.dtype(
        [("fields", ">i2"), *((f"f{i}", [("len", ">i4"), ("v", ">i8")]) for i in range(n))]
    )
    buffer = bytearray()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3
        with raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)", params) as copy:
            for block in copy:
                buffer += block
    header, trailer = 19, 2  # signature, flags, extension length; the end marker
    count = (len(buffer) - header - trailer) // row.itemsize
    records = np.frombuffer(buffer, dtype=row, count=count, offset=header)
    if count and (records["fields"] != n).any():
        raise RuntimeError("unexpected COPY row layout")
    out = np.empty((count, n), dtype=np.int64)
    for i in range(n):
        field = records[f"f{i}"]
        if count and (field["len"] != 8).any():
            raise RuntimeError("a NULL in the recompute's columns")  # every column is COALESCEd
        out[:, i] = field["v"]
    return out


def _fetch_sqlite(sql: str, params: list[Any]) -> np.ndarray:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        data = cursor.fetchall()
    return np.array(data, dtype=np.int64).reshape(len(data), len(_COLUMNS))


def _load(match_sql: str, params: list[Any], lo: int, hi: int, *, severity: bool) -> Rows | None:
    """All clocks of the open tickets in (lo, hi] that have a matching clock, with their tickets'
    stored summaries. The ticket itself is read only when `severity` is needed (a policy edit):
    whether it is open comes from the summary row."""
    sql = _select_sql(match_sql, severity=severity)
    args = [*params, lo, hi, lo, hi, *params]
    if connection.vendor == "postgresql":
        data = _fetch_postgresql(sql, args)
    else:
        data = _fetch_sqlite(sql, args)
    if not len(data):
        return None
    data = data[np.lexsort((data[:, 0], data[:, 1]))]  # by ticket, then clock
    col = {name: data[:, i].copy() for i, (name, _) in enumerate(_COLUMNS)}
    has_pause = col["has_pause"] == 1
    pauses: dict[int, list[tuple[int, int | None]]] = {}
    paused_rows = np.flatnonzero(has_pause)
    if paused_rows.size:
        row_of = {int(col["clock_id"][i]): int(i) for i in paused_rows}
        ids = list(row_of)
        for start in range(0, len(ids), 10_000):  # within SQLite's limit on parameters
            found = SlaClock.objects.filter(pk__in=ids[start : start + 10_000])
            for clock_id, stored in found.values_list("pk", "pauses"):
                if stored:
                    pauses[row_of[clock_id]] = [
                        (int(b), None if x is None else int(x)) for b, x in stored
                    ]
    has_pause[:] = False
    has_pause[list(pauses)] = True
    return Rows(
        clock_id=col["clock_id"],
        ticket_id=col["ticket_id"],
        match=col["match"] == 1,
        start=col["start"],
        target=col["target"],
        calendar_id=col["calendar_id"],
        pauses=pauses,
        has_pause=has_pause,
        cycle=col["cycle"],
        warned_cycle=col["warned_cycle"],
        met=col["met"] >= 0,
        breached=col["breached"] >= 0,
        cancelled=col["cancelled"] == 1,
        due=col["due"],
        warn=col["warn"],
        next_event=col["next_event"],
        percent=col["percent"],
        minutes=col["minutes"],
        severity=col["severity"],
        metric=col["metric"],
        stored_due=col["due"].copy(),
        stored_warn=col["warn"].copy(),
        stored_next_event=col["next_event"].copy(),
        stored_target=col["target"].copy(),
        stored_calendar_id=col["calendar_id"].copy(),
        stored_cancelled=col["cancelled"] == 1,
        summary_next=col["summary_next"],
        summary_due=col["summary_due"],
        summary_state=col["summary_state"],
        summary_calendar=col["summary_calendar"],
    )


def _compute(rows: Rows, clocks: dict[int, BusinessClock], now: int) -> None:
    """Due, warning and next event for the matching rows (in place)."""
    hit = np.flatnonzero(rows.match & ~rows.cancelled & (rows.calendar_id >= 0))
    for calendar_id in np.unique(rows.calendar_id[hit]):
        clock = clocks[int(calendar_id)]
        mine = hit[rows.calendar_id[hit] == calendar_id]
        plain = mine[~rows.has_pause[mine]]
        if plain.size:
            starts, targets = rows.start[plain], rows.target[plain]
            rows.due[plain] = clock.due_batch(starts, targets)
            warn = np.full(plain.size, np.iinfo(np.int64).max, dtype=np.int64)
            pct_budget = targets * rows.percent[plain] // 100
            use = (rows.percent[plain] > 0) & (pct_budget > 0)
            if use.any():
                found = clock.due_batch(starts[use], pct_budget[use])
                warn[use] = np.minimum(warn[use], found)
            min_budget = targets - rows.minutes[plain] * 60
            use = (rows.minutes[plain] > 0) & (min_budget > 0)
            if use.any():
                found = clock.due_batch(starts[use], min_budget[use])
                warn[use] = np.minimum(warn[use], found)
            warn[warn == np.iinfo(np.int64).max] = NONE
            rows.warn[plain] = warn
        for i in mine[rows.has_pause[mine]]:
            due = clock.due_epoch(int(rows.start[i]), int(rows.target[i]), rows.pauses[i])
            rows.due[i] = NONE if due is None else due
            if due is None:
                rows.warn[i] = NONE
                continue
            points = []
            target = int(rows.target[i])
            for budget in (
                target * int(rows.percent[i]) // 100 if rows.percent[i] else 0,
                target - int(rows.minutes[i]) * 60 if rows.minutes[i] else 0,
            ):
                if budget > 0:
                    point = clock.due_epoch(int(rows.start[i]), budget, rows.pauses[i])
                    if point is not None:
                        points.append(point)
            rows.warn[i] = min(points) if points else NONE
    # Next event: the warning (if not yet sent this cycle) or the due instant; none once met,
    # breached or cancelled.
    ne = rows.next_event
    ne[hit] = rows.due[hit]
    warn_first = (rows.warn >= 0) & (rows.warned_cycle < rows.cycle) & (rows.warn < rows.due)
    pick = hit[warn_first[hit]]
    ne[pick] = rows.warn[pick]
    done = rows.met | rows.breached | rows.cancelled | (rows.due < 0)
    ne[hit[done[hit]]] = NONE
    del now


def _summaries(rows: Rows, now: int) -> tuple[np.ndarray, ...]:
    """Per ticket: next event, earliest unmet due, its calendar, and the badge state rank."""
    never = np.iinfo(np.int64).max
    tickets, first = np.unique(rows.ticket_id, return_index=True)
    ne = np.where(rows.next_event >= 0, rows.next_event, never)
    unmet = ~rows.met & ~rows.cancelled & (rows.due >= 0)
    due = np.where(unmet, rows.due, never)
    paused = ~rows.met & ~rows.cancelled & (rows.due < 0) & (rows.target > 0)
    warned = (rows.warned_cycle >= rows.cycle) | ((rows.warn >= 0) & (rows.warn <= now))
    rank = np.full(rows.ticket_id.size, STATE_RANK["running"], dtype=np.int64)
    rank[warned] = STATE_RANK["warning"]
    rank[paused] = STATE_RANK["paused"]
    rank[rows.met] = STATE_RANK["met"]
    rank[rows.breached & ~rows.met] = STATE_RANK["breached"]
    rank[rows.cancelled] = STATE_RANK[""]
    next_event = np.minimum.reduceat(ne, first)
    soonest = np.minimum.reduceat(due, first)
    state = np.maximum.reduceat(rank, first)
    # The calendar of the soonest due clock: sort by (ticket, due) and take each ticket's first.
    order = np.lexsort((due, rows.ticket_id))
    firsts = order[np.searchsorted(rows.ticket_id[order], tickets, side="left")]
    calendar = np.where(soonest < never, rows.calendar_id[firsts], NONE)
    next_event[next_event == never] = NONE
    soonest[soonest == never] = NONE
    return tickets, next_event, soonest, state, calendar


def _write(rows: Rows, summaries: tuple[np.ndarray, ...], now: dt.datetime) -> int:
    """Write back the clocks and summaries that changed; returns how many summaries changed."""
    hit = np.flatnonzero(rows.match)
    changed = (
        (rows.due[hit] != rows.stored_due[hit])
        | (rows.warn[hit] != rows.stored_warn[hit])
        | (rows.next_event[hit] != rows.stored_next_event[hit])
        | (rows.target[hit] != rows.stored_target[hit])
        | (rows.calendar_id[hit] != rows.stored_calendar_id[hit])
        | (rows.cancelled[hit] != rows.stored_cancelled[hit])  # a policy edit cancelled it
    )
    hit = hit[changed]
    # Columns, not rows: (id, due, warn, next event, target, calendar, state-or-"").
    target = rows.target[hit].copy()
    target[target == 0] = NONE
    clock_cols: list[np.ndarray | list[str]] = [
        rows.clock_id[hit],
        rows.due[hit],
        rows.warn[hit],
        rows.next_event[hit],
        target,
        rows.calendar_id[hit],
        [ClockState.CANCELLED if c else "" for c in rows.cancelled[hit].tolist()],
    ]
    tickets, next_event, soonest, state, calendar = summaries
    # The stored summary of each ticket: the same on all its rows, so take its first row's.
    _, first = np.unique(rows.ticket_id, return_index=True)
    stored_rank = rows.summary_state[first]
    moved = (
        (next_event != rows.summary_next[first])
        | (soonest != rows.summary_due[first])
        | (state != stored_rank)
        | (calendar != rows.summary_calendar[first])
    )
    names = np.array([RANK_STATE[k] for k in range(len(RANK_STATE))], dtype=object)
    ticket_cols: list[np.ndarray | list[str]] = [
        tickets[moved],
        next_event[moved],
        soonest[moved],
        names[state[moved]].tolist(),
        calendar[moved],
    ]
    stamp = now.replace(microsecond=0)
    if connection.vendor == "postgresql":
        _write_postgresql(clock_cols, ticket_cols, stamp)
    else:
        _write_sqlite(clock_cols, ticket_cols, stamp)
    return int(moved.sum())


def _copy_text(columns: list[np.ndarray | list[str]]) -> str:
    """Columns → PostgreSQL COPY text; -1 and "" are NULL. Built column-wise with numpy."""
    texts = []
    for column in columns:
        if isinstance(column, np.ndarray):
            text = column.astype(str)
            text[column < 0] = "\\N"
            texts.append(text.tolist())
        else:
            texts.append([v or "\\N" for v in column])
    if not texts or not texts[0]:
        return ""
    return "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"


def _bounds(ids: np.ndarray | list[str]) -> list[int]:
    """The smallest and largest id of a chunk: a range condition that lets PostgreSQL join the
    temporary table to only that part of the table (it has no statistics on the temporary one)."""
    assert isinstance(ids, np.ndarray)
    return [int(ids.min()), int(ids.max())] if ids.size else [0, -1]


def _write_postgresql(
    clock_cols: list[np.ndarray | list[str]],
    ticket_cols: list[np.ndarray | list[str]],
    stamp: dt.datetime,
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS sla_clock_fix (id bigint, due bigint, "
            "warn bigint, next bigint, target bigint, calendar bigint, state text) "
            "ON COMMIT DROP"
        )
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS sla_ticket_fix (id bigint, next bigint, "
            "due bigint, state text, calendar bigint) ON COMMIT DROP"
        )
        raw = cursor.cursor  # psycopg 3
        with raw.copy("COPY sla_clock_fix FROM STDIN") as copy:
            copy.write(_copy_text(clock_cols))
        with raw.copy("COPY sla_ticket_fix FROM STDIN") as copy:
            copy.write(_copy_text(ticket_cols))
        cursor.execute(
            """
            UPDATE slas_slaclock c SET
                due_at = to_timestamp(f.due), warn_at = to_timestamp(f.warn),
                next_event_at = to_timestamp(f.next), target_seconds = f.target,
                calendar_id = f.calendar, state = COALESCE(f.state, c.state), updated_at = %s
            FROM sla_clock_fix f
            WHERE c.id = f.id AND c.id BETWEEN %s AND %s
            """,
            [stamp, *_bounds(clock_cols[0])],
        )
        # Only changed rows were copied; the summaries' UPDATE touches the narrow table's own
        # three indexes, not those of tickets_ticket.
        cursor.execute(
            """
            UPDATE slas_ticketslasummary s SET
                next_event_at = to_timestamp(f.next), due_at = to_timestamp(f.due),
                state = COALESCE(f.state, ''), calendar_id = f.calendar
            FROM sla_ticket_fix f
            WHERE s.ticket_id = f.id AND s.ticket_id BETWEEN %s AND %s
            """,
            _bounds(ticket_cols[0]),
        )
        cursor.execute("DROP TABLE sla_clock_fix")
        cursor.execute("DROP TABLE sla_ticket_fix")


def _sqlite_time(epoch: int) -> str | None:
    if epoch < 0:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _write_sqlite(
    clock_cols: list[np.ndarray | list[str]],
    ticket_cols: list[np.ndarray | list[str]],
    stamp: dt.datetime,
) -> None:
    def as_rows(cols: list[np.ndarray | list[str]]) -> list[tuple[Any, ...]]:
        plain = [c.tolist() if isinstance(c, np.ndarray) else c for c in cols]
        return list(zip(*plain, strict=True))

    clock_rows, ticket_rows = as_rows(clock_cols), as_rows(ticket_cols)
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE slas_slaclock SET due_at = %s, warn_at = %s, next_event_at = %s, "
            "target_seconds = %s, calendar_id = %s, state = COALESCE(%s, state), updated_at = %s "
            "WHERE id = %s",
            [
                (
                    _sqlite_time(due),
                    _sqlite_time(warn),
                    _sqlite_time(nxt),
                    None if target < 0 else target,
                    None if cal < 0 else cal,
                    state or None,
                    stamp.strftime("%Y-%m-%d %H:%M:%S"),
                    pk,
                )
                for pk, due, warn, nxt, target, cal, state in clock_rows
            ],
        )
        cursor.executemany(
            "UPDATE slas_ticketslasummary SET next_event_at = %s, due_at = %s, state = %s, "
            "calendar_id = %s WHERE ticket_id = %s",
            [
                (_sqlite_time(nxt), _sqlite_time(due), state, None if cal < 0 else cal, pk)
                for pk, nxt, due, state, cal in ticket_rows
            ],
        )


def _retarget(rows: Rows, policy: SlaPolicy) -> None:
    """A policy edit: each matching clock takes the policy's current target for its ticket's
    severity (or is cancelled when the policy no longer has one)."""
    targets = {(t.severity, t.metric): t for t in policy.targets.all()}
    for i in np.flatnonzero(rows.match):
        metric = METRIC_CODES[rows.metric[i]]
        if metric == Metric.COMMITMENT:
            continue
        target = targets.get((int(rows.severity[i]), metric))
        if target is None:
            rows.cancelled[i] = True
            rows.due[i] = rows.warn[i] = rows.next_event[i] = NONE
        else:
            rows.target[i] = target.target_seconds
            rows.calendar_id[i] = target.calendar_id
            rows.percent[i] = policy.warn_at_percent
            rows.minutes[i] = policy.warn_minutes_before


def _tune_postgresql() -> None:
    """For this chunk's transaction only: room for the joins' hashes and sorts of a chunk, and
    no JIT compilation (it costs about 0.2 s per query of this shape and gains nothing here)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")


def sla_recompute(
    *,
    calendar_id: int | None = None,
    policy_id: int | None = None,
    now: dt.datetime | None = None,
    chunk: int = CHUNK_TICKETS,
) -> int:
    """Recompute every open, unmet clock on `calendar_id` (or of `policy_id`) and the summaries
    of their tickets. Returns how many tickets it touched. Safe to run twice: it derives
    everything from the stored start, target and pauses."""
    if (calendar_id is None) == (policy_id is None):
        raise ValueError("recompute one calendar or one policy")
    now = now or timezone.now()
    now_epoch = int(now.timestamp())
    base = "c.met_at IS NULL AND c.state <> 'cancelled' AND c.metric <> 'commitment'"
    params: list[Any]
    if calendar_id is not None:
        match_sql, params = f"{base} AND c.calendar_id = %s", [calendar_id]
        policy = None
    else:
        assert policy_id is not None
        match_sql, params = f"{base} AND c.policy_id = %s", [policy_id]
        policy = SlaPolicy.objects.prefetch_related("targets").get(pk=policy_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(c.ticket_id), MAX(c.ticket_id) FROM slas_slaclock c WHERE {match_sql}",  # noqa: S608
            params,
        )
        lo, hi = cursor.fetchone()
    if lo is None:
        return 0
    clocks = engine.calendar_clocks()
    touched = 0
    start = lo - 1
    while start < hi:
        end = start + chunk
        with transaction.atomic():
            _tune_postgresql()
            rows = _load(match_sql, params, start, end, severity=policy is not None)
            if rows is not None:
                if policy is not None:
                    _retarget(rows, policy)
                _compute(rows, clocks, now_epoch)
                summaries = _summaries(rows, now_epoch)
                _write(rows, summaries, now)
                touched += len(summaries[0])
        start = end
    return touched
