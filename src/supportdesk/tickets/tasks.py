from __future__ import annotations

from django_tasks import task

from supportdesk.tickets.services import tickets_autoclose


@task()
def tickets_autoclose_task() -> int:
    """Close tickets solved more than SUPPORTDESK_AUTOCLOSE_DAYS ago (periodic)."""
    return tickets_autoclose()
