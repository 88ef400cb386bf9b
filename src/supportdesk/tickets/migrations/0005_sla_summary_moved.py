"""The SLA summary columns now live in `slas_ticketslasummary` (copied there by `slas.0004`)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0004_ticket_next_sla_event_at_ticket_sla_calendar_id_and_more"),
        ("slas", "0004_ticketslasummary"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="ticket", name="ticket_next_sla_event_idx"),
        migrations.RemoveIndex(model_name="ticket", name="ticket_open_sla_due_idx"),
        migrations.RemoveField(model_name="ticket", name="next_sla_event_at"),
        migrations.RemoveField(model_name="ticket", name="sla_due_at"),
        migrations.RemoveField(model_name="ticket", name="sla_state"),
        migrations.RemoveField(model_name="ticket", name="sla_calendar_id"),
    ]
