"""The catalogue of webhook event types (shown where subscriptions are made, and in docs/api.md).
Subdomains add theirs here when they start emitting them."""

EVENT_TYPES: dict[str, str] = {
    "ticket.created": "A ticket was opened",
    "ticket.updated": "A ticket's status, severity, assignee, tags, CCs or reported-at changed",
    "message.created": "A public reply was added to a ticket",
    "note.created": "An internal note was added (global staff subscriptions only)",
    "sla.warning": "An SLA target or a promised update is getting close (global staff "
    "subscriptions only)",
    "sla.breached": "An SLA target or a promised update was missed (global staff subscriptions "
    "only)",
}
