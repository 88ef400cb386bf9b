"""`supportdesk availability report --organization NAME --period 2026-10|2026-Q4|30d [--json]`.

(`supportdesk availability compute FILE.json` is the pure command: `supportdesk.cli` runs it
without Django. Through `manage.py` it is passed on to the same code.)
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from supportdesk.availability import PeriodError, parse_period
from supportdesk.availability.timebase import format_duration
from supportdesk.instances.reports import (
    availability_settings,
    organization_report,
    percent,
    report_rows,
)
from supportdesk.organizations.models import Organization


class Command(BaseCommand):
    help = "Availability reports from stored monitoring data."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        report = sub.add_parser("report", help="An organization's report for a period")
        report.add_argument("--organization", required=True, help="Name or slug")
        report.add_argument(
            "--period", required=True, help="2026-10 (month), 2026-Q4 (quarter) or 30d"
        )
        report.add_argument(
            "--tz", help="IANA time zone of months and quarters (default: the organization's)"
        )
        report.add_argument("--json", action="store_true", help="JSON instead of a table")
        compute = sub.add_parser("compute", help="The pure computation on a JSON document")
        compute.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "compute":
            from supportdesk.availability.cli import compute_main

            status = compute_main([options["file"]])
            if status:
                raise CommandError("see the message above", returncode=status)
            return
        self._report(options)

    def _report(self, options: dict[str, Any]) -> None:
        name = options["organization"]
        organization = Organization.objects.filter(Q(name__iexact=name) | Q(slug=name)).first()
        if organization is None:
            raise CommandError(f"no organization named {name!r}", returncode=2)
        settings_row = availability_settings(organization)
        tz = options["tz"] or settings_row.time_zone
        try:
            period = parse_period(options["period"], tz=tz, now=timezone.now())
        except PeriodError as error:
            raise CommandError(str(error), returncode=2) from None
        report = organization_report(organization, period, tz=tz, target=settings_row.exact_target)
        if not report.instances:
            raise CommandError(f"{organization.name} has no managed instances", returncode=2)
        if options["json"]:
            document = {
                "organization": organization.name,
                "period": {
                    "label": period.label,
                    "from": period.start.isoformat().replace("+00:00", "Z"),
                    "to": period.end.isoformat().replace("+00:00", "Z"),
                    "time_zone": tz,
                },
                "target": float(settings_row.exact_target),
                "instances": [
                    {
                        "instance": r.instance.name,
                        **r.figures.to_dict(),
                        "outages": [
                            {
                                "start": o.start.isoformat().replace("+00:00", "Z"),
                                "end": o.end.isoformat().replace("+00:00", "Z"),
                                "downtime_seconds": o.downtime_seconds,
                                "maintenance_seconds": o.maintenance_seconds,
                            }
                            for o in r.outages
                        ],
                        "windows": [
                            {"title": w.title, "start": w.start, "end": w.end, "compliant": c}
                            for w, c, _ in r.windows
                        ],
                    }
                    for r in report.instances
                ],
                "aggregate": report_rows(report)[-1],
            }
            self.stdout.write(json.dumps(document, indent=2, default=str))
            return
        self.stdout.write(
            f"{organization.name}: availability {period.label} "
            f"({period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC, "
            f"months in {tz}), target {float(settings_row.exact_target) * 100:g} %"
        )
        header = f"{'instance':<20} {'SLA':>10} {'raw':>10} {'downtime':>16} "
        header += f"{'maintenance':>16} {'no data':>18} {'budget left':>16}"
        self.stdout.write(header)
        for label, figures in [
            *((r.instance.name, r.figures) for r in report.instances),
            ("all instances", report.total),
        ]:
            left = figures.budget_remaining_seconds
            left_text = ("-" if left < 0 else "") + format_duration(int(abs(left)))
            self.stdout.write(
                f"{label:<20} {percent(figures.sla_availability):>10} "
                f"{percent(figures.raw_availability):>10} "
                f"{format_duration(figures.downtime_seconds):>16} "
                f"{format_duration(figures.maintenance_seconds):>16} "
                f"{format_duration(figures.unknown_seconds):>18} {left_text:>16}"
            )
        for r in report.instances:
            for outage in r.outages:
                self.stdout.write(
                    f"  {r.instance.name}: down {outage.start:%Y-%m-%d %H:%M:%S}–"
                    f"{outage.end:%H:%M:%S} UTC ({format_duration(outage.downtime_seconds)} "
                    f"downtime, {format_duration(outage.maintenance_seconds)} maintenance)"
                )
