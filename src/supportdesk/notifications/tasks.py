from __future__ import annotations

from django_tasks import task

from supportdesk.notifications import services


@task()
def notification_email_task(notification_id: int) -> bool:
    return services.notification_email_send(notification_id)


@task()
def notifications_redrive_task() -> int:
    return services.notifications_redrive()
