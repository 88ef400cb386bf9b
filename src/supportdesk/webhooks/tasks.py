from __future__ import annotations

from django_tasks import task

from supportdesk.webhooks import services


@task()
def webhook_deliver_task(delivery_id: str) -> bool:
    return services.webhook_deliver(delivery_id)


@task()
def webhook_deliveries_redrive_task() -> int:
    return services.webhook_deliveries_redrive()
