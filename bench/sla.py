"""SLA engine benchmark against pandas' CustomBusinessHour, measured in the same run.

    .venv/bin/python bench/sla.py            # 100,000 starts (about half a minute, mostly pandas)
    .venv/bin/python bench/sla.py --n 10000  # a quick run

The workload (issue 3): random starts over two years (2026–2027, any second of the week) on
Mon–Fri 09:00–17:00 America/Los_Angeles with US public holidays (observed days included), each with
a 24 business-hour target. Deadlines are computed

* by pandas: ``Timestamp + CustomBusinessHour(n=24, …)`` one at a time, on tz-aware Timestamps in
  Los Angeles (the baseline; a loop is faster than pandas' element-wise
  ``DatetimeIndex + offset``);
* by the engine one at a time: ``BusinessClock.due(start, timedelta(hours=24))`` on UTC-aware
  datetimes (what Django hands over), returning UTC datetimes; and ``BusinessClock.due_epoch`` on
  int epoch seconds (the same lookup without the two datetime conversions, which cost about half);
* by the engine in batch: ``BusinessClock.due_batch(int64 epoch seconds, 86400)``. Converting
  datetimes to epoch seconds is not included there; its cost is printed separately.

The three must agree. They do, but for one convention where pandas differs: a budget that runs out
exactly at closing time is due at closing (17:00) for the engine (SPEC §3) and at the next opening
(09:00 of the next business day) for pandas. Every such difference is checked to be exactly that.

Rates are median-of-repeats for the engine and one full run for pandas; the machine is shared, so
read the ratios, not the absolute rates. The table-build line times building the calendar's table
for ten local years, cold (holiday and zone-offset caches cleared: it includes the ``holidays``
package computing every year and the zone scan) and warm (those caches filled, the table itself
rebuilt).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's code

import holidays
import numpy as np
import pandas as pd

from supportdesk.sla import (
    BusinessCalendar,
    BusinessClock,
    PublicHolidays,
    WeeklyHours,
    public_holidays,
    zones,
)
from supportdesk.sla.timeline import build_table

ZONE = "America/Los_Angeles"
TARGET_HOURS = 24
FIRST = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
LAST = int(datetime(2028, 1, 1, tzinfo=UTC).timestamp())


def median_seconds(run: object, repeat: int) -> float:
    assert callable(run)
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>13,.0f} deadlines/s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--n", type=int, default=100_000, help="number of random starts (default 100000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="engine repeats, median taken (default 5)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    n = args.n

    calendar = BusinessCalendar(
        timezone=ZONE,
        hours=WeeklyHours.weekdays("09:00-17:00"),
        public_holidays=PublicHolidays("US"),
    )
    rng = np.random.default_rng(args.seed)
    starts_s = rng.integers(FIRST, LAST, size=n, dtype=np.int64)
    starts_utc = [datetime.fromtimestamp(t, UTC) for t in starts_s.tolist()]
    target = timedelta(hours=TARGET_HOURS)

    print(
        f"SLA engine benchmark: {n:,} random starts in 2026-2027, Mon-Fri 09:00-17:00 {ZONE}, "
        f"US holidays, target {TARGET_HOURS} business hours"
    )
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"holidays {metadata.version('holidays')}, {os.cpu_count()} CPUs "
        "(a shared machine: read the ratios)"
    )

    # -- pandas, the baseline ------------------------------------------------------------------
    us_days = sorted(
        d
        for year in range(2025, 2031)
        for d in holidays.country_holidays("US", years=year, observed=True)
    )
    offset = pd.offsets.CustomBusinessHour(
        n=TARGET_HOURS, start="09:00", end="17:00", weekmask="Mon Tue Wed Thu Fri", holidays=us_days
    )
    stamps = list(pd.to_datetime(starts_s, unit="s", utc=True).tz_convert(ZONE))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        began = time.perf_counter()
        pandas_due = [stamp + offset for stamp in stamps]
        pandas_seconds = time.perf_counter() - began
    pandas_s = np.array([int(p.timestamp()) for p in pandas_due], dtype=np.int64)
    print(
        f"pandas CustomBusinessHour, one at a time:   {rate(n, pandas_seconds)}   "
        f"({pandas_seconds:.2f} s)"
    )

    # -- the engine, one at a time -------------------------------------------------------------
    clock = BusinessClock(calendar)
    clock.due(starts_utc[0], target)  # builds the table once, as a long-running process would

    def one_at_a_time() -> list[datetime | None]:
        due = clock.due
        return [due(start, target) for start in starts_utc]

    single = one_at_a_time()
    single_seconds = median_seconds(one_at_a_time, args.repeat)
    single_ratio = pandas_seconds / single_seconds
    print(
        f"engine, one at a time (BusinessClock.due): {rate(n, single_seconds)}   "
        f"{single_ratio:8,.0f}x pandas   [target >= 100x]"
    )

    target_s = TARGET_HOURS * 3600
    starts_int = starts_s.tolist()

    def one_at_a_time_epoch() -> list[int | None]:
        due_epoch = clock.due_epoch
        return [due_epoch(start, target_s) for start in starts_int]

    single_epoch = one_at_a_time_epoch()
    epoch_seconds = median_seconds(one_at_a_time_epoch, args.repeat)
    print(
        f"engine, one at a time (due_epoch, int s):   {rate(n, epoch_seconds)}   "
        f"{pandas_seconds / epoch_seconds:8,.0f}x pandas"
    )

    # -- the engine, batch ---------------------------------------------------------------------
    batch = clock.due_batch(starts_s, TARGET_HOURS * 3600)
    batch_seconds = median_seconds(
        lambda: clock.due_batch(starts_s, TARGET_HOURS * 3600), args.repeat * 4
    )
    batch_ratio = pandas_seconds / batch_seconds
    print(
        f"engine, batch (due_batch on int64):         {rate(n, batch_seconds)}   "
        f"{batch_ratio:8,.0f}x pandas   [target >= 1000x and >= 5,000,000/s]"
    )
    convert_seconds = median_seconds(
        lambda: np.fromiter((int(s.timestamp()) for s in starts_utc), dtype=np.int64, count=n),
        args.repeat,
    )
    print(
        f"  (not included above: converting {n:,} datetimes to int64 epoch seconds takes "
        f"{convert_seconds * 1e3:.1f} ms)"
    )

    # -- agreement -----------------------------------------------------------------------------
    single_s = np.array([int(d.timestamp()) for d in single if d is not None], dtype=np.int64)
    problems = 0
    if not np.array_equal(single_s, batch) or single_epoch != batch.tolist():
        print("DISAGREEMENT: one-at-a-time and batch results differ")
        problems += 1
    same = pandas_s == batch
    closing_convention = 0
    other = 0
    for k in np.flatnonzero(~same).tolist():
        engine_due = int(batch[k])
        local = datetime.fromtimestamp(engine_due, clock.zone_at(engine_due))
        # Next opening after the engine's due: due of one more second, minus that second.
        next_opening = clock.due_epoch(engine_due, 1)
        assert next_opening is not None
        if (local.hour, local.minute, local.second) == (17, 0, 0) and int(
            pandas_s[k]
        ) == next_opening - 1:
            closing_convention += 1
        else:
            other += 1
            if other <= 5:
                print(
                    f"  differs: start {starts_utc[k].isoformat()} engine "
                    f"{datetime.fromtimestamp(engine_due, UTC).isoformat()} pandas {pandas_due[k]}"
                )
    print(
        f"agreement: {int(same.sum()):,} identical; {closing_convention:,} differ only by the "
        "closing convention (engine: due at 17:00 closing; pandas: next opening); "
        f"{other:,} other differences"
    )
    problems += other

    # -- ten-year table --------------------------------------------------------------------------
    periods = ((None, None, calendar),)
    cold = []
    for _ in range(3):
        public_holidays.clear_caches()
        zones.clear_caches()
        began = time.perf_counter()
        table = build_table(periods, 2026, 2035)
        cold.append(time.perf_counter() - began)
    warm = median_seconds(lambda: build_table(periods, 2026, 2035), 20)
    print(
        f"table for ten years (2026-2035, {len(table.starts) - 1:,} intervals): "
        f"cold {statistics.median(cold) * 1e3:.1f} ms, warm {warm * 1e3:.1f} ms   [target < 20 ms]"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
