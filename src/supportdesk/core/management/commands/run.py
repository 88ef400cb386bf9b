"""`make run`: one command that migrates, loads demo data into an empty database, and runs the web
server, the background worker (and the mail listener) together until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from supportdesk.accounts.models import User

DEMO_LOGINS = [
    ("agent@demo.test", "support agent"),
    ("lead@demo.test", "support lead / admin"),
    ("ce@demo.test", "internal teammate (Customer Engineering)"),
    ("alice@acme.demo.test", "Acme: self-hosted Enterprise, org admin"),
    ("dave@acme.demo.test", "Acme: contact"),
    ("bob@globex.demo.test", "Globex: managed instances, Elite, org admin"),
    ("sam@community.demo.test", "community user (no SLA)"),
]


class Command(BaseCommand):
    help = "Run supportdesk for development: web, worker and mail listener, with demo data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--mail-port",
            type=int,
            default=int(os.environ.get("MAIL_PORT", "2525")),
            help="Port of the LMTP mail listener on --host (default: MAIL_PORT or 2525)",
        )
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if not options["no_demo"] and not User.objects.exists():
            self.stdout.write("Empty database: loading demo data…")
            call_command("demo")
        url = f"http://{options['host']}:{options['port']}"
        exe = [sys.executable, "-m", "supportdesk"]
        processes = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "supportdesk.wsgi:application",
                "--bind",
                f"{options['host']}:{options['port']}",
                "--workers",
                str(options["web_workers"]),
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
            ],
            "worker": [*exe, "worker"],
            "mail": [*exe, "mail", "lmtp", "--bind", f"{options['host']}:{options['mail_port']}"],
        }
        processes.update(getattr(settings, "SUPPORTDESK_RUN_EXTRA", {}))
        self._banner(url, f"{options['host']}:{options['mail_port']}")
        children: dict[str, subprocess.Popen[bytes]] = {}
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "supportdesk.settings.dev"
            ),
        }
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, cmd in processes.items():
                children[name] = subprocess.Popen(cmd, env=env)  # noqa: S603 - our own commands
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        raise CommandError(
                            f"The {name} process exited with status "
                            f"{child.returncode}; stopping everything."
                        )
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for child in children.values():
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("supportdesk stopped.")

    def _banner(self, url: str, mail: str) -> None:
        width = max(len(e) for e, _ in DEMO_LOGINS)
        lines = [
            "",
            f"  supportdesk is starting at {url}",
            f"  database: {settings.DATABASES['default']['NAME']}",
            f"  mail in: LMTP on {mail} for {', '.join(settings.SUPPORTDESK_MAIL_ADDRESSES)}",
            "",
            "  Demo logins (password: demo):",
            *[f"    {email.ljust(width)}  {what}" for email, what in DEMO_LOGINS],
            "",
            "  Stop with Ctrl-C.",
            "",
        ]
        self.stdout.write("\n".join(lines))
