"""Regenerate the README's screenshots from a fresh demo installation.

    .venv/bin/python scripts/readme_screenshots.py

Starts `supportdesk run` on a temporary SQLite database with demo data, signs in as the demo agent
and customer in Debian's Chromium, and writes docs/screenshots/*.png.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
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
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "SUPPORTDESK_DATA_DIR": data, "DATABASE_URL": "",
               "DJANGO_SETTINGS_MODULE": "supportdesk.settings.dev"}
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

                sign_in("agent@demo.test")
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
