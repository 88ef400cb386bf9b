from __future__ import annotations

import datetime as dt

import pytest

from supportdesk.core.models import PeriodicJob
from supportdesk.core.scheduler import Job, claim_due, run_due_jobs
from supportdesk.core.testing import run_concurrently

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
JOB = Job("supportdesk.tickets.tasks.tickets_autoclose_task", dt.timedelta(minutes=10))


@pytest.mark.django_db
def test_a_due_job_is_claimed_once_per_interval():
    assert claim_due(JOB, worker_id="a", now=T0)
    assert not claim_due(JOB, worker_id="b", now=T0)
    assert not claim_due(JOB, worker_id="b", now=T0 + dt.timedelta(minutes=9))
    assert claim_due(JOB, worker_id="b", now=T0 + dt.timedelta(minutes=10))
    job = PeriodicJob.objects.get()
    assert job.last_worker == "b"
    assert job.next_run_at == T0 + dt.timedelta(minutes=20)


@pytest.mark.django_db
def test_run_due_jobs_enqueues_the_task(agent, contact):
    # The immediate backend runs the task at once: it must really work.
    assert run_due_jobs([JOB], worker_id="a", now=T0) == [JOB.task_path]
    assert run_due_jobs([JOB], worker_id="a", now=T0) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_claim_each_run_exactly_once():
    # Wins are recorded as they happen: run_concurrently retries a worker from the start when
    # SQLite's in-memory database says "locked", and the claims it already won stay won.
    wins: list[int] = []

    def worker() -> None:
        for minute in range(0, 60, 10):
            if claim_due(JOB, worker_id="w", now=T0 + dt.timedelta(minutes=minute)):
                wins.append(minute)

    run_concurrently(worker)
    assert sorted(wins) == [0, 10, 20, 30, 40, 50]  # each interval once, whoever won it
