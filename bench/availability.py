"""How long availability reports take for a fleet: a quarter of 60 s probes per instance.

Usage: PYTHONPATH=src python bench/availability.py [--instances 2000] [--days 92] [--seed 1]

Each instance gets probes every 60 s (± 2 s of jitter) over the quarter, a few outages of
1 to 120 minutes, scattered single failures (flapping), sometimes a monitor gap of hours, and two
maintenance windows. Timed per fleet:

- baseline: one numpy pass over the raw probes (np.diff of the times, count of failures), the
  least any computation that reads every probe must do;
- raw: Timeline.from_probes + the quarter's figures (the CLI's path, one run per probe);
- fold: runs_from_probes, the bulk fold used when importing history;
- report: Timeline.from_runs + the quarter's figures + 92 daily figures + outages, for every
  instance, then the fleet aggregate: what the console's report does from stored runs;
- fold_probe: the worker's incremental fold, per probe.

Machines are shared and noisy, so the ratios to the baseline (measured in the same run) are the
numbers to compare between runs; absolute seconds are printed too.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from supportdesk.availability import (
    AvailabilityConfig,
    MaintenanceWindow,
    Period,
    Timeline,
    aggregate,
    day_periods,
    fold_probe,
    runs_from_probes,
)

START = datetime(2026, 10, 1, tzinfo=UTC)
CONFIG = AvailabilityConfig(interval=60)


def instance(
    rng: np.random.Generator, days: int
) -> tuple[np.ndarray, np.ndarray, list[MaintenanceWindow]]:
    start = int(START.timestamp())
    count = days * 1440
    times = start + np.arange(count, dtype=np.int64) * 60 + rng.integers(-2, 3, count)
    ok = rng.random(count) > 0.002  # single failures: flapping
    for _ in range(rng.integers(0, 6)):  # outages
        at = rng.integers(0, count)
        ok[at : at + rng.integers(1, 121)] = False
    if rng.random() < 0.3:  # the monitor was not running for a few hours
        at = rng.integers(0, count)
        keep = np.ones(count, dtype=bool)
        keep[at : at + rng.integers(60, 600)] = False
        times, ok = times[keep], ok[keep]
    windows = []
    for _ in range(2):
        begin = START + timedelta(minutes=int(rng.integers(0, days * 1440 - 200)))
        notice = timedelta(hours=int(rng.integers(12, 72)))
        windows.append(MaintenanceWindow(begin - notice, begin, begin + timedelta(minutes=90)))
    return times, ok, windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--days", type=int, default=92)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    quarter = Period(START, START + timedelta(days=args.days), "quarter")
    days = day_periods(START.date(), (START + timedelta(days=args.days - 1)).date(), "UTC")

    baseline = raw = fold = report = 0.0
    probes = run_count = 0
    figures = []
    check = 0
    for _ in range(args.instances):
        times, ok, windows = instance(rng, args.days)
        probes += times.size

        t0 = time.perf_counter()
        check += int(np.diff(times).max()) + int(np.count_nonzero(~ok))
        t1 = time.perf_counter()
        raw_figures = Timeline.from_probes(times, ok, config=CONFIG, windows=windows).figures(
            quarter
        )
        t2 = time.perf_counter()
        runs = runs_from_probes(times, ok, max_gap=CONFIG.max_gap)
        t3 = time.perf_counter()
        timeline = Timeline.from_runs(runs, config=CONFIG, windows=windows)
        quarter_figures = timeline.figures(quarter)
        timeline.figures_for(days)
        timeline.outages(quarter)
        t4 = time.perf_counter()

        if quarter_figures != raw_figures:
            raise SystemExit("figures from runs differ from figures from probes")
        figures.append(quarter_figures)
        baseline += t1 - t0
        raw += t2 - t1
        fold += t3 - t2
        report += t4 - t3
        run_count += len(runs)
    t5 = time.perf_counter()
    fleet = aggregate(figures)
    report += time.perf_counter() - t5

    # The worker's incremental fold, per probe, on the last instance's history.
    sample = list(zip(times.tolist(), ok.tolist(), strict=True))
    t6 = time.perf_counter()
    last = None
    for t, result in sample:
        folded = fold_probe(last, t, result, max_gap=CONFIG.max_gap)
        last = folded.run
    per_probe = (time.perf_counter() - t6) / len(sample)

    print(
        f"{args.instances} instances x {args.days} days of 60 s probes: {probes:,} probes, "
        f"{run_count:,} runs ({probes / run_count:.0f} probes per run)"
    )
    print(f"fleet SLA availability {fleet.sla_availability:.5f}, raw {fleet.raw_availability:.5f}")
    print(f"{'':10} {'seconds':>9} {'x baseline':>11}")
    for name, seconds in (("baseline", baseline), ("raw", raw), ("fold", fold), ("report", report)):
        print(f"{name:10} {seconds:9.3f} {seconds / baseline:11.1f}")
    print(
        f"fold_probe {per_probe * 1e6:.1f} µs per probe: {per_probe * args.instances / 60:.1e} "
        f"of one core for {args.instances} instances probed every 60 s"
    )
    if check < 0:  # keeps the baseline's work from being optimised into nothing
        print(check)


if __name__ == "__main__":
    main()
