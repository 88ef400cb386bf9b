"""The catalogue of webhook event types (shown where subscriptions are made, and in docs/api.md).
Subdomains add theirs here when they start emitting them."""

EVENT_TYPES: dict[str, str] = {
    "ticket.created": "A ticket was opened",
    "ticket.updated": "A ticket's status, severity, assignee, tags, CCs or reported-at changed",
    "message.created": "A public reply was added to a ticket",
    "note.created": "An internal note was added (global staff subscriptions only)",
    "incident.created": "A managed instance went down (or a maintenance overran): incident opened",
    "incident.updated": "An incident moved on (identified, monitoring…) or got an update",
    "incident.resolved": "An incident was resolved",
    "maintenance.proposed": "A maintenance window was proposed and waits for confirmation",
    "maintenance.scheduled": "A maintenance window was confirmed and announced",
    "maintenance.rescheduled": "A maintenance window got new times (a new announcement)",
    "maintenance.cancelled": "A maintenance window was cancelled (with the reason)",
    "maintenance.reminder": "A maintenance window starts in 24 hours or in 1 hour",
    "maintenance.started": "A maintenance window started",
    "maintenance.completed": "A maintenance window ended",
    "maintenance.overrun": "A maintenance window passed its scheduled end with the instance down",
    "sla.warning": "An SLA target or a promised update is getting close (global staff "
    "subscriptions only)",
    "sla.breached": "An SLA target or a promised update was missed (global staff subscriptions "
    "only)",
}
