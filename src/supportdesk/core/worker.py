"""The database task queue's worker, taking several ready tasks per claim.

django-tasks' database worker (django_tasks_db's `db_worker`) claims one task per transaction and
records its result in another: two write transactions per task besides the task's own. On SQLite
each is a turn at the database's one write lock, and behind a burst of mail (one processing task
per message) they added up. This worker claims up to `CLAIM_BATCH` ready tasks in one
transaction (one UPDATE), runs them one after the other (each task as before: its own
transactions, its after-commit work), and records their results together: one UPDATE per
distinct return value, usually one (a failure is recorded at once, with its traceback in the
log). A task's `finished_at` is when its batch's results were recorded.

Otherwise it is django-tasks' worker: the same queues, ordering (priority, run-after, enqueued),
signals, logs and results. A stop (SIGTERM) finishes the task that is running, hands the claimed
tasks not yet started back to the queue (READY) and exits; a worker killed in the middle leaves
its claimed tasks RUNNING, as a worker killed in a task does: the repair sweeps re-drive the work
they were for (inbound mail, outbound mail, notifications, webhooks).
"""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any

from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import QuerySet
from django.db.utils import OperationalError
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.compat import TaskContext, task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

logger = logging.getLogger("django_tasks_db")

# At most this many tasks per claim: enough to make the claim's and the results' transactions a
# small share of the work, few enough that a burst is still shared between workers.
CLAIM_BATCH = 8

_Row = DBTaskResult[Any, Any]
_RESULT_FIELDS = ["status", "return_value", "finished_at", "exception_class_path", "traceback"]


class BatchClaimWorker(Worker):
    def __init__(self, *, claim_batch: int = CLAIM_BATCH, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim_batch = claim_batch

    def run(self) -> None:
        logger.info(
            "Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names)
        )
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 - spreading the start of several workers
        while self.running:
            close_old_connections()
            # From the claim on, a stop lets this batch end (handing back what did not start)
            # instead of exiting at once.
            self.running_task = True
            try:
                claimed = self._claim()
                if claimed:
                    self._run_claimed(claimed)
            finally:
                self.running_task = False
            if self.batch and claimed == []:
                logger.info("No more tasks to run for worker_id=%s - exiting.", self.worker_id)
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                logger.info("Ran %d tasks on worker=%s - exiting.", self._run_tasks, self.worker_id)
                return
            close_old_connections()
            if self.running and not claimed:
                time.sleep(self.interval)

    def _ready(self) -> QuerySet[_Row]:
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        return tasks

    def _claim(self) -> list[_Row] | None:
        """Claim up to claim_batch ready tasks (in the queue's order); None when the database was
        locked (SQLite: tried again on the next turn)."""
        limit = self.claim_batch
        if self.max_tasks is not None:
            limit = max(1, min(limit, self.max_tasks - self._run_tasks))
        tasks = self._ready()
        with exclusive_transaction(tasks.db):
            try:
                claimed = list(tasks.select_for_update(skip_locked=True)[:limit])
                self._mark_claimed(claimed)
            except OperationalError as exc:
                if is_locked_database_exception(exc):
                    return None
                raise
        return claimed

    def _mark_claimed(self, claimed: list[_Row]) -> None:
        """What DBTaskResult.claim() does, in one UPDATE for the tasks never claimed before (all
        of them, usually)."""
        fresh = [r for r in claimed if not r.worker_ids]
        for db_task_result in claimed:
            if db_task_result.worker_ids:
                db_task_result.claim(self.worker_id)
        if not fresh:
            return
        now = timezone.now()
        DBTaskResult.objects.filter(pk__in=[r.pk for r in fresh]).update(
            status=TaskResultStatus.RUNNING, started_at=now, worker_ids=[self.worker_id]
        )
        for db_task_result in fresh:
            db_task_result.status = TaskResultStatus.RUNNING
            db_task_result.started_at = now
            db_task_result.worker_ids = [self.worker_id]

    def _run_claimed(self, claimed: list[_Row]) -> None:
        succeeded: list[_Row] = []
        try:
            for index, db_task_result in enumerate(claimed):
                if not self.running:
                    self._hand_back(claimed[index:])
                    break
                if self._call(db_task_result):
                    succeeded.append(db_task_result)
        finally:
            self._record(succeeded)

    def _call(self, db_task_result: _Row) -> bool:
        """Run one task. A success is set on the row for _record() to save with the others (True);
        a failure is saved and signalled at once, while its traceback is at hand (False)."""
        try:
            task = db_task_result.task
            task_result = db_task_result.task_result
            task_started.send(sender=type(task.get_backend()), task_result=task_result)
            if task.takes_context:
                return_value = task.call(
                    TaskContext(task_result=task_result),
                    *task_result.args,
                    **task_result.kwargs,
                )
            else:
                return_value = task.call(*task_result.args, **task_result.kwargs)
            json.dumps(return_value)  # a result that cannot be stored fails the task, as before
        except BaseException as exc:  # recorded as the task's failure, as django-tasks does
            try:
                db_task_result.set_failed(exc)  # saved, with the library's retries
            except Exception:
                logger.exception("Recording the failure of task %s failed", db_task_result.pk)
            self._finished(db_task_result)
            return False
        else:
            db_task_result.status = TaskResultStatus.SUCCESSFUL
            db_task_result.return_value = return_value
            db_task_result.exception_class_path = ""
            db_task_result.traceback = ""
            return True
        finally:
            self._run_tasks += 1

    def _finished(self, db_task_result: _Row) -> None:
        try:
            sender = type(db_task_result.task.get_backend())
            task_finished.send(sender=sender, task_result=db_task_result.task_result)
        except Exception:
            logger.exception("Task id=%s finished; its signal failed", db_task_result.pk)

    def _record(self, succeeded: list[_Row]) -> None:
        """Save the results: one UPDATE per distinct return value (usually one for the batch),
        in one transaction, finished at the time of recording; one by one, with retries, if that
        fails. Then the task_finished signals."""
        if not succeeded:
            return
        now = timezone.now()
        by_value: dict[str, list[_Row]] = {}
        for db_task_result in succeeded:
            db_task_result.finished_at = now
            key = json.dumps(db_task_result.return_value, sort_keys=True)
            by_value.setdefault(key, []).append(db_task_result)
        try:
            with transaction.atomic(using=succeeded[0]._state.db):
                for rows in by_value.values():
                    DBTaskResult.objects.filter(pk__in=[r.pk for r in rows]).update(
                        status=TaskResultStatus.SUCCESSFUL,
                        return_value=rows[0].return_value,
                        finished_at=now,
                        exception_class_path="",
                        traceback="",
                    )
        except DatabaseError:
            logger.exception("Recording %d task results together failed", len(succeeded))
            for db_task_result in succeeded:
                try:
                    _save_with_retries(db_task_result)
                except DatabaseError:
                    logger.exception("Recording the result of task %s failed", db_task_result.pk)
        for db_task_result in succeeded:
            self._finished(db_task_result)

    def _hand_back(self, unstarted: list[_Row]) -> None:
        DBTaskResult.objects.filter(pk__in=[r.pk for r in unstarted]).update(
            status=TaskResultStatus.READY, started_at=None
        )
        logger.info("Handed %d claimed tasks back to the queue", len(unstarted))


def _save_with_retries(db_task_result: _Row, attempts: int = 3) -> None:
    for attempt in range(1, attempts + 1):
        try:
            db_task_result.save(update_fields=_RESULT_FIELDS)
            return
        except DatabaseError:
            if attempt == attempts:
                raise
            time.sleep(0.1)
