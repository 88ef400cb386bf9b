from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from supportdesk.accounts.models import User
from supportdesk.core.demo import create_demo_data
from supportdesk.mail.demo import create_demo_mail


class Command(BaseCommand):
    help = "Create demo organizations, people and tickets (only into an empty database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.exists():
            raise CommandError(
                "The database already has users; demo data goes only into an empty database."
            )
        counts = create_demo_data(seed=options["seed"])
        # After the commit: each delivered message is its own durable transaction.
        mail = create_demo_mail()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {counts['organizations']} organizations, {counts['users']} people, "
                f"{counts['tickets']} tickets, {sum(mail.values())} e-mails received "
                f"({mail.get('quarantined', 0)} in quarantine)."
            )
        )
