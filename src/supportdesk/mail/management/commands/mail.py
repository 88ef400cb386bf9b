"""`supportdesk mail lmtp --bind HOST:PORT [--smtp]` and `supportdesk mail imap [--once]`."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from supportdesk.mail.imap import configured_mailboxes, poll_all
from supportdesk.mail.listener import Listener, parse_bind


class Command(BaseCommand):
    help = "Receive e-mail: an LMTP/SMTP listener for a mail server, or IMAP polling."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        lmtp = sub.add_parser(
            "lmtp", help="Listen for LMTP (or, with --smtp, SMTP) deliveries until SIGTERM"
        )
        lmtp.add_argument(
            "--bind",
            default=settings.SUPPORTDESK_MAIL_LISTEN,
            help="HOST:PORT to listen on (default: SUPPORTDESK_MAIL_LISTEN, 127.0.0.1:2525)",
        )
        lmtp.add_argument("--smtp", action="store_true", help="Speak plain SMTP instead of LMTP")
        lmtp.add_argument(
            "--threads",
            type=int,
            default=settings.SUPPORTDESK_MAIL_LISTENER_THREADS,
            help="Threads storing messages in the database at once",
        )
        imap = sub.add_parser("imap", help="Poll the IMAP mailboxes of SUPPORTDESK_IMAP_MAILBOXES")
        imap.add_argument("--once", action="store_true", help="One pass, then exit")
        imap.add_argument(
            "--interval",
            type=float,
            default=settings.SUPPORTDESK_IMAP_POLL_SECONDS,
            help="Seconds between passes (default: SUPPORTDESK_IMAP_POLL_SECONDS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "lmtp":
            self._lmtp(options["bind"], smtp=options["smtp"], threads=options["threads"])
        else:
            self._imap(once=options["once"], interval=options["interval"])

    def _lmtp(self, bind: str, *, smtp: bool, threads: int) -> None:
        try:
            host, port = parse_bind(bind)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from None
        listener = Listener(host, port, smtp=smtp, threads=threads)
        protocol = "SMTP" if smtp else "LMTP"

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)

            def ready(running: Listener) -> None:
                self.stdout.write(
                    f"supportdesk mail listener ({protocol}) on {host}:{running.port}, "
                    f"accepting mail for {', '.join(settings.SUPPORTDESK_MAIL_ADDRESSES)}"
                    + (
                        f" and @{', @'.join(settings.SUPPORTDESK_MAIL_DOMAINS)}"
                        if settings.SUPPORTDESK_MAIL_DOMAINS
                        else ""
                    )
                )
                self.stdout.flush()

            await listener.serve(stop, ready)

        try:
            asyncio.run(main())
        except OSError as exc:
            raise CommandError(f"cannot listen on {bind}: {exc}") from None
        self.stdout.write(
            f"Mail listener stopped after {listener.stats.messages} messages in "
            f"{listener.stats.sessions} sessions."
        )

    def _imap(self, *, once: bool, interval: float) -> None:
        mailboxes = configured_mailboxes()
        if not mailboxes:
            raise CommandError(
                "No IMAP mailboxes configured: set SUPPORTDESK_IMAP_MAILBOXES (docs/email.md)",
                returncode=2,
            )
        stop = threading.Event()
        if not once:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        while True:
            results = poll_all(mailboxes, should_stop=stop.is_set)
            for result in results:
                self.stdout.write(str(result))
            self.stdout.flush()
            if once:
                if any(r.error or r.failed for r in results):
                    raise CommandError("Some messages could not be fetched or stored", returncode=1)
                return
            if stop.wait(interval):
                return
