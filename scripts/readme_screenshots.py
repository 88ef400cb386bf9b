"""Regenerate the README's screenshots from a fresh demo installation.

    .venv/bin/python scripts/readme_screenshots.py

Starts `supportdesk run` on a temporary SQLite database with demo data, signs in as the demo agent
and customer in Debian's Chromium, and writes docs/screenshots/*.png.
"""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    port, mail_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "SUPPORTDESK_DATA_DIR": data, "DATABASE_URL": "",
               "MAIL_PORT": str(mail_port), "DJANGO_SETTINGS_MODULE": "supportdesk.settings.dev"}
        server = subprocess.Popen([sys.executable, "-m", "supportdesk", "run", "--port",
                                   str(port), "--web-workers", "1"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})

                def sign_in(email: str) -> None:
                    page.goto(f"{base}/login/")
                    page.get_by_label("Email").fill(email)
                    page.get_by_label("Password").fill("demo")
                    page.get_by_role("button", name="Sign in").click()

                # A customer writes in: the mail arrives over LMTP like Postfix would deliver it.
                mail = EmailMessage()
                mail["From"] = "Alice <alice@acme.demo.test>"
                mail["To"] = "support@supportdesk.test"
                mail["Subject"] = "Backups fail after upgrading to 4.2"
                mail.set_content("Hi,\n\nsince the upgrade to 4.2 the nightly backup fails with "
                                 "'permission denied' on /var/backups.\n\nAlice\n-- \nAlice, Acme")
                with smtplib.LMTP("127.0.0.1", mail_port) as lmtp:
                    lmtp.send_message(mail)
                sign_in("agent@demo.test")
                for _ in range(120):
                    page.goto(f"{base}/console/?queue=open")
                    if page.get_by_text("Backups fail after upgrading").count():
                        break
                    time.sleep(1)
                page.get_by_text("Backups fail after upgrading").first.click()
                page.screenshot(path=OUT / "console-email-ticket.png", full_page=True)
                page.goto(f"{base}/console/instances/")
                page.screenshot(path=OUT / "console-instances.png")
                page.goto(f"{base}/console/?queue=open")
                page.screenshot(path=OUT / "console-queue.png")
                page.locator("[data-ticket-row] a[data-open]").first.click()
                page.screenshot(path=OUT / "console-ticket.png", full_page=True)
                page.goto(f"{base}/console/search/?q=upgrade")
                page.screenshot(path=OUT / "console-search.png")
                page.context.clear_cookies()
                sign_in("alice@acme.demo.test")
                page.screenshot(path=OUT / "portal-tickets.png")
                page.goto(f"{base}/portal/tickets/new/")
                page.screenshot(path=OUT / "portal-new-ticket.png", full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("\n".join(str(p.relative_to(ROOT)) for p in sorted(OUT.glob("*.png"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
