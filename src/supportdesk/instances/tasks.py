from __future__ import annotations

from django_tasks import task

from supportdesk.instances import incidents, maintenance, monitoring


@task()
def maintenance_sweep_task() -> dict[str, int]:
    """Reminders, starts, ends and overruns of maintenance windows (every 30 s)."""
    return maintenance.maintenance_sweep()


@task()
def monitors_sweep_task() -> int:
    """Re-decide every monitor's state and resolve quiet incidents (every 60 s)."""
    changed = monitoring.monitors_sweep()
    incidents.incidents_auto_resolve()
    return changed
