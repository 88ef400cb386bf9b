"""enqueue_with_transaction: a task exists when the transaction that asks for it commits."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from supportdesk.core.tasks import enqueue_with_transaction, tasks_in_this_database
from supportdesk.mail.tasks import outbound_send_task


@pytest.fixture
def database_task_queue(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_only_the_database_backend_is_a_queue_in_this_database(settings):
    assert not tasks_in_this_database()  # the test settings run tasks immediately
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert tasks_in_this_database()


@pytest.mark.django_db
def test_with_the_database_queue_the_task_is_written_in_the_transaction(
    database_task_queue, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        enqueue_with_transaction(outbound_send_task.enqueue, 42)
        assert DBTaskResult.objects.get().args_kwargs == {"args": [42], "kwargs": {}}
    assert callbacks == []


@pytest.mark.django_db
def test_a_rolled_back_transaction_leaves_no_task(database_task_queue):
    from django_tasks_db.models import DBTaskResult

    def work() -> None:
        with transaction.atomic():
            enqueue_with_transaction(outbound_send_task.enqueue, 42)
            raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError):
        work()
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_other_backends_enqueue_after_the_commit(django_capture_on_commit_callbacks):
    calls: list[int] = []
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        enqueue_with_transaction(calls.append, 7)
    assert calls == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert calls == [7]


@pytest.mark.django_db
def test_a_robust_enqueue_that_fails_is_logged_and_rolled_back(database_task_queue, caplog):
    from django_tasks_db.models import DBTaskResult

    def broken(value: int) -> None:
        outbound_send_task.enqueue(value)
        raise RuntimeError("queue unavailable")

    with transaction.atomic():
        enqueue_with_transaction(broken, 1, robust=True, description="the test task")
    assert not DBTaskResult.objects.exists()
    assert "Enqueueing the test task failed" in caplog.text
    with pytest.raises(RuntimeError):  # not robust: the caller's transaction fails
        enqueue_with_transaction(broken, 1)
