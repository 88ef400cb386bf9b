"""The probe engine: one asyncio loop that probes every monitored instance on its own schedule.

Why a loop of its own (a thread in `supportdesk worker`, or `supportdesk probes run`) and not a
periodic task: a task runs when the scheduler's tick (5 s) and the task queue get to it, behind
emails and webhooks, so probes would bunch and drift by seconds. Here every instance has a fixed
phase in its interval (a stable hash, so 2,000 instances at 60 s spread to ~33 probes a second)
plus a little random jitter per round, a heap orders the due times, and the loop sleeps exactly
until the next one; requests are async (httpx) under a concurrency limit. Database work (loading
targets, folding results into runs, deciding state) runs in one dedicated thread, in batches once
a second, so the loop never waits for it.

One process probes from a location at a time: the engine holds the location's lease (renewed every
few seconds) and stands by without probing while another process holds it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import heapq
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

import supportdesk
from supportdesk.instances.monitoring import ProbeResult

log = logging.getLogger(__name__)

BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Target:
    monitor_id: int
    url: str
    expected_status: int
    keyword: str
    timeout: float
    interval: int
    max_gap: int
    failures_to_down: int


@dataclass
class EngineStats:
    probes: int = 0
    failures: int = 0
    drifts: deque[float] = field(default_factory=lambda: deque(maxlen=200_000))
    skipped: int = 0  # rounds skipped because the loop fell more than an interval behind


class Store:
    """What the engine needs from the database; runs in the engine's database thread."""

    def __init__(self, location: str, holder: str) -> None:
        from supportdesk.instances.monitoring import RunStore

        self.location = location
        self.holder = holder
        self.runs = RunStore(location)

    def targets(self) -> list[Target]:
        from django.db import close_old_connections

        from supportdesk.instances.models import Monitor

        close_old_connections()
        monitors = Monitor.objects.filter(enabled=True).exclude(instance__health_url="")
        return [
            Target(
                monitor_id=m.pk,
                url=m.instance.health_url,
                expected_status=m.expected_status,
                keyword=m.body_keyword,
                timeout=float(m.timeout_seconds),
                interval=m.interval_seconds,
                max_gap=max(m.max_gap_seconds, m.interval_seconds),
                failures_to_down=m.failures_to_down,
            )
            for m in monitors.select_related("instance")
        ]

    def lease(self, seconds: int) -> bool:
        from supportdesk.instances.monitoring import location_lease_acquire

        held = location_lease_acquire(location=self.location, holder=self.holder, seconds=seconds)
        if not held:
            self.runs.forget()  # someone else writes this location now
        return held

    def release(self) -> None:
        from supportdesk.instances.monitoring import location_lease_release

        location_lease_release(location=self.location, holder=self.holder)

    def record(self, results: list[ProbeResult]) -> None:
        from django.db import close_old_connections

        from supportdesk.instances.monitoring import monitor_evaluate

        close_old_connections()
        for monitor_id in self.runs.record(results, now=_now()):
            try:
                monitor_evaluate(monitor_id)
            except Exception:  # one instance's trouble must not stop the others
                log.exception("Evaluating monitor %s failed", monitor_id)

    def close(self) -> None:
        from django.db import connections

        connections.close_all()


def _now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now()


def phase_of(monitor_id: int, location: str, interval: int) -> float:
    """A stable offset inside the interval: spreads instances evenly, differs per location."""
    digest = hashlib.blake2b(f"{monitor_id}:{location}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % (interval * 1000)) / 1000


async def probe_once(client: httpx.AsyncClient, target: Target) -> tuple[bool, int | None, str]:
    """One health check: (ok, HTTP status, why it failed)."""
    try:
        async with asyncio.timeout(target.timeout):
            async with client.stream("GET", target.url) as response:
                body = b""
                if target.keyword:
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if target.keyword.encode() in body or len(body) >= BODY_LIMIT:
                            break
                code = response.status_code
    except TimeoutError:
        return False, None, f"no answer within {target.timeout:g} s"
    except httpx.ConnectError as exc:
        return False, None, f"cannot connect: {exc}"[:300]
    except httpx.HTTPError as exc:
        return False, None, f"{type(exc).__name__}: {exc}"[:300]
    except OSError as exc:
        return False, None, f"{type(exc).__name__}: {exc}"[:300]
    if code != target.expected_status:
        return False, code, f"HTTP {code} (expected {target.expected_status})"
    if target.keyword and target.keyword.encode() not in body:
        return False, code, f"the body does not contain {target.keyword!r}"
    return True, code, ""


class ProbeEngine:
    def __init__(
        self,
        *,
        store: Store,
        concurrency: int = 500,
        refresh_seconds: float = 15.0,
        flush_seconds: float = 1.0,
        lease_seconds: int = 30,
        jitter_fraction: float = 0.02,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.location = store.location
        self.concurrency = concurrency
        self.refresh_seconds = refresh_seconds
        self.flush_seconds = flush_seconds
        self.lease_seconds = lease_seconds
        self.jitter_fraction = jitter_fraction
        self.clock = clock
        self.stats = EngineStats()
        self.holding = False
        self._targets: dict[int, Target] = {}
        self._heap: list[tuple[float, int, int]] = []
        self._results: list[ProbeResult] = []
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self._db = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="probe-db")
        self._inflight: set[asyncio.Task[None]] = set()

    async def _in_db(self, func: Callable[..., object], *args: object) -> object:
        return await asyncio.get_running_loop().run_in_executor(self._db, func, *args)

    def _next_due(self, target: Target, after: float) -> float:
        phase = phase_of(target.monitor_id, self.location, target.interval)
        rounds = int((after - phase) // target.interval) + 1
        jitter = self._rng.uniform(0, min(1.0, self.jitter_fraction * target.interval))
        return phase + rounds * target.interval + jitter

    async def _refresh(self) -> None:
        held = bool(await self._in_db(self.store.lease, self.lease_seconds))
        if held and not self.holding:
            log.info("Probing from location %s", self.location)
        if not held:
            if self.holding:
                log.warning("Lost the lease of location %s; standing by", self.location)
            self.holding = False
            self._targets.clear()
            self._heap.clear()
            return
        self.holding = True
        targets = await self._in_db(self.store.targets)
        assert isinstance(targets, list)
        fresh = {t.monitor_id: t for t in targets}
        now = self.clock()
        for monitor_id, target in list(fresh.items()):
            old = self._targets.get(monitor_id)
            if old == target:
                fresh[monitor_id] = old  # keep the object: its heap entry carries its id
            else:
                heapq.heappush(self._heap, (self._next_due(target, now), monitor_id, id(target)))
        self._targets = fresh

    async def _flush(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        try:
            await self._in_db(self.store.record, batch)
        except Exception:
            log.exception("Storing %d probe results failed; they are lost", len(batch))

    async def _probe(
        self, client: httpx.AsyncClient, sem: asyncio.Semaphore, target: Target, due: float
    ) -> None:
        async with sem:
            started = self.clock()
            self.stats.drifts.append(started - due)
            ok, code, error = await probe_once(client, target)
            latency = int((self.clock() - started) * 1000)
        self.stats.probes += 1
        self.stats.failures += not ok
        self._results.append(
            ProbeResult(
                monitor_id=target.monitor_id,
                t=int(started),
                ok=ok,
                max_gap=target.max_gap,
                failures_to_down=target.failures_to_down,
                status_code=code,
                latency_ms=latency,
                error=error,
            )
        )

    async def run(self, stop: asyncio.Event) -> None:
        sem = asyncio.Semaphore(self.concurrency)
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        headers = {"User-Agent": f"supportdesk-probe/{supportdesk.__version__} ({self.location})"}
        async with httpx.AsyncClient(
            # Each probe sets its own deadline (asyncio.timeout in probe_once).
            limits=limits,
            headers=headers,
            follow_redirects=False,
            timeout=None,  # noqa: S113
        ) as client:
            next_refresh = next_flush = self.clock()
            try:
                while not stop.is_set():
                    now = self.clock()
                    if now >= next_refresh:
                        try:
                            await self._refresh()
                        except Exception:
                            log.exception("Loading probe targets failed; retrying")
                        next_refresh = now + (self.refresh_seconds if self.holding else 5.0)
                    if now >= next_flush:
                        await self._flush()
                        next_flush = now + self.flush_seconds
                    while self._heap and self._heap[0][0] <= self.clock():
                        due, monitor_id, version = heapq.heappop(self._heap)
                        target = self._targets.get(monitor_id)
                        if target is None or id(target) != version:
                            continue  # removed or changed: rescheduled under its new version
                        now = self.clock()
                        if now - due > target.interval:
                            self.stats.skipped += 1  # fell behind a whole round: do not burst
                        else:
                            task = asyncio.create_task(self._probe(client, sem, target, due))
                            self._inflight.add(task)
                            task.add_done_callback(self._inflight.discard)
                        heapq.heappush(
                            self._heap, (self._next_due(target, max(due, now)), monitor_id, version)
                        )
                    wake = min(next_refresh, next_flush)
                    if self._heap:
                        wake = min(wake, self._heap[0][0])
                    delay = max(0.0, wake - self.clock())
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=delay)
            finally:
                if self._inflight:
                    await asyncio.wait(self._inflight, timeout=15)
                await self._flush()
                try:
                    if self.holding:
                        await self._in_db(self.store.release)
                    await self._in_db(self.store.close)
                except Exception:  # the lease expires on its own
                    log.exception("Releasing location %s failed", self.location)
                self._db.shutdown(wait=True)


class ProbeThread(threading.Thread):
    """The engine in a background thread (how `supportdesk worker` runs it)."""

    def __init__(self, *, location: str, holder: str, concurrency: int = 500) -> None:
        super().__init__(name=f"supportdesk-probes-{location}", daemon=True)
        self.engine = ProbeEngine(store=Store(location, holder), concurrency=concurrency)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()

    def run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop_event = asyncio.Event()
            self._ready.set()
            await self.engine.run(self._stop_event)

        try:
            asyncio.run(main())
        except Exception:
            log.exception("The probe engine stopped")

    def stop(self, timeout: float = 20) -> None:
        self._ready.wait(timeout=5)
        if self._loop is not None and self._stop_event is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)
        self.join(timeout=timeout)
