"""The periodic scheduler that runs inside every worker process.

Jobs are listed in settings.SUPPORTDESK_PERIODIC_JOBS as (task import path, interval in seconds).
Every few seconds each worker's scheduler tries to claim the jobs that are due with a conditional
UPDATE on PeriodicJob; only the worker whose UPDATE changed the row enqueues the task. Tasks are
written to be safe to run twice anyway (they re-read state), so a crash between claim and enqueue
costs one interval at most."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string

from supportdesk.core.models import PeriodicJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    task_path: str
    interval: dt.timedelta


def configured_jobs() -> list[Job]:
    return [
        Job(path, dt.timedelta(seconds=seconds))
        for path, seconds in getattr(settings, "SUPPORTDESK_PERIODIC_JOBS", [])
    ]


def claim_due(job: Job, *, worker_id: str, now: dt.datetime | None = None) -> bool:
    """True when this worker won the run of `job` that is due now (and moved its next run on)."""
    now = now or timezone.now()
    PeriodicJob.objects.get_or_create(name=job.task_path, defaults={"next_run_at": now})
    claimed = PeriodicJob.objects.filter(name=job.task_path, next_run_at__lte=now).update(
        next_run_at=now + job.interval, last_run_at=now, last_worker=worker_id
    )
    return claimed == 1


def run_due_jobs(
    jobs: Sequence[Job], *, worker_id: str, now: dt.datetime | None = None
) -> list[str]:
    """Enqueue every job that is due and that this worker claims. Returns what it enqueued."""
    enqueued = []
    for job in jobs:
        if claim_due(job, worker_id=worker_id, now=now):
            import_string(job.task_path).enqueue()
            enqueued.append(job.task_path)
    return enqueued


class SchedulerThread(threading.Thread):
    def __init__(self, *, worker_id: str, tick_seconds: float = 5.0) -> None:
        super().__init__(name="supportdesk-scheduler", daemon=True)
        self.worker_id = worker_id
        self.tick_seconds = tick_seconds
        self.stopping = threading.Event()
        self.jobs = configured_jobs()

    def run(self) -> None:
        log.info("Scheduler started with %d periodic jobs", len(self.jobs))
        # Spread the workers' ticks so they do not all poll at the same instant.
        self.stopping.wait(random.uniform(0, self.tick_seconds))  # noqa: S311 - jitter only
        while not self.stopping.is_set():
            try:
                close_old_connections()
                for path in run_due_jobs(self.jobs, worker_id=self.worker_id):
                    log.info("Enqueued periodic job %s", path)
            except Exception:  # keep scheduling through a database blip
                log.exception("Scheduler tick failed; retrying")
            finally:
                close_old_connections()
            self.stopping.wait(self.tick_seconds)

    def stop(self) -> None:
        self.stopping.set()
