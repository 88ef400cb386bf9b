"""Console response times on a large database: the main queue, a ticket page and full-text search.

Seeds 100,000 tickets and 500,000 messages (once; later runs reuse them), then measures each page
over many requests through Django's full request handling (middleware, sessions, templates) and
prints the median and p95 server time.

    .venv/bin/python bench/queue.py                       # SQLite file in var/bench/
    .venv/bin/python bench/queue.py --database-url postgresql://postgres@127.0.0.1:5432/supportdesk_bench
    .venv/bin/python bench/queue.py --tickets 20000 --requests 50   # quicker

The PostgreSQL database named in the URL is created if missing and its tables are replaced.
Target (docs/performance.md): p95 under 150 ms for each page on both databases.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `queue`; keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import random
import statistics
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

WORDS = (
    "search index zoekt gitserver repository monorepo upgrade migration frontend timeout error "
    "latency permissions sync github gitlab bitbucket okta saml oidc certificate batch changeset "
    "insights dashboard chart precise navigation lsif scip golang typescript python java kotlin "
    "kubernetes helm docker compose volume disk memory cpu replica pod restart crash log trace "
    "license expired renewal staging production cluster database postgres redis blobstore "
    "webhook executor sourcegraph query regex structural diff commit branch tag symbol "
    "configuration admin site setting user team organization access token api graphql rest "
    "slow fast broken missing blank empty stuck failed retry rollback patch release version"
).split()
RARE = ["xylophone", "quasar", "marmalade", "zeppelin", "obsidian"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var/bench/queue.sqlite3'}")
    p.add_argument("--tickets", type=int, default=100_000)
    p.add_argument("--messages-per-ticket", type=int, default=5)
    p.add_argument("--requests", type=int, default=60, help="requests per page (at least 50)")
    p.add_argument("--reseed", action="store_true", help="drop and seed again")
    return p.parse_args()


def ensure_postgres_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def text(rng: random.Random, n: int) -> str:
    words = rng.choices(WORDS, k=n)
    if rng.random() < 0.002:
        words[rng.randrange(n)] = rng.choice(RARE)
    return " ".join(words).capitalize() + "."


def seed(n_tickets: int, per_ticket: int) -> None:
    import datetime as dt

    from django.db import connection, transaction
    from django.utils import timezone

    from supportdesk.accounts.models import Role, User
    from supportdesk.core.models import Counter
    from supportdesk.organizations.models import Organization
    from supportdesk.tickets.models import Message, Status, Ticket

    rng = random.Random(42)
    now = timezone.now()
    t0 = time.perf_counter()
    with transaction.atomic():
        Message.objects.all().delete()
        Ticket.objects.all().delete()
        User.objects.all().delete()
        Organization.objects.all().delete()
        orgs = Organization.objects.bulk_create(
            Organization(name=f"Customer {i}", slug=f"customer-{i}") for i in range(200)
        )
        agents = User.objects.bulk_create(
            User(email=f"agent{i}@vendor.test", name=f"Agent {i}", role=Role.AGENT)
            for i in range(20)
        )
        bench = User.objects.create_user("bench@vendor.test", "bench", role=Role.AGENT)
        agents.append(bench)
        contacts = User.objects.bulk_create(
            User(
                email=f"c{i}@customer{i % 200}.test",
                name=f"Contact {i}",
                role=Role.CONTACT,
                organization=orgs[i % 200],
            )
            for i in range(2000)
        )
    statuses = [s.value for s in Status]
    weights = [5, 30, 15, 10, 25, 15]
    batch = 5000
    for start in range(0, n_tickets, batch):
        with transaction.atomic():
            tickets = []
            for i in range(start, min(n_tickets, start + batch)):
                contact = contacts[rng.randrange(len(contacts))]
                created = now - dt.timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
                tickets.append(
                    Ticket(
                        number=1000 + i,
                        subject=text(rng, rng.randint(4, 10))[:200],
                        organization_id=contact.organization_id,
                        requester=contact,
                        severity=1 if rng.random() < 0.2 else 2,
                        status=rng.choices(statuses, weights)[0],
                        assignee=rng.choice(agents) if rng.random() < 0.7 else None,
                        reported_at=created,
                        created_at=created,
                        updated_at=created + dt.timedelta(hours=rng.randint(0, 200)),
                    )
                )
            Ticket.objects.bulk_create(tickets)
            messages = []
            for ticket in tickets:
                for k in range(per_ticket):
                    messages.append(
                        Message(
                            ticket=ticket,
                            author=ticket.requester if k % 2 == 0 else bench,
                            kind="note" if k == 3 else "reply",
                            body_text=text(rng, rng.randint(25, 90)),
                            created_at=ticket.created_at + dt.timedelta(hours=k),
                        )
                    )
            Message.objects.bulk_create(messages, batch_size=2000)
        done = min(n_tickets, start + batch)
        print(
            f"\r  seeded {done:,}/{n_tickets:,} tickets "
            f"({done * per_ticket:,} messages) in {time.perf_counter() - t0:.0f}s",
            end="",
            flush=True,
        )
    Counter.objects.update_or_create(name="ticket", defaults={"value": 1000 + n_tickets})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print()


def measure(client, url: str, n: int) -> tuple[float, float, int]:
    timings = []
    status = 0
    for _ in range(n):
        t = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - t) * 1000)
        status = response.status_code
        if status != 200:
            raise SystemExit(f"{url} answered {status}")
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], status


def main() -> int:
    args = parse_args()
    if args.requests < 50:
        raise SystemExit("--requests must be at least 50")
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "supportdesk.settings.dev"
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    if args.database_url.startswith("postgres"):
        ensure_postgres_database(args.database_url)
    else:
        (ROOT / "var/bench").mkdir(parents=True, exist_ok=True)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from supportdesk.accounts.models import User
    from supportdesk.tickets.models import Message, Ticket

    call_command("migrate", verbosity=0)
    have = Ticket.objects.count()
    if args.reseed or have != args.tickets:
        print(f"Seeding {args.tickets:,} tickets into {connection.vendor} …")
        seed(args.tickets, args.messages_per_ticket)
    print(
        f"Database: {connection.vendor}, {Ticket.objects.count():,} tickets, "
        f"{Message.objects.count():,} messages"
    )

    client = Client()
    client.force_login(User.objects.get(email="bench@vendor.test"))
    rng = random.Random(1)
    numbers = list(Ticket.objects.order_by("?").values_list("number", flat=True)[:20])
    pages = {
        "queue (all open, page 1)": "/console/?queue=open",
        "queue (unassigned, Sev 1, page 3)": "/console/?queue=unassigned&severity=1&page=3",
        "ticket page": f"/console/tickets/{rng.choice(numbers)}/",
        "search: common word": "/console/search/?q=timeout",
        "search: two words": "/console/search/?q=kubernetes+restart",
        "search: rare word": "/console/search/?q=marmalade",
    }
    print(f"\n{'page':40} {'median ms':>10} {'p95 ms':>10}   ({args.requests} requests each)")
    worst = 0.0
    for name, url in pages.items():
        client.get(url)  # warm caches and the template loader
        median, p95, _ = measure(client, url, args.requests)
        worst = max(worst, p95)
        print(f"{name:40} {median:10.1f} {p95:10.1f}")
    print(f"\nworst p95: {worst:.1f} ms (target < 150 ms): {'OK' if worst < 150 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
