"""One probe worker against 2,000 loopback endpoints at a 60 s interval.

Starts the endpoints in a separate process (an asyncio HTTP server on --ports loopback ports, each
serving instances under /i/<n>), creates the monitored instances in a database of its own, runs
the real probe engine (`supportdesk.instances.prober.ProbeEngine`, with its database writes) for
--duration seconds, and prints probes per second, scheduling drift (how late each probe started
against its scheduled instant: median, p95, max) and the CPU the worker process used.

    .venv/bin/python bench/probes.py                    # the full run: 2,000 × 60 s for 3 minutes
    .venv/bin/python bench/probes.py --duration 40      # quicker
    .venv/bin/python bench/probes.py --database-url postgresql://postgres@127.0.0.1:5432/supportdesk_bench

Target (docs/performance.md): scheduling drift p95 under 1 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's queue: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import multiprocessing
import os
import resource
import statistics
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--instances", type=int, default=2000)
    p.add_argument("--interval", type=int, default=60)
    p.add_argument("--duration", type=float, default=180.0, help="seconds of probing")
    p.add_argument("--ports", type=int, default=50, help="loopback ports serving the endpoints")
    p.add_argument("--concurrency", type=int, default=500)
    p.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var/bench/probes.sqlite3'}")
    return p.parse_args()


def serve(ports: list[int], ready: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    """The endpoints: a minimal HTTP/1.1 server with keep-alive, answering 200 "ok"."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\n"
                    b"status ok"
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = [await asyncio.start_server(handle, "127.0.0.1", port) for port in ports]
        ready.set()
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


def free_ports(count: int) -> list[int]:
    import socket

    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def setup_database(url: str, instances: int, interval: int, ports: list[int]) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings.dev")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from supportdesk.instances.models import Monitor, ProbeLocation
    from supportdesk.organizations.models import Deployment, ManagedInstance, Organization

    ManagedInstance.objects.filter(organization__slug="bench-probes").delete()
    ProbeLocation.objects.filter(name="bench").delete()
    org, _ = Organization.objects.get_or_create(
        slug="bench-probes", defaults={"name": "Bench probes", "deployment": Deployment.MANAGED}
    )
    made = ManagedInstance.objects.bulk_create(
        ManagedInstance(
            organization=org,
            name=f"bench-{i:05d}",
            url=f"http://127.0.0.1:{ports[i % len(ports)]}/",
            health_url=f"http://127.0.0.1:{ports[i % len(ports)]}/i/{i}",
        )
        for i in range(instances)
    )
    Monitor.objects.bulk_create(
        Monitor(
            instance=instance,
            interval_seconds=interval,
            max_gap_seconds=3 * interval,
            timeout_seconds=10,
            body_keyword="ok",
        )
        for instance in made
    )
    # Only the bench's instances: switch off any others in this database.
    Monitor.objects.exclude(instance__organization=org).update(enabled=False)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    args = parse_args()
    ports = free_ports(args.ports)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(ports, ready), daemon=True)
    server.start()
    if not ready.wait(30):
        sys.exit("the endpoint server did not start")
    setup_database(args.database_url, args.instances, args.interval, ports)

    from supportdesk.instances.models import LocationState, ProbeRun
    from supportdesk.instances.prober import ProbeEngine, Store

    engine = ProbeEngine(store=Store("bench", "bench"), concurrency=args.concurrency)

    async def run() -> float:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        loop.call_later(args.duration, stop.set)
        await engine.run(stop)
        return time.monotonic() - started

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    wall = asyncio.run(run())
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    server.terminate()
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    drifts = list(engine.stats.drifts)
    expected = args.instances * args.duration / args.interval
    print(
        f"{args.instances} instances every {args.interval} s on {args.ports} loopback ports, "
        f"{args.duration:g} s of probing, database {args.database_url.split('://')[0]}"
    )
    print(
        f"probes: {engine.stats.probes} ({engine.stats.probes / wall:.1f}/s; "
        f"{engine.stats.probes / expected:.1%} of the {expected:.0f} scheduled), "
        f"failed: {engine.stats.failures}, rounds skipped: {engine.stats.skipped}"
    )
    if drifts:
        print(
            f"scheduling drift: median {statistics.median(drifts) * 1000:.1f} ms, "
            f"p95 {percentile(drifts, 0.95) * 1000:.1f} ms, "
            f"p99 {percentile(drifts, 0.99) * 1000:.1f} ms, max {max(drifts) * 1000:.1f} ms"
        )
    print(
        f"CPU of the worker process: {cpu:.1f} s in {wall:.1f} s = {cpu / wall:.1%} of one core "
        f"({cpu / max(engine.stats.probes, 1) * 1000:.2f} ms per probe, database writes included)"
    )
    print(
        f"stored: {ProbeRun.objects.filter(location='bench').count()} runs, "
        f"{LocationState.objects.filter(location='bench').count()} location states "
        f"(one row per run, not per probe)"
    )
    print(f"machine load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
