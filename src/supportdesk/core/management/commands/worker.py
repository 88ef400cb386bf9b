from __future__ import annotations

import os
import socket
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from supportdesk.core.backends.sqlite3.base import set_background
from supportdesk.core.scheduler import SchedulerThread
from supportdesk.core.worker import BatchClaimWorker


def keep_sqlite_connections() -> None:
    """A worker is one long-lived process: on SQLite it keeps its database connection open
    between tasks instead of the per-request default (CONN_MAX_AGE 0), which made the task queue's
    loop open a new connection (and re-run the WAL pragmas) for every task it ran. Django still
    closes a connection that became unusable (an error in the middle of a task)."""
    for conn in connections.all():
        if conn.vendor == "sqlite" and not conn.settings_dict.get("CONN_MAX_AGE"):
            conn.settings_dict["CONN_MAX_AGE"] = None


class Command(BaseCommand):
    help = (
        "Run a background worker: executes queued tasks and, in the same process, the periodic "
        "scheduler. Run as many as you like, on as many machines: each task and each periodic run "
        "is taken by one worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="Only execute tasks; do not enqueue periodic jobs.",
        )
        parser.add_argument("--queues", default="*", help="Queues to process (default: all)")
        parser.add_argument(
            "--no-probes",
            action="store_true",
            help="Do not probe managed instances from this process (see SUPPORTDESK_PROBE_*).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Background work: on SQLite, the write lock goes to the web and the mail listener first.
        set_background()
        worker_id = f"{socket.gethostname()}:{os.getpid()}"
        scheduler = None
        if not options["no_scheduler"]:
            scheduler = SchedulerThread(worker_id=worker_id)
            scheduler.start()
        probes = None
        if not options["no_probes"] and settings.SUPPORTDESK_PROBES_IN_WORKER:
            from supportdesk.instances.prober import ProbeThread

            probes = ProbeThread(
                location=settings.SUPPORTDESK_PROBE_LOCATION,
                holder=worker_id,
                concurrency=settings.SUPPORTDESK_PROBE_CONCURRENCY,
            )
            probes.start()
        backend = str(settings.TASKS["default"]["BACKEND"])
        self.stdout.write(f"supportdesk worker {worker_id} ({backend})")
        try:
            if backend.startswith("django_tasks_rq"):
                call_command("rqworker", *settings.RQ_QUEUES.keys(), with_scheduler=False)
            else:
                keep_sqlite_connections()
                self._database_worker(options, worker_id=worker_id[:64])
        finally:
            if scheduler is not None:
                scheduler.stop()
            if probes is not None:
                probes.stop()

    def _database_worker(self, options: dict[str, Any], *, worker_id: str) -> None:
        """django-tasks' database worker, claiming several tasks at a time (core/worker.py)."""
        from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS
        from django_tasks_db.management.commands.db_worker import Command as DatabaseWorker

        DatabaseWorker().configure_logging(options["verbosity"])
        queues = options["queues"].split(",")
        worker = BatchClaimWorker(
            queue_names=queues,
            interval=1.0,
            batch=False,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=True,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        worker.configure_signals()
        worker.run()
