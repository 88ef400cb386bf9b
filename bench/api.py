"""REST API under load: the production server (gunicorn, 2 workers, production settings) on
loopback, 100,000 tickets in PostgreSQL, and a load generator sending a mix of list, read, create
and reply requests for a fixed time at increasing concurrency.

    .venv/bin/python bench/api.py                                  # PostgreSQL, the defaults below
    .venv/bin/python bench/api.py --duration 20 --levels 1,10,20   # quicker
    .venv/bin/python bench/api.py --database-url postgresql://postgres@127.0.0.1:5432/other

The database named in the URL is created if missing and seeded once by bench/queue.py's seeder
(100,000 tickets, 500,000 messages); later runs reuse it. Prints, per concurrency level,
throughput, p50/p95/p99 latency and the error count. Targets (docs/performance.md): zero errors,
p95 under 200 ms at 20 concurrent clients. Rate limits are counted as in production, with limits
high enough that the load generator (one IP, few tokens) is never refused.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

MIX = (("list", 40), ("read", 35), ("create", 10), ("reply", 15))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/supportdesk_bench_api"
    )
    p.add_argument("--tickets", type=int, default=100_000)
    p.add_argument("--duration", type=float, default=60.0, help="seconds per concurrency level")
    p.add_argument("--levels", default="1,5,10,20,40", help="concurrent clients, comma-separated")
    p.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    p.add_argument("--reseed", action="store_true")
    return p.parse_args()


def load_queue_bench():
    """bench/queue.py's seeder, shared rather than copied."""
    spec = importlib.util.spec_from_file_location("bench_queue", ROOT / "bench" / "queue.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare(args: argparse.Namespace) -> dict:
    """Seed (once), then make the tokens the load generator uses."""
    queue_bench = load_queue_bench()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("bench/api.py measures PostgreSQL: give a postgresql:// URL")
    queue_bench.ensure_postgres_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "supportdesk.settings.dev"
    os.environ.setdefault("DEBUG", "0")
    import django

    django.setup()
    import datetime as dt
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from supportdesk.accounts.models import User
    from supportdesk.api.models import ApiToken
    from supportdesk.api.tokens import api_token_create
    from supportdesk.tickets.models import Message, Ticket

    call_command("migrate", verbosity=0)
    have = Ticket.objects.count()
    if args.reseed or have < args.tickets:
        print(f"Seeding {args.tickets:,} tickets into {connection.vendor} …")
        ApiToken.objects.all().delete()
        queue_bench.seed(args.tickets, 5)
    print(
        f"Database: {connection.vendor}, {Ticket.objects.count():,} tickets, "
        f"{Message.objects.count():,} messages"
    )
    expires = timezone.now() + dt.timedelta(days=1)
    agent = User.objects.get(email="bench@vendor.test")
    contacts = list(User.objects.filter(role="contact").order_by("id")[:50])

    def token(user: User) -> str:
        return api_token_create(
            actor=user, name="bench", scopes=["read", "write"], expires_at=expires
        ).secret

    numbers = list(Ticket.objects.order_by("?").values_list("number", flat=True)[:2000])
    own = {
        c.pk: list(Ticket.objects.filter(requester=c).values_list("number", flat=True)[:20])
        for c in contacts
    }
    setup = {
        "agent": token(agent),
        "customers": [(token(c), own[c.pk]) for c in contacts if own[c.pk]],
        "numbers": numbers,
    }
    connection.close()
    return setup


@dataclass
class Level:
    clients: int
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    cpu_ms: float = 0.0  # CPU time the gunicorn workers used during the level


async def one_request(client, kind: str, setup: dict, rng: random.Random):
    agent = {"Authorization": f"Bearer {setup['agent']}"}
    customer_token, own_numbers = rng.choice(setup["customers"])
    customer = {"Authorization": f"Bearer {customer_token}"}
    if kind == "list":
        if rng.random() < 0.5:
            return await client.get("/api/v1/tickets/?open=true&page_size=25", headers=agent)
        return await client.get("/api/v1/tickets/", headers=customer)
    if kind == "read":
        if rng.random() < 0.7:
            number = rng.choice(setup["numbers"])
            return await client.get(f"/api/v1/tickets/{number}/", headers=agent)
        number = rng.choice(own_numbers)
        return await client.get(f"/api/v1/tickets/{number}/messages/", headers=customer)
    if kind == "create":
        return await client.post(
            "/api/v1/tickets/",
            json={
                "subject": f"Bench: search timeout {rng.randrange(10**6)}",
                "description": "Searches time out after 30 s since the upgrade.",
                "severity": rng.choice([1, 2]),
            },
            headers={**customer, "Idempotency-Key": str(uuid.uuid4())},
        )
    number = rng.choice(setup["numbers"])
    return await client.post(
        f"/api/v1/tickets/{number}/messages/",
        json={
            "status": "We reproduced it on 5.9.",
            "next_steps": "Engineering is preparing a patch.",
            "expectations": "Next update within 4 hours.",
        },
        headers=agent,
    )


async def run_level(base: str, clients: int, duration: float, setup: dict) -> Level:
    import httpx

    level = Level(clients)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        deadline = time.perf_counter() + duration

        async def worker(seed: int) -> None:
            rng = random.Random(seed)
            while time.perf_counter() < deadline:
                kind = rng.choices(kinds, weights)[0]
                start = time.perf_counter()
                try:
                    response = await one_request(client, kind, setup, rng)
                    ok = response.status_code < 400
                    reason = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, reason = False, type(exc).__name__
                took = (time.perf_counter() - start) * 1000
                level.latencies.append(took)
                level.by_kind.setdefault(kind, []).append(took)
                if not ok:
                    level.errors[f"{kind} {reason}"] = level.errors.get(f"{kind} {reason}", 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(clients * 1000 + i) for i in range(clients)))
        level.elapsed = time.perf_counter() - started
    return level


def workers_cpu_seconds(master_pid: int) -> float:
    """User + system CPU time used so far by gunicorn's worker processes (from /proc)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    ticks = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> int:
    args = parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    setup = prepare(args)

    from supportdesk.api.tests.server import gunicorn, manage, production_env

    with tempfile.TemporaryDirectory() as tmp:
        env = production_env(
            args.database_url,
            SUPPORTDESK_DATA_DIR=tmp,
            STATIC_ROOT=str(Path(tmp) / "static"),
            SUPPORTDESK_API_RATE_LIMIT_PER_TOKEN=str(10**9),
            SUPPORTDESK_API_RATE_LIMIT_PER_IP=str(10**9),
        )
        manage(env, "collectstatic", "--noinput", "-v0")
        with gunicorn(env, workers=args.workers, log_dir=Path(tmp)) as server:
            print(
                f"Server: gunicorn, {args.workers} workers, production settings, {server.url}; "
                f"mix {', '.join(f'{k} {w}%' for k, w in MIX)}; {args.duration:.0f} s per level"
            )
            asyncio.run(run_level(server.url, 4, min(5.0, args.duration), setup))  # warm up
            header = (
                f"{'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
                f"{'p99 ms':>8} {'errors':>7} {'load avg':>9} {'CPU ms/req':>10}"
            )
            print(header)
            results = []
            for clients in levels:
                cpu_before = workers_cpu_seconds(server.pid)
                level = asyncio.run(run_level(server.url, clients, args.duration, setup))
                level.cpu_ms = (workers_cpu_seconds(server.pid) - cpu_before) * 1000
                results.append(level)
                lat = level.latencies
                print(
                    f"{clients:>7} {len(lat):>9,} {len(lat) / level.elapsed:>8.1f} "
                    f"{statistics.median(lat):>8.1f} {percentile(lat, 0.95):>8.1f} "
                    f"{percentile(lat, 0.99):>8.1f} {sum(level.errors.values()):>7} "
                    f"{os.getloadavg()[0]:>9.2f} {level.cpu_ms / len(lat):>10.1f}",
                    flush=True,
                )
                for reason, count in sorted(level.errors.items()):
                    print(f"{'':>9}{count} × {reason}")
    print("\np95 by request kind (ms):")
    print(f"{'clients':>7} " + " ".join(f"{k:>8}" for k, _ in MIX))
    for level in results:
        print(
            f"{level.clients:>7} "
            + " ".join(f"{percentile(level.by_kind.get(k, [0.0]), 0.95):>8.1f}" for k, _ in MIX)
        )
    print(
        "\n(load avg: the machine's 1-minute run queue at the end of each level, on "
        f"{os.cpu_count()} cores shared by the server, PostgreSQL, the load generator and anything "
        "else; CPU ms/req: the gunicorn workers' CPU time per request)"
    )
    cpu = sum(level.cpu_ms for level in results) / sum(len(level.latencies) for level in results)
    print(
        f"server CPU per request over all levels: {cpu:.1f} ms, so {args.workers} workers with a "
        f"core each would serve at most {args.workers * 1000 / cpu:.0f} requests/s"
    )
    errors = sum(sum(level.errors.values()) for level in results)
    at20 = next((lv for lv in results if lv.clients == 20), None)
    verdict = "no level at 20 clients"
    if at20 is not None:
        p95 = percentile(at20.latencies, 0.95)
        verdict = f"p95 at 20 clients {p95:.0f} ms (target < 200 ms): " + (
            "OK" if p95 < 200 else "MISSED"
        )
    print(f"\nerrors: {errors} (target 0); {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
