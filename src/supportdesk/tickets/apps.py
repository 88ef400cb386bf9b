from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TicketsConfig(AppConfig):
    name = "supportdesk.tickets"
    label = "tickets"

    def ready(self) -> None:
        from supportdesk.tickets.fulltext import ensure_fulltext_after_migrate

        # Database plumbing, not a business rule: a table rebuild on SQLite drops FTS triggers.
        post_migrate.connect(ensure_fulltext_after_migrate, sender=self)
