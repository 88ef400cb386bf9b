"""The tickets' SLA summary moves off `tickets_ticket` into a narrow one-to-one table.

Creates `slas_ticketslasummary` and copies every ticket's summary columns into it (one
`INSERT … SELECT`); `tickets.0005` then drops the columns and their indexes. On PostgreSQL the
table keeps free space on each page (fillfactor), so an update that changes only unindexed
columns (the badge state, the calendar) is HOT and the others stay on their page."""

import django.db.models.deletion
from django.db import migrations, models

COPY_FORWARDS = """
    INSERT INTO slas_ticketslasummary (ticket_id, is_open, next_event_at, due_at, state, calendar_id)
    SELECT id, is_open, next_sla_event_at, sla_due_at, sla_state, sla_calendar_id
    FROM tickets_ticket
"""

COPY_BACKWARDS = """
    UPDATE tickets_ticket SET
        next_sla_event_at = (SELECT s.next_event_at FROM slas_ticketslasummary s
                             WHERE s.ticket_id = tickets_ticket.id),
        sla_due_at = (SELECT s.due_at FROM slas_ticketslasummary s
                      WHERE s.ticket_id = tickets_ticket.id),
        sla_state = COALESCE((SELECT s.state FROM slas_ticketslasummary s
                              WHERE s.ticket_id = tickets_ticket.id), ''),
        sla_calendar_id = (SELECT s.calendar_id FROM slas_ticketslasummary s
                           WHERE s.ticket_id = tickets_ticket.id)
"""


def forwards(apps, schema_editor):
    schema_editor.execute(COPY_FORWARDS)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE slas_ticketslasummary SET (fillfactor = 70)")
        schema_editor.execute("ANALYZE slas_ticketslasummary")


def backwards(apps, schema_editor):
    schema_editor.execute(COPY_BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [
        ("slas", "0003_clock_fillfactor"),
        ("tickets", "0004_ticket_next_sla_event_at_ticket_sla_calendar_id_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketSlaSummary",
            fields=[
                (
                    "ticket",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="sla_summary",
                        serialize=False,
                        to="tickets.ticket",
                    ),
                ),
                ("is_open", models.BooleanField(default=True)),
                ("next_event_at", models.DateTimeField(blank=True, null=True)),
                ("due_at", models.DateTimeField(blank=True, null=True)),
                ("state", models.CharField(blank=True, max_length=10)),
                ("calendar_id", models.PositiveBigIntegerField(blank=True, null=True)),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("next_event_at__isnull", False)),
                        fields=["next_event_at"],
                        name="slasummary_next_event_idx",
                    ),
                    models.Index(
                        fields=["is_open", "due_at", "ticket"], name="slasummary_open_due_idx"
                    ),
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
