"""SLA sweep and recompute at 1,000,000 open tickets (PostgreSQL).

Seeds a database it creates (COPY: tickets, and their first-response and — for Sev 1 —
resolution clocks on the business-hours calendar, a few with pauses), then measures:

1. finding what is due: the sweep's query on the tickets' SLA summaries
   (`slas_ticketslasummary.next_event_at <= now`, ordered, first 500) — median and p95 over many
   runs, against the same query with index scans switched off;
2. recomputing every open ticket after a calendar edit (`sla_recompute`: batch engine, COPY of
   the changed rows into temporary tables, one UPDATE … FROM per table) — tickets per second,
   against the one-by-one engine (`BusinessClock.due` per clock) on a sample, in the same run.

    .venv/bin/python bench/sla_sweep.py
    .venv/bin/python bench/sla_sweep.py --tickets 200000          # quicker
    .venv/bin/python bench/sla_sweep.py --database-url postgresql://postgres@127.0.0.1:5432/x

Targets (docs/performance.md): under 50 ms to find the due tickets; over 50,000 tickets per
second recomputed and written back.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/supportdesk_sla_bench"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default=DEFAULT_URL)
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=50, help="runs of the due-ticket query")
    return p.parse_args()


def ensure_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def copy_rows(
    cursor: object, table: str, columns: list[str], rows: list[tuple[object, ...]]
) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
        buffer.write("\n")
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        copy.write(buffer.getvalue())


def seed(n: int, now: dt.datetime) -> dict[str, int]:
    import numpy as np
    from django.db import connection, transaction

    from supportdesk.accounts.models import Role, User
    from supportdesk.organizations.models import Organization
    from supportdesk.slas.engine import calendar_clock
    from supportdesk.slas.models import Calendar, SlaPolicy

    rng = np.random.default_rng(42)
    business = Calendar.objects.get(slug="business-hours")
    policy = SlaPolicy.objects.get(kind="self_hosted")
    clock = calendar_clock(business)
    t0 = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as c:
            c.execute(
                "TRUNCATE slas_slaclockevent, slas_slaclock, slas_ticketsla, "
                "slas_ticketslasummary, tickets_ticket_tags, tickets_ticket_ccs, "
                "tickets_ticketevent, tickets_attachment, tickets_message, "
                "notifications_notification, tickets_ticket RESTART IDENTITY CASCADE"
            )
        org, _ = Organization.objects.get_or_create(
            slug="bench", defaults={"name": "Bench Corp", "plan": "enterprise"}
        )
        requester = User.objects.filter(email="bench@customer.test").first() or (
            User.objects.create_user(
                "bench@customer.test", None, role=Role.CONTACT, organization=org
            )
        )
    now_s = int(now.timestamp())
    starts = now_s - rng.integers(0, 14 * 86400, n)
    severity = np.where(rng.random(n) < 0.3, 1, 2)
    fr_target = np.where(severity == 1, 24 * 3600, 40 * 3600)
    fr_due = clock.due_batch(starts, fr_target)
    fr_warn = clock.due_batch(starts, fr_target * 75 // 100)
    res_due = clock.due_batch(starts, np.full(n, 72 * 3600))
    res_warn = clock.due_batch(starts, np.full(n, 54 * 3600))
    paused = (severity == 1) & (rng.random(n) < 0.1)  # some resolution clocks had a pause

    def ts(epoch: int) -> str:
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).isoformat()

    ticket_cols = [
        "id",
        "number",
        "subject",
        "organization_id",
        "requester_id",
        "severity",
        "status",
        "resolution_kind",
        "channel",
        "reported_at",
        "created_at",
        "updated_at",
        "version",
    ]
    summary_cols = ["ticket_id", "is_open", "next_event_at", "due_at", "state", "calendar_id"]
    clock_cols = [
        "ticket_id",
        "metric",
        "policy_id",
        "calendar_id",
        "target_seconds",
        "started_at",
        "pauses",
        "due_at",
        "warn_at",
        "state",
        "cycle",
        "warned_cycle",
        "next_event_at",
        "updated_at",
    ]
    chunk = 100_000
    clocks = 0
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        tickets, rows, summaries = [], [], []
        for i in range(lo, hi):
            tid = i + 1
            start, sev = int(starts[i]), int(severity[i])
            fr_next = int(fr_warn[i]) if fr_warn[i] > now_s else int(fr_due[i])
            events = [fr_next]
            rows.append(
                (
                    tid,
                    "first_response",
                    policy.pk,
                    business.pk,
                    int(fr_target[i]),
                    ts(start),
                    "[]",
                    ts(fr_due[i]),
                    ts(fr_warn[i]),
                    "running",
                    1,
                    0,
                    ts(fr_next),
                    ts(now_s),
                )
            )
            if sev == 1:
                pauses = "[]"
                if paused[i]:
                    pauses = json.dumps([[start + 3600, start + 7200]])
                res_next = int(res_warn[i]) if res_warn[i] > now_s else int(res_due[i])
                events.append(res_next)
                rows.append(
                    (
                        tid,
                        "resolution",
                        policy.pk,
                        business.pk,
                        72 * 3600,
                        ts(start),
                        pauses,
                        ts(res_due[i]),
                        ts(res_warn[i]),
                        "running",
                        1,
                        0,
                        ts(res_next),
                        ts(now_s),
                    )
                )
            tickets.append(
                (
                    tid,
                    1000 + i,
                    f"Bench ticket {i}",
                    org.pk,
                    requester.pk,
                    sev,
                    "open",
                    "",
                    "portal",
                    ts(start),
                    ts(start),
                    ts(start),
                    1,
                )
            )
            summaries.append((tid, "t", ts(min(events)), ts(fr_due[i]), "running", business.pk))
        with transaction.atomic(), connection.cursor() as c:
            raw = c.cursor
            copy_rows(raw, "tickets_ticket", ticket_cols, tickets)
            copy_rows(raw, "slas_slaclock", clock_cols, rows)
            copy_rows(raw, "slas_ticketslasummary", summary_cols, summaries)
        clocks += len(rows)
    with connection.cursor() as c:
        c.execute("SELECT setval('tickets_ticket_id_seq', %s)", [n])
    # Steady state, as in production: hint bits set, visibility map built, statistics fresh, and
    # the seed's own writes flushed (otherwise the recompute pays for writing the seed to disk).
    with connection.cursor() as c:  # autocommit: VACUUM cannot run in a transaction
        c.execute("VACUUM ANALYZE tickets_ticket")
        c.execute("VACUUM ANALYZE slas_slaclock")
        c.execute("VACUUM ANALYZE slas_ticketslasummary")
        c.execute("CHECKPOINT")
    print(f"Seeded {n:,} open tickets and {clocks:,} clocks in {time.perf_counter() - t0:.1f} s")
    return {"tickets": n, "clocks": clocks}


def measure_find_due(now: dt.datetime, runs: int) -> tuple[float, float, float]:
    from django.db import connection

    from supportdesk.slas.models import TicketSlaSummary

    def query() -> list[int]:
        return list(
            TicketSlaSummary.objects.filter(next_event_at__lte=now)
            .order_by("next_event_at")
            .values_list("pk", flat=True)[:500]
        )

    found = query()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        query()
        times.append((time.perf_counter() - t) * 1000)
    sql, params = (
        TicketSlaSummary.objects.filter(next_event_at__lte=now)
        .order_by("next_event_at")
        .values_list("pk")[:500]
        .query.sql_with_params()
    )
    with connection.cursor() as c:
        c.execute("EXPLAIN " + sql, params)
        plan = [row[0] for row in c.fetchall()]
        c.execute("SET enable_indexscan = off")
        c.execute("SET enable_bitmapscan = off")
        t = time.perf_counter()
        c.execute(sql, params)
        c.fetchall()
        baseline = (time.perf_counter() - t) * 1000
        c.execute("RESET enable_indexscan")
        c.execute("RESET enable_bitmapscan")
    print(f"  plan: {' / '.join(p.strip() for p in plan[:2])}")
    print(f"  found {len(found)} due tickets (the sweep takes 500 at a time)")
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], baseline


def measure_recompute(now: dt.datetime, sample: int = 20_000) -> None:
    from supportdesk.accounts.models import Role, User
    from supportdesk.slas.engine import calendar_clock
    from supportdesk.slas.models import Calendar, SlaClock
    from supportdesk.slas.policies import calendar_update
    from supportdesk.slas.recompute import sla_recompute
    from supportdesk.tickets.models import Ticket

    lead = User.objects.filter(role=Role.LEAD).first() or User.objects.create_user(
        "bench-lead@vendor.test", None, role=Role.LEAD
    )
    business = Calendar.objects.get(slug="business-hours")
    # The baseline: the engine one clock at a time (what a naive recompute loop does).
    sample_rows = list(
        SlaClock.objects.filter(calendar=business).values_list("started_at", "target_seconds")[
            :sample
        ]
    )
    clock = calendar_clock(business)
    t = time.perf_counter()
    for start, target in sample_rows:
        clock.due(start, target)
    one_by_one = len(sample_rows) / (time.perf_counter() - t)
    import numpy as np

    starts = np.array([int(start.timestamp()) for start, _ in sample_rows], dtype=np.int64)
    targets = np.array([target for _, target in sample_rows], dtype=np.int64)
    t = time.perf_counter()
    clock.due_batch(starts, targets)
    batch = len(sample_rows) / (time.perf_counter() - t)

    toml = business.versions.order_by("-id").first().toml  # type: ignore[union-attr]
    edited = toml.replace('fri = ["09:00-17:00"]', 'fri = ["09:00-13:00"]')
    if edited == toml:
        edited = toml.replace('fri = ["09:00-13:00"]', 'fri = ["09:00-17:00"]')
    from django.db import connection, transaction

    from supportdesk.slas import engine, recompute

    with transaction.atomic():
        calendar_update(actor=lead, calendar=business, toml=edited, note="bench", now=now)
    # Read and compute only (no writes), to show where the time goes.
    match = "c.met_at IS NULL AND c.state <> 'cancelled' AND c.metric <> 'commitment'"
    match += " AND c.calendar_id = %s"
    clocks = engine.calendar_clocks()
    t = time.perf_counter()
    read = 0
    for lo in range(0, Ticket.objects.order_by("-id").values_list("id", flat=True)[0], 100_000):
        with transaction.atomic():
            recompute._tune_postgresql()
            rows = recompute._load(match, [business.pk], lo, lo + 100_000, severity=False)
            if rows is not None:
                recompute._compute(rows, clocks, int(now.timestamp()))
                read += len(recompute._summaries(rows, int(now.timestamp()))[0])
    dry = time.perf_counter() - t
    print(
        f"  read + compute only (no write): {read:,} tickets in {dry:.1f} s "
        f"= {read / dry:,.0f} tickets/s"
    )
    t = time.perf_counter()
    touched = sla_recompute(calendar_id=business.pk, now=now)
    elapsed = time.perf_counter() - t
    rate = touched / elapsed
    print(f"  recompute after a calendar edit: {touched:,} tickets in {elapsed:.1f} s")
    print(f"  = {rate:,.0f} tickets/s (target > 50,000): {'OK' if rate > 50_000 else 'MISSED'}")
    write = elapsed - dry
    print(f"  of which writing back (COPY + UPDATE of clocks and summaries): about {write:.1f} s")
    # The first write after a bulk load is the worst case: every page is written for the first
    # time since the load (full-page images in the WAL) and the freshly packed indexes split.
    # A live database has been written to and vacuumed: edit the calendar back, after the VACUUM
    # that autovacuum would run for that many updated rows, and recompute again.
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE slas_slaclock")
        c.execute("VACUUM ANALYZE slas_ticketslasummary")
    with transaction.atomic():
        calendar_update(actor=lead, calendar=business, toml=toml, note="bench, back", now=now)
    t = time.perf_counter()
    touched = sla_recompute(calendar_id=business.pk, now=now)
    elapsed = time.perf_counter() - t
    rate = touched / elapsed
    print(f"  the edit undone, after VACUUM: {touched:,} tickets in {elapsed:.1f} s")
    print(f"  = {rate:,.0f} tickets/s (target > 50,000): {'OK' if rate > 50_000 else 'MISSED'}")
    print(
        f"  engine only, {len(sample_rows):,} clocks: one at a time (baseline) "
        f"{one_by_one:,.0f}/s, batch {batch:,.0f}/s = {batch / one_by_one:.0f}x"
    )


def main() -> int:
    # bench/queue.py is named like the standard library's `queue` (which psycopg imports): keep
    # this folder off the import path.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    args = parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        print("This benchmark needs PostgreSQL (--database-url postgresql://…)", file=sys.stderr)
        return 2
    ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "supportdesk.settings.dev"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    now = timezone.now().replace(microsecond=0)
    counts = seed(args.tickets, now)
    print(f"Database: postgresql, {counts['tickets']:,} open tickets, {counts['clocks']:,} clocks")
    print()
    print("1. Finding the due tickets (index range scan on slas_ticketslasummary.next_event_at)")
    median, p95, baseline = measure_find_due(now, args.runs)
    print(
        f"  median {median:.2f} ms, p95 {p95:.2f} ms over {args.runs} runs (target < 50 ms): "
        f"{'OK' if p95 < 50 else 'MISSED'}"
    )
    print(
        f"  the same query without index scans (baseline): {baseline:.0f} ms "
        f"= {baseline / median:.0f}x slower"
    )
    print()
    print("2. Recomputing every open ticket after a calendar edit")
    measure_recompute(now)
    return 0


if __name__ == "__main__":
    sys.exit(main())
