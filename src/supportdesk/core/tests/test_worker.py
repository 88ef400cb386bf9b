from __future__ import annotations

from typing import Any

import pytest
from django.db import connections
from django_tasks import task

from supportdesk.core.management.commands.worker import keep_sqlite_connections
from supportdesk.core.worker import BatchClaimWorker


@pytest.mark.django_db
def test_worker_keeps_its_sqlite_connection_between_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker process keeps one SQLite connection (no reconnect per task); a PostgreSQL
    connection keeps its configured age (DATABASE_CONN_MAX_AGE)."""
    conn = connections["default"]
    monkeypatch.setitem(conn.settings_dict, "CONN_MAX_AGE", 0 if conn.vendor == "sqlite" else 60)
    keep_sqlite_connections()
    if conn.vendor == "sqlite":
        assert conn.settings_dict["CONN_MAX_AGE"] is None
    else:
        assert conn.settings_dict["CONN_MAX_AGE"] == 60


def test_the_worker_marks_itself_background_for_the_sqlite_writers_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its SQLite writers give way to the web's and the mail listener's
    (core/backends/sqlite3)."""
    from django.core.management import call_command

    from supportdesk.core.backends.sqlite3 import base
    from supportdesk.core.management.commands import worker

    ran: list[str] = []
    monkeypatch.setattr(
        worker.Command, "_database_worker", lambda self, options, worker_id: ran.append(worker_id)
    )
    monkeypatch.setattr(base, "_background", False)
    call_command("worker", "--no-scheduler", "--no-probes")
    assert len(ran) == 1
    assert base._background is True


# --- The worker that claims several tasks at a time (core/worker.py) --------------------------

CALLS: list[int] = []
RUNNING: list[BatchClaimWorker] = []


@task()
def double_task(n: int) -> int:
    CALLS.append(n)
    if n < 0:
        raise ValueError(f"{n} is negative")
    return 2 * n


@task()
def describe_task(n: int) -> dict[str, Any] | None:
    CALLS.append(n)
    return None if n == 0 else {"n": n, "seen": ["twice", "once"][n % 2]}


@task()
def stop_the_worker_task(n: int) -> int:
    """What SIGTERM does to the worker while a task runs."""
    CALLS.append(n)
    RUNNING[0].running = False
    return n


def _worker(*, claim_batch: int) -> BatchClaimWorker:
    worker = BatchClaimWorker(
        claim_batch=claim_batch,
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    RUNNING[:] = [worker]
    CALLS.clear()
    return worker


@pytest.fixture
def database_task_queue(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db(transaction=True)
def test_the_worker_claims_several_tasks_at_a_time_and_records_every_result(
    database_task_queue: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    numbers = [1, 2, 3, -4, 5, 6, 7, 8, 9, 10]
    for n in numbers:
        double_task.enqueue(n)
    worker = _worker(claim_batch=4)
    claims: list[int] = []
    claim = worker._claim

    def counted() -> Any:
        claimed = claim()
        claims.append(len(claimed or []))
        return claimed

    monkeypatch.setattr(worker, "_claim", counted)
    worker.run()
    assert sorted(CALLS) == sorted(numbers)
    assert claims == [4, 4, 2, 0]  # three claims for ten tasks, then an empty queue: exit
    results = {r.args_kwargs["args"][0]: r for r in DBTaskResult.objects.all()}
    for n, result in results.items():
        assert result.worker_ids == ["test-worker"]
        assert result.finished_at is not None
        if n < 0:
            assert result.status == TaskResultStatus.FAILED
            assert "ValueError: -4 is negative" in result.traceback
            assert result.return_value is None
        else:
            assert result.status == TaskResultStatus.SUCCESSFUL
            assert result.return_value == 2 * n


@pytest.mark.django_db(transaction=True)
def test_results_of_every_json_shape_are_recorded(database_task_queue: None) -> None:
    """Results are saved grouped by value (one UPDATE per distinct value): objects, None."""
    from django_tasks_db.models import DBTaskResult

    for n in (0, 1, 2, 3, 0):
        describe_task.enqueue(n)
    _worker(claim_batch=8).run()
    recorded = sorted(
        (r.args_kwargs["args"][0], r.return_value, r.status) for r in DBTaskResult.objects.all()
    )
    assert recorded == [
        (0, None, "SUCCESSFUL"),
        (0, None, "SUCCESSFUL"),
        (1, {"n": 1, "seen": "once"}, "SUCCESSFUL"),
        (2, {"n": 2, "seen": "twice"}, "SUCCESSFUL"),
        (3, {"n": 3, "seen": "once"}, "SUCCESSFUL"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_hands_back_the_tasks_it_had_not_started(
    database_task_queue: None,
) -> None:
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    stop_the_worker_task.enqueue(0)
    for n in (1, 2, 3):
        double_task.enqueue(n)
    worker = _worker(claim_batch=8)
    worker.run()
    assert CALLS == [0]  # the running task finished; the worker stopped
    rows = DBTaskResult.objects.all()
    stopper = rows.get(task_path__endswith="stop_the_worker_task")
    assert stopper.status == TaskResultStatus.SUCCESSFUL
    assert stopper.return_value == 0
    others = rows.exclude(pk=stopper.pk)
    assert {r.status for r in others} == {TaskResultStatus.READY}  # claimed, handed back
    assert {r.started_at for r in others} == {None}
    worker = _worker(claim_batch=8)
    worker.run()  # another worker takes them
    assert sorted(CALLS) == [1, 2, 3]
    assert {r.status for r in others.all()} == {TaskResultStatus.SUCCESSFUL}
