from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django_tasks import task


@task()
def task_results_prune() -> None:
    """Finished task results are kept two weeks for inspection, then pruned."""
    if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
        call_command("prune_db_task_results", queue_name="*", min_age_days=14, verbosity=0)
