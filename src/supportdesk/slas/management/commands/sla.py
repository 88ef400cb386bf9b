"""``supportdesk sla explain TICKET_NUMBER [--json]``: a ticket's SLA, explained.

``supportdesk sla due`` and ``supportdesk sla elapsed`` are the pure engine's commands; the
``supportdesk`` script runs them without Django, and this command hands them over too (so
``manage.py sla due …`` works the same)."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from supportdesk.slas.selectors import explain
from supportdesk.tickets.models import Ticket


def _local(value: str | None, zone: Any) -> str:
    if not value:
        return "—"
    from datetime import datetime

    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return instant.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")


class Command(BaseCommand):
    help = "SLA tools: explain a ticket's clocks; due / elapsed on a calendar file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ex = sub.add_parser("explain", help="Why a ticket has the SLA it has, and every clock")
        ex.add_argument("number", type=int, help="The ticket number, e.g. 1042")
        ex.add_argument("--json", action="store_true", help="Machine-readable output")
        ex.add_argument(
            "--timezone", default="UTC", help="Show times in this IANA zone (default UTC)"
        )
        for name in ("due", "elapsed"):
            engine = sub.add_parser(name, help=f"The engine's `sla {name}` (see docs/sla.md)")
            engine.add_argument("rest", nargs="*")

    def run_from_argv(self, argv: list[str]) -> None:
        # `sla due …` / `sla elapsed …` go to the pure engine's own argument parser untouched.
        if len(argv) > 2 and argv[2] in ("due", "elapsed"):
            from supportdesk.sla import cli

            main = cli.due_main if argv[2] == "due" else cli.elapsed_main
            sys.exit(main(argv[3:]))
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] != "explain":
            raise CommandError("use `supportdesk sla due|elapsed …` from the command line")
        ticket = (
            Ticket.objects.select_related("organization").filter(number=options["number"]).first()
        )
        if ticket is None:
            raise CommandError(f"no ticket #{options['number']}")
        data = explain(ticket)
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        import zoneinfo

        try:
            zone = zoneinfo.ZoneInfo(options["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"--timezone: {options['timezone']!r} is not an IANA zone") from None
        self._print(data, zone)

    def _print(self, data: dict[str, Any], zone: Any) -> None:
        w = self.stdout.write
        w(f"Ticket #{data['ticket']}: {data['subject']}")
        w(
            f"  Severity {data['severity']} · {data['status_label']} · "
            f"{data['organization'] or 'community'} · reported {_local(data['reported_at'], zone)}"
        )
        w("")
        w(f"Policy: {data['policy'] or 'none'}")
        w(f"  Why: {data['why']}")
        for cal in data["calendars"]:
            w(f"Calendar: {cal['name']}{' (24×7)' if cal['is_24x7'] else ''}")
            for v in cal["versions"]:
                since = _local(v["effective_from"], zone) if v["effective_from"] else "the start"
                hours = " · ".join(
                    line.replace('"', "").replace("[", "").replace("]", "").replace(" = ", " ")
                    for line in (raw.strip() for raw in v["toml"].splitlines())
                    if line and not line.startswith(("[", "#"))
                )
                w(f"  from {since}: {hours}")
        w("")
        w("Targets:")
        for t in data["targets"]:
            state = t["state"] + (" (warned)" if t["warned"] and t["state"] == "running" else "")
            w(f"  {t['label']} — {state}{' · ' + t['left'] if t['left'] else ''}")
            if t["target"]:
                w(f"    target   {t['target']} on {t['calendar']}")
            w(f"    start    {_local(t['start'], zone)}")
            for begin, end in t["pauses"]:
                w(f"    paused   {_local(begin, zone)} → {_local(end, zone) if end else 'now'}")
            w(f"    due      {_local(t['due'], zone)}")
            if t["warn"]:
                w(f"    warning  {_local(t['warn'], zone)}")
            if t["met"]:
                w(f"    met      {_local(t['met'], zone)} ({t['business_time_used']} business)")
            if t["breached"]:
                w(f"    breached {_local(t['breached'], zone)}")
        if not data["targets"]:
            w("  none")
        w("")
        w(f"Next SLA event: {_local(data['next_event'], zone)}")
        w("")
        w("Timeline:")
        for e in data["timeline"]:
            due = ""
            if e["due_after"] and e["due_before"] != e["due_after"]:
                due = f" (due {_local(e['due_after'], zone)})"
            w(f"  {_local(e['at'], zone)}  {e['target']}: {e['event']} — {e['detail']}{due}")
