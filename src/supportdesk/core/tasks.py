from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tasks import TaskResultStatus, task

logger = logging.getLogger(__name__)


def tasks_in_this_database() -> bool:
    """Whether the task queue is a table of the default database (the django-tasks-db backend):
    a task enqueued inside a transaction is then committed (or rolled back) with it."""
    if settings.TASKS.get("default", {}).get("BACKEND") != "django_tasks_db.DatabaseBackend":
        return False
    from django.db import router
    from django_tasks_db.models import DBTaskResult

    return router.db_for_write(DBTaskResult) == connection.alias


def queued_task_arguments(task: Any) -> set[Any] | None:
    """The first argument of every run of `task` waiting in the queue (READY, not started), when
    the task queue is this database; None when it cannot be known (another backend).

    Repair sweeps skip what is already queued: a READY task will run, whereas a task left RUNNING
    by a worker that was killed will not, so only READY ones count."""
    if not tasks_in_this_database():
        return None
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=task.module_path
    ).values_list("args_kwargs", flat=True)
    return {row["args"][0] for row in rows if row.get("args")}


def enqueue_unless_queued(task: Any, ids: Iterable[Any], *, limit: int) -> int:
    """A repair sweep's enqueue: `task` for each of `ids` (in order, at most `limit`) that has no
    run of `task` waiting in the database queue already. Returns how many it enqueued."""
    queued = queued_task_arguments(task) or set()
    due = list(islice((i for i in ids if i not in queued), limit))
    for i in due:
        task.enqueue(i)
    return len(due)


def enqueue_with_transaction(
    enqueue: Any, *args: Any, robust: bool = False, description: str = ""
) -> None:
    """Run `enqueue(*args)` (a task's enqueue, or a function that enqueues) so that the task
    exists exactly when the current transaction commits.

    With the database task queue inside a transaction, the task row is written in that same
    transaction: one commit instead of two, and a worker cannot see it before the data it works
    on. Otherwise (another backend, or no transaction), it runs after the commit as before.
    `robust`: a failed enqueue is logged, not raised (a repair sweep re-drives the work); in a
    transaction its writes are rolled back with a savepoint."""
    if connection.in_atomic_block and tasks_in_this_database():
        _write_now(enqueue, *args, robust=robust, description=description)
        return

    def run() -> None:  # a plain function: Django's error log needs a __qualname__
        enqueue(*args)

    transaction.on_commit(run, robust=robust)


def enqueue_each_with_transaction(
    task: Any, args_list: Sequence[tuple[Any, ...]], *, robust: bool = False, description: str = ""
) -> None:
    """`task.enqueue(*args)` for each of `args_list`, as `enqueue_with_transaction` does it; with
    the database task queue inside a transaction, all the task rows go in with one INSERT."""
    if connection.in_atomic_block and tasks_in_this_database():
        _write_now(_insert_task_rows, task, args_list, robust=robust, description=description)
        return
    for args in args_list:
        enqueue_with_transaction(task.enqueue, *args, robust=robust, description=description)


def _write_now(write: Any, *args: Any, robust: bool, description: str) -> None:
    if not robust:
        write(*args)
        return
    try:
        with transaction.atomic():
            write(*args)
    except Exception:
        logger.exception("Enqueueing %s failed", description or write)


def _insert_task_rows(task: Any, args_list: Sequence[tuple[Any, ...]]) -> None:
    """What `DatabaseBackend.enqueue` writes for each of `args_list`, in one INSERT. (The
    backend's pre-save handler that stores "no run_after" as the maximum date does not run for a
    bulk insert: done here.)"""
    from django_tasks.signals import task_enqueued
    from django_tasks.utils import normalize_json
    from django_tasks_db.models import DBTaskResult, get_date_max

    backend = task.get_backend()
    backend.validate_task(task)
    rows = DBTaskResult.objects.bulk_create(
        DBTaskResult(
            id=backend._get_id(),
            args_kwargs=normalize_json({"args": list(args), "kwargs": {}}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after if task.run_after is not None else get_date_max(),
            backend_name=backend.alias,
        )
        for args in args_list
    )
    for row in rows:
        task_enqueued.send(type(backend), task_result=row.task_result)


@task()
def task_results_prune() -> None:
    """Finished task results are kept two weeks for inspection, then pruned."""
    if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
        call_command("prune_db_task_results", queue_name="*", min_age_days=14, verbosity=0)
