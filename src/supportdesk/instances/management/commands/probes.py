"""`supportdesk probes run --location NAME` and `supportdesk probes import --instance NAME FILE`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from supportdesk.instances.monitoring import HistoryConflict, history_store, monitor_for
from supportdesk.organizations.models import ManagedInstance

PROGRESS_EVERY_BYTES = 2 * 1024 * 1024


class Command(BaseCommand):
    help = "Probe managed instances from a location, or import monitoring history."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Probe every enabled instance from LOCATION until Ctrl-C")
        run.add_argument("--location", default=settings.SUPPORTDESK_PROBE_LOCATION)
        run.add_argument("--concurrency", type=int, default=settings.SUPPORTDESK_PROBE_CONCURRENCY)
        imp = sub.add_parser(
            "import",
            help='Import history: JSON lines {"t": ISO 8601, "ok": true|false}',
        )
        imp.add_argument("--instance", required=True, help="The instance's name, e.g. globex-prod")
        imp.add_argument("--location", default=settings.SUPPORTDESK_PROBE_LOCATION)
        imp.add_argument("file", help="A .jsonl file, or - for standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "run":
            self._run(options["location"], options["concurrency"])
        else:
            self._import(options["instance"], options["location"], options["file"])

    def _run(self, location: str, concurrency: int) -> None:
        from supportdesk.instances.prober import ProbeEngine, Store

        holder = f"{socket.gethostname()}:{os.getpid()}:probes"
        engine = ProbeEngine(store=Store(location, holder), concurrency=concurrency)
        self.stdout.write(f"Probing from location {location!r} as {holder} (Ctrl-C stops)")

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await engine.run(stop)

        asyncio.run(main())
        self.stdout.write(
            f"Stopped after {engine.stats.probes} probes ({engine.stats.failures} failed)."
        )

    def _import(self, name: str, location: str, path: str) -> None:
        instance = ManagedInstance.objects.filter(name=name).first()
        if instance is None:
            raise CommandError(f"no managed instance named {name!r}", returncode=2)
        times, oks = _read(path, self.stderr)
        try:
            outcome = history_store(
                monitor=monitor_for(instance), location=location, times=times, oks=oks
            )
        except (HistoryConflict, ValueError) as error:
            raise CommandError(f"{path}: {error}", returncode=2) from None
        first = datetime.fromtimestamp(outcome.first_t, UTC).isoformat().replace("+00:00", "Z")
        last = datetime.fromtimestamp(outcome.last_t, UTC).isoformat().replace("+00:00", "Z")
        self.stdout.write(
            f"Imported {outcome.probes:,} probes of {name} ({first} to {last}) into location "
            f"{outcome.location!r} as {outcome.runs:,} runs."
        )


def _fail(path: str, number: int, problem: str) -> CommandError:
    return CommandError(f"{path}: line {number}: {problem}", returncode=2)


def _read(path: str, progress: Any) -> tuple[list[int], list[bool]]:
    """Parse the JSON lines; the first bad line stops everything (nothing is stored)."""
    try:
        handle = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror or error}", returncode=2) from None
    size = os.fstat(handle.fileno()).st_size if path != "-" else 0
    times: list[int] = []
    oks: list[bool] = []
    seen: dict[int, int] = {}
    read = 0
    next_report = PROGRESS_EVERY_BYTES
    with handle:
        number = 0
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError:
                raise _fail(path, number + 1, "not UTF-8 text") from None
            if not line:
                break
            number += 1
            read += len(line)
            if size and read >= next_report:
                progress.write(f"  … {read / size:.0%} read ({number:,} lines)")
                next_report += PROGRESS_EVERY_BYTES
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise _fail(path, number, f"not JSON ({error.msg})") from None
            if not isinstance(item, dict) or set(item) != {"t", "ok"}:
                raise _fail(path, number, 'expected {"t": "<ISO 8601 time>", "ok": true|false}')
            if not isinstance(item["ok"], bool):
                raise _fail(path, number, f'"ok" must be true or false, not {item["ok"]!r}')
            if not isinstance(item["t"], str):
                raise _fail(path, number, '"t" must be an ISO 8601 time string')
            try:
                moment = datetime.fromisoformat(item["t"])
            except ValueError:
                raise _fail(path, number, f"{item['t']!r} is not an ISO 8601 time") from None
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise _fail(path, number, f"{item['t']!r} has no UTC offset (end it with Z)")
            if moment.microsecond:
                raise _fail(path, number, f"{item['t']!r} has a fraction of a second")
            t = int(moment.timestamp())
            if t in seen:
                raise _fail(path, number, f"same time as line {seen[t]}")
            seen[t] = number
            times.append(t)
            oks.append(item["ok"])
    if not times:
        raise CommandError(f"{path}: no probes in the file", returncode=2)
    if size >= PROGRESS_EVERY_BYTES:
        progress.write(f"  … 100% read ({number:,} lines)")
    return times, oks
