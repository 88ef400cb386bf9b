"""Background work of the e-mail channel: processing stored mail, sending ours, and the repair
sweep that re-drives both after a crash."""

from __future__ import annotations

from django_tasks import task

from supportdesk.mail import outbound, processing, services


@task()
def process_inbound_task(inbound_id: int) -> str:
    """Process one stored inbound message (enqueued by the transport after commit)."""
    return processing.process_inbound(inbound_id).state


@task()
def outbound_send_task(outbound_id: int) -> bool:
    return outbound.outbound_send(outbound_id)


@task()
def mail_repair_task() -> dict[str, int]:
    """Periodic: re-drive messages left RECEIVED for over a minute (a worker died, an enqueue was
    lost) and mail waiting to be sent or retried."""
    return {
        "inbound": services.inbound_redrive(),
        "outbound": outbound.outbound_redrive(),
    }
