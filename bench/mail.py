"""The e-mail channel under load: messages delivered over LMTP, stored first, threaded into tickets.

Starts the LMTP listener (`supportdesk mail lmtp`) as its own process on a fresh database, then:

1. baseline: one client delivers --baseline messages over one connection, nothing else running;
2. starts --workers worker processes (`supportdesk worker`) and waits until they have processed
   the baseline messages;
3. the run: --clients concurrent clients deliver --messages messages (one LMTP connection each,
   one transaction per message, like a mail server's connection cache) while the workers process
   them; a 4xx answer is retried like a mail server would (counted).

Prints accepted messages per second (and the ratio to the one-client baseline measured in the same
run), the time from the first delivery until every message is threaded into a ticket, and lost
(answered 250 but not stored or not on a ticket) and duplicated (stored or added to a ticket twice)
counts, against the targets (docs/performance.md): at least 200 messages/s accepted, everything
processed within 2 minutes, zero lost or duplicated.

    .venv/bin/python bench/mail.py                          # SQLite file in var/bench/mail/
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mail_bench .venv/bin/python bench/mail.py
    .venv/bin/python bench/mail.py --messages 2000          # quicker

The database is created afresh (a PostgreSQL database named in the URL is dropped and created).
About 30 % of the messages are replies (In-Reply-To an earlier message of the same sender).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a `queue.py`, named like the standard library's module: keep it off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import random
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

SUPPORT = "support@bench.test"
WORDS = (
    "search index upgrade migration timeout error latency permissions sync certificate batch "
    "dashboard chart navigation kubernetes helm docker volume disk memory replica restart crash "
    "license renewal staging production cluster database postgres redis webhook executor query "
    "configuration admin setting user team organization token slow broken missing stuck failed"
).split()
TARGET_RATE = 200.0
TARGET_PROCESSED_SECONDS = 120.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL")
        or f"sqlite:///{ROOT / 'var/bench/mail/mail.sqlite3'}",
    )
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--baseline", type=int, default=1_000, help="messages of the 1-client baseline")
    p.add_argument("--workers", type=int, default=2, help="worker processes")
    p.add_argument("--listener-threads", type=int, default=8)
    p.add_argument("--senders", type=int, default=300, help="distinct sender addresses")
    return p.parse_args()


def fresh_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        shutil.rmtree(path.parent, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def environment(url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": url,
        "SUPPORTDESK_DATA_DIR": str(data_dir),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "TASKS_BACKEND": "database",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "SUPPORTDESK_MAIL_ADDRESSES": SUPPORT,
        "SUPPORTDESK_SUPPORT_ADDRESS": SUPPORT,
        "SUPPORTDESK_PROBES_IN_WORKER": "0",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mail:
    message_id: str
    sender: str
    raw: bytes


def build_messages(prefix: str, count: int, senders: int, seed: int) -> list[Mail]:
    """New messages and, about 30 % of the time, a reply to an earlier one of the same sender."""
    rng = random.Random(seed)
    domains = [f"customer{n}.test" for n in range(20)]
    addresses = [f"user{n}@{domains[n % len(domains)]}" for n in range(senders)]
    last_of: dict[str, tuple[str, str]] = {}
    mails = []
    for n in range(count):
        sender = rng.choice(addresses)
        message_id = f"<{prefix}-{n}@{sender.split('@')[1]}>"
        headers = ""
        previous = last_of.get(sender)
        if previous is not None and rng.random() < 0.3:
            subject = f"Re: {previous[1]}"
            headers = f"In-Reply-To: {previous[0]}\r\nReferences: {previous[0]}\r\n"
            body = " ".join(rng.choices(WORDS, k=rng.randint(20, 120))) + ".\r\n"
            body += "".join(f"> {w}\r\n" for w in rng.choices(WORDS, k=10))
        else:
            subject = " ".join(rng.choices(WORDS, k=rng.randint(3, 8))).capitalize()
            body = " ".join(rng.choices(WORDS, k=rng.randint(40, 300))) + ".\r\n"
        last_of[sender] = (message_id, subject.removeprefix("Re: "))
        raw = (
            f"From: {sender}\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\nDate: Fri, 27 Nov 2026 09:00:00 +0000\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{headers}\r\n"
            f"Hello,\r\n\r\n{body}\r\nThanks,\r\n{sender.split('@')[0]}\r\n"
        ).encode()
        mails.append(Mail(message_id=message_id, sender=sender, raw=raw))
    return mails


@dataclass
class Tally:
    accepted: set[str] = field(default_factory=set)
    temporary: int = 0
    dropped: int = 0
    permanent: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def deliver(port: int, mails: list[Mail], tally: Tally) -> None:
    """One LMTP connection; a 4xx or a dropped connection is retried (reconnecting), up to 10
    times per message, like a mail server's queue."""
    client: smtplib.LMTP | None = None
    for mail in mails:
        for _attempt in range(10):
            try:
                if client is None:
                    client = smtplib.LMTP("127.0.0.1", port, timeout=120)
                refused = client.sendmail(mail.sender, [SUPPORT], mail.raw)
            except smtplib.SMTPResponseException as exc:
                with tally.lock:
                    if 400 <= exc.smtp_code < 500:
                        tally.temporary += 1
                        time.sleep(0.2)
                        continue
                    tally.permanent.append(f"{mail.message_id}: {exc.smtp_code} {exc.smtp_error!r}")
                break
            except smtplib.SMTPRecipientsRefused as exc:
                with tally.lock:
                    tally.permanent.append(f"{mail.message_id}: {exc.recipients}")
                break
            except (smtplib.SMTPException, OSError):
                with tally.lock:
                    tally.dropped += 1
                client = None
                time.sleep(0.2)
                continue
            if not refused:
                with tally.lock:
                    tally.accepted.add(mail.message_id)
            break
    if client is not None:
        client.quit()


def deliver_all(port: int, mails: list[Mail], clients: int) -> tuple[Tally, float]:
    tally = Tally()
    threads = [
        threading.Thread(target=deliver, args=(port, mails[i::clients], tally))
        for i in range(clients)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - start


def start(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "supportdesk", *args],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the listener exited:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("the listener did not start")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU time of the processes (Linux /proc), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for process in processes:
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def wait_processed(prefix: str, expected: int, timeout: float) -> float | None:
    """Seconds until `expected` messages whose Message-ID starts with `prefix` are processed
    onto a ticket, or None on timeout."""
    from django.db import connection

    from supportdesk.mail.models import InboundMessage

    start = time.perf_counter()
    rows = InboundMessage.objects.filter(message_id__startswith=f"<{prefix}-")
    while time.perf_counter() - start < timeout:
        done = rows.filter(ticket__isnull=False).count()
        quarantined = rows.filter(state=InboundMessage.State.QUARANTINED)
        connection.close()
        if done >= expected:
            return time.perf_counter() - start
        if quarantined.exists() and done + quarantined.count() >= expected:
            for message_id, error in quarantined.values_list("message_id", "error")[:5]:
                print(f"  quarantined: {message_id}: {error}")
            connection.close()
            return None  # never threaded: no need to wait for the timeout
        time.sleep(0.25)
    return None


def check(prefix: str, tally: Tally) -> dict[str, int]:
    """Lost: answered 250 but not stored, or stored but not on a ticket. Duplicated: stored
    twice, or more than one ticket message for one inbound message."""
    from django.db.models import Count

    from supportdesk.mail.models import InboundMessage
    from supportdesk.tickets.models import Message

    rows = InboundMessage.objects.filter(message_id__startswith=f"<{prefix}-")
    stored = set(rows.values_list("message_id", flat=True))
    on_ticket = set(rows.filter(ticket__isnull=False).values_list("message_id", flat=True))
    twice = rows.values("channel", "message_id").annotate(n=Count("id")).filter(n__gt=1).count()
    linked = set(rows.values_list("ticket_message_id", flat=True)) - {None}
    # Every ticket message a bench mail made (the ticket's first message or a reply) is linked
    # from exactly one inbound row; more messages than inbound rows means a double processing.
    made = Message.objects.filter(ticket__inbound_mail__message_id__startswith=f"<{prefix}-")
    made_ids = set(made.filter(author__email__startswith="user").values_list("id", flat=True))
    return {
        "accepted": len(tally.accepted),
        "stored": len(stored),
        "lost": len(tally.accepted - stored) + len(stored - on_ticket),
        "duplicated": twice + len(made_ids - linked),
        "ticket_messages": len(made_ids),
        "tickets": rows.values("ticket").distinct().count(),
    }


def main() -> int:
    args = parse_args()
    url = args.database_url
    data_dir = ROOT / "var" / "bench" / "mail"
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh_database(url)
    data_dir.mkdir(parents=True, exist_ok=True)
    env = environment(url, data_dir)
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    print(f"database: {connection.vendor} ({url})")
    subprocess.run([sys.executable, "-m", "supportdesk", "migrate", "-v0"], env=env, check=True)
    baseline_mails = build_messages("base", args.baseline, args.senders, seed=1)
    run_mails = build_messages("run", args.messages, args.senders, seed=2)
    port = free_port()
    log = data_dir / "processes.log"
    listener = start(
        env,
        "mail",
        "lmtp",
        "--bind",
        f"127.0.0.1:{port}",
        "--threads",
        str(args.listener_threads),
        log=log,
    )
    processes = [listener]
    try:
        wait_for_port(port, listener, log)

        cpu_before = cpu_seconds([listener])
        base_tally, base_seconds = deliver_all(port, baseline_mails, 1)
        base_rate = len(base_tally.accepted) / base_seconds
        base_cpu_ms = 1000 * (cpu_seconds([listener]) - cpu_before) / len(base_tally.accepted)
        print(
            f"baseline: 1 client delivered {len(base_tally.accepted):,} messages in "
            f"{base_seconds:.1f} s = {base_rate:.0f} msg/s accepted (no workers running; "
            f"listener CPU {base_cpu_ms:.1f} ms/msg; load average {os.getloadavg()[0]:.1f})"
        )
        for n in range(args.workers):
            extra = [] if n == 0 else ["--no-scheduler"]
            processes.append(start(env, "worker", "--no-probes", *extra, log=log))
        workers = processes[1:]
        base_processed = wait_processed("base", len(base_tally.accepted), 600)
        base_worker_ms = 1000 * cpu_seconds(workers) / len(base_tally.accepted)
        if base_processed is None:
            print("baseline: not all threaded into tickets (quarantined, or over 10 minutes)")
            return 1
        print(
            f"baseline: {args.workers} workers processed them in {base_processed:.1f} s "
            f"= {len(base_tally.accepted) / base_processed:.0f} msg/s "
            f"(workers' CPU {base_worker_ms:.1f} ms/msg)"
        )

        listener_cpu, workers_cpu = cpu_seconds([listener]), cpu_seconds(workers)
        tally, seconds = deliver_all(port, run_mails, args.clients)
        rate = len(tally.accepted) / seconds
        load_accepting = os.getloadavg()[0]
        run_cpu_ms = 1000 * (cpu_seconds([listener]) - listener_cpu) / max(1, len(tally.accepted))
        processed = wait_processed("run", len(tally.accepted), 900)
        run_worker_ms = 1000 * (cpu_seconds(workers) - workers_cpu) / max(1, len(tally.accepted))
        load_processing = os.getloadavg()[0]
        total = None if processed is None else seconds + processed
        counts = check("run", tally)
        base_counts = check("base", base_tally)
    finally:
        stop(processes)

    ok_rate = rate >= TARGET_RATE
    ok_processed = total is not None and total <= TARGET_PROCESSED_SECONDS
    ok_lost = counts["lost"] == 0 and base_counts["lost"] == 0
    ok_dup = counts["duplicated"] == 0 and base_counts["duplicated"] == 0
    verdict = {True: "ok", False: "MISSED"}
    print(
        f"run: {args.clients} clients delivered {counts['accepted']:,} of {args.messages:,} "
        f"messages in {seconds:.1f} s ({tally.temporary} temporary failures retried, "
        f"{tally.dropped} dropped connections, {len(tally.permanent)} refused)"
    )
    print(
        f"  accepted: {rate:.0f} msg/s = {rate / base_rate:.2f}x the 1-client baseline "
        f"(target >= {TARGET_RATE:.0f} msg/s: {verdict[ok_rate]})"
    )
    print(
        f"  listener CPU {run_cpu_ms:.1f} ms/msg (one core: at most {1000 / run_cpu_ms:.0f} "
        f"msg/s); workers' CPU {run_worker_ms:.1f} ms/msg (one core: at most "
        f"{1000 / run_worker_ms:.0f} msg/s); load average {load_accepting:.1f} while accepting, "
        f"{load_processing:.1f} at the end, on {os.cpu_count()} cores"
    )
    if total is None:
        print("  processed: NOT all threaded (quarantined, or over 15 minutes: MISSED)")
    else:
        print(
            f"  all threaded into tickets {total:.1f} s after the first delivery "
            f"({processed:.1f} s after the last was accepted; "
            f"{counts['stored'] / total:.0f} msg/s end to end; target <= "
            f"{TARGET_PROCESSED_SECONDS:.0f} s: {verdict[ok_processed]})"
        )
    print(
        f"  {counts['tickets']:,} tickets, {counts['ticket_messages']:,} ticket messages from "
        f"{counts['stored']:,} stored messages"
    )
    print(
        f"  lost: {counts['lost']} (baseline {base_counts['lost']}), duplicated: "
        f"{counts['duplicated']} (baseline {base_counts['duplicated']}) "
        f"(target 0: {verdict[ok_lost and ok_dup]})"
    )
    for problem in tally.permanent[:5]:
        print(f"  refused: {problem}")
    return 0 if ok_rate and ok_processed and ok_lost and ok_dup else 1


if __name__ == "__main__":
    sys.exit(main())
