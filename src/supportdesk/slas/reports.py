"""SLA reports: attainment per target, severity, deployment, organization and month, with median
and p90 business time to first response and resolution; and the what-if replay of past tickets
under a draft policy or calendar.

Outcomes of a clock: *met* (in time), *breached* (missed, even if met later), *running*, *paused*.
Attainment = met / (met + breached): clocks still running or paused have not been decided."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils import timezone

from supportdesk.sla import BusinessCalendar, BusinessClock, clock_for
from supportdesk.slas import engine
from supportdesk.slas.models import ClockState, Metric, SlaClock

DIMENSIONS = {
    "metric": "Target",
    "severity": "Severity",
    "deployment": "Deployment",
    "organization": "Organization",
    "month": "Month (UTC)",
}
OUTCOMES = ("met", "breached", "running", "paused")


@dataclass
class Group:
    key: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    first_response: list[int] = field(default_factory=list)
    resolution: list[int] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return self.counts["met"] + self.counts["breached"]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def attainment(self) -> float | None:
        return self.counts["met"] / self.decided if self.decided else None

    def stat(self, values: list[int], q: float) -> int | None:
        return int(np.percentile(np.array(values), q, method="lower")) if values else None

    @property
    def first_response_median(self) -> int | None:
        return self.stat(self.first_response, 50)

    @property
    def first_response_p90(self) -> int | None:
        return self.stat(self.first_response, 90)

    @property
    def resolution_median(self) -> int | None:
        return self.stat(self.resolution, 50)

    @property
    def resolution_p90(self) -> int | None:
        return self.stat(self.resolution, 90)

    def bars(self, width: int = 300, scale: int | None = None) -> list[tuple[str, int, int, int]]:
        """(outcome, x, width, count) segments of a stacked bar, for the SVG chart."""
        total = scale or self.total or 1
        x, out = 0, []
        for outcome in OUTCOMES:
            n = self.counts[outcome]
            w = round(width * n / total)
            if n:
                out.append((outcome, x, max(w, 1), n))
            x += w
        return out


def outcome(clock: Mapping[str, Any]) -> str:
    get = clock.get
    if get("breached_at") is not None:
        return "breached"
    if get("met_at") is not None:
        return "met"
    if get("state") == ClockState.PAUSED:
        return "paused"
    return "running"


def _period(months: int, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=round(30.44 * months))


def attainment(
    *, group_by: str = "metric", months: int = 6, now: dt.datetime | None = None
) -> list[Group]:
    """Clocks started in the last `months`, grouped by one dimension."""
    now = now or timezone.now()
    if group_by not in DIMENSIONS:
        raise ValueError(f"group by one of {', '.join(DIMENSIONS)}")
    rows = (
        SlaClock.objects.filter(started_at__gte=_period(months, now), started_at__lte=now)
        .exclude(state=ClockState.CANCELLED)
        .values(
            "metric",
            "state",
            "met_at",
            "breached_at",
            "business_seconds",
            "started_at",
            "ticket__severity",
            "ticket__organization__name",
            "ticket__organization__deployment",
        )
    )
    labels = dict(Metric.choices)
    groups: dict[str, Group] = {}
    for row in rows:
        match group_by:
            case "metric":
                key = str(labels[row["metric"]])
            case "severity":
                key = f"Sev {row['ticket__severity']}"
            case "deployment":
                key = {"managed": "Managed instance", "self_hosted": "Self-hosted"}.get(
                    row["ticket__organization__deployment"] or "", "Community"
                )
            case "organization":
                key = row["ticket__organization__name"] or "Community"
            case _:
                key = row["started_at"].astimezone(dt.UTC).strftime("%Y-%m")
        group = groups.setdefault(key, Group(key))
        result = outcome(dict(row))
        group.counts[result] += 1
        if row["met_at"] is not None and row["business_seconds"] is not None:
            if row["metric"] == Metric.FIRST_RESPONSE:
                group.first_response.append(row["business_seconds"])
            elif row["metric"] == Metric.RESOLUTION:
                group.resolution.append(row["business_seconds"])
    return sorted(groups.values(), key=lambda g: g.key)


def attainment_csv(groups: list[Group], dimension: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            DIMENSIONS[dimension],
            *OUTCOMES,
            "attainment_percent",
            "first_response_median_business_s",
            "first_response_p90_business_s",
            "resolution_median_business_s",
            "resolution_p90_business_s",
        ]
    )
    for g in groups:
        writer.writerow(
            [
                g.key,
                *(g.counts[o] for o in OUTCOMES),
                "" if g.attainment is None else f"{100 * g.attainment:.1f}",
                *(
                    "" if v is None else v
                    for v in (
                        g.first_response_median,
                        g.first_response_p90,
                        g.resolution_median,
                        g.resolution_p90,
                    )
                ),
            ]
        )
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# What-if


@dataclass(frozen=True)
class DraftTarget:
    seconds: int | None
    calendar_id: int


@dataclass
class WhatIfRow:
    key: str
    before: Group
    after: Group

    @property
    def change(self) -> float | None:
        if self.before.attainment is None or self.after.attainment is None:
            return None
        return self.after.attainment - self.before.attainment


def what_if(
    *,
    months: int = 3,
    policy_id: int | None = None,
    draft_targets: dict[tuple[int, str], DraftTarget] | None = None,
    calendar_id: int | None = None,
    draft_calendar: BusinessCalendar | None = None,
    now: dt.datetime | None = None,
) -> list[WhatIfRow]:
    """Replay the target clocks started in the last `months` (of `policy_id`, or on
    `calendar_id`) under the draft, and compare attainment per target and severity with the
    same replay under the current setup. Nothing is saved."""
    now = now or timezone.now()
    clocks = SlaClock.objects.filter(
        started_at__gte=_period(months, now),
        started_at__lte=now,
        metric__in=[Metric.FIRST_RESPONSE, Metric.RESOLUTION, Metric.NEXT_REPLY],
    ).exclude(state=ClockState.CANCELLED)
    if policy_id is not None:
        clocks = clocks.filter(policy_id=policy_id)
    if calendar_id is not None:
        clocks = clocks.filter(calendar_id=calendar_id)
    rows: list[dict[str, Any]] = [
        dict(row)
        for row in clocks.values(
            "id",
            "metric",
            "started_at",
            "target_seconds",
            "calendar_id",
            "pauses",
            "met_at",
            "state",
            "ticket__severity",
        )
    ]
    current = engine.calendar_clocks()
    draft_clock = clock_for(draft_calendar) if draft_calendar is not None else None

    def setup(row: dict[str, Any], draft: bool) -> tuple[BusinessClock | None, int | None]:
        target, cal = row["target_seconds"], row["calendar_id"]
        if draft and draft_targets is not None:
            spec = draft_targets.get((row["ticket__severity"], row["metric"]))
            if spec is None or spec.seconds is None:
                return None, None
            target, cal = spec.seconds, spec.calendar_id
        if draft and draft_clock is not None and cal == calendar_id:
            return draft_clock, target
        return current.get(cal), target

    labels = dict(Metric.choices)
    results: dict[str, WhatIfRow] = {}
    now_epoch = int(now.timestamp())
    for draft in (False, True):
        # Group rows without pauses per clock for the batch engine; the rest one by one.
        batches: dict[int, list[tuple[dict[str, Any], int]]] = defaultdict(list)
        engines: dict[int, BusinessClock] = {}
        decided: list[tuple[dict[str, Any], int | None]] = []  # due None: paused for good
        for row in rows:
            engine_clock, target = setup(row, draft)
            if engine_clock is None or target is None:
                continue  # no timer for this target under this setup
            start = int(row["started_at"].timestamp())
            pauses = [(int(b), None if e is None else int(e)) for b, e in row["pauses"]]
            if pauses:
                decided.append((row, engine_clock.due_epoch(start, target, pauses)))
            else:
                engines[id(engine_clock)] = engine_clock
                batches[id(engine_clock)].append((row, target))
        for key, items in batches.items():
            starts = np.array([int(r["started_at"].timestamp()) for r, _t in items], dtype=np.int64)
            targets = np.array([t for _r, t in items], dtype=np.int64)
            dues = engines[key].due_batch(starts, targets)
            decided.extend((r, int(d)) for (r, _t), d in zip(items, dues, strict=True))
        for row, due in decided:
            label = f"{labels[row['metric']]} · Sev {row['ticket__severity']}"
            entry = results.setdefault(label, WhatIfRow(label, Group(label), Group(label)))
            group = entry.after if draft else entry.before
            met = row["met_at"]
            if due is None:  # an open pause stopped the clock before its target
                group.counts["met" if met is not None else "paused"] += 1
                continue
            if met is not None:
                result = "met" if int(met.timestamp()) <= due else "breached"
            elif row["state"] == ClockState.PAUSED:
                result = "paused"
            else:
                result = "breached" if due <= now_epoch else "running"
            group.counts[result] += 1
    return sorted(results.values(), key=lambda r: r.key)
