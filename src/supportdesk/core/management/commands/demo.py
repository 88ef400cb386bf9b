from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from supportdesk.accounts.models import User
from supportdesk.core.demo import create_demo_data
from supportdesk.mail.demo import create_demo_mail


class Command(BaseCommand):
    help = "Create demo organizations, people and tickets (only into an empty database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError(
                "The database is not set up yet (migrations not applied): run "
                "`supportdesk migrate` first, or `supportdesk run`, which migrates and loads the "
                "demo data itself."
            )
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
