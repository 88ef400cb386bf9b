"""The foundation's story in a real browser (Debian's Chromium via Playwright): a customer opens a
Sev 1 ticket with an attachment, an agent finds it in the queue and replies with status, next steps
and expectations, and the customer sees the reply. Screenshots of every page go to
var/test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from supportdesk.accounts.models import Role
from supportdesk.core.testing import TEST_PASSWORD, make_org, make_user
from supportdesk.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_customer_opens_sev1_agent_replies_customer_sees_it(
    live_server: Any, chromium: Any, artifacts_dir: Path, tmp_path: Path
) -> None:
    org = make_org("Acme Corporation", domain="acme.test", product_version="5.9.3")
    make_user(Role.CONTACT, organization=org, email="alice@acme.test", name="Alice Anders")
    make_user(Role.AGENT, email="agent@vendor.test", name="Avery Agent")
    base = live_server.url
    log = tmp_path / "frontend.log"
    log.write_text("2026-11-27T10:00:01Z ERROR search timed out after 30s\n")

    customer = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = customer.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, "alice@acme.test")
    page.get_by_role("link", name="Open a ticket").first.click()
    page.get_by_label("Subject").fill("Production search is down")
    page.get_by_label("Severity 1").check()
    page.get_by_label("Description").fill("All searches time out since 10:00 UTC.")
    page.get_by_label("Attachments").set_input_files(str(log))
    page.screenshot(path=artifacts_dir / "01-portal-new-ticket.png", full_page=True)
    page.get_by_role("button", name="Open ticket").click()
    page.wait_for_url("**/portal/tickets/*/")
    assert page.get_by_text("frontend.log").is_visible()
    page.screenshot(path=artifacts_dir / "02-portal-ticket-opened.png", full_page=True)
    ticket = Ticket.objects.get()
    assert ticket.severity == 1
    assert ticket.attachments.count() == 1

    staff = chromium.new_context(viewport={"width": 1400, "height": 900})
    console = staff.new_page()
    console.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(console, base, "agent@vendor.test")
    console.get_by_role("link", name="Unassigned").click()
    row = console.locator("[data-ticket-row]", has_text="Production search is down")
    assert row.get_by_text("Sev 1").is_visible()
    console.screenshot(path=artifacts_dir / "03-console-queue.png", full_page=True)
    row.get_by_role("link", name="Production search is down").click()
    composer = console.locator("form[data-composer]")
    composer.get_by_label("Status", exact=True).fill("We reproduced the timeout on 5.9.3.")
    hint = console.locator("[data-parts-hint]")
    assert "Still missing: Next steps, Expectations" in hint.inner_text()
    composer.get_by_label("Next steps").fill(
        "Engineering is preparing a patch; restart zoekt-webserver as a workaround."
    )
    composer.get_by_label("Expectations").fill("Next update within 4 hours.")
    assert "all there" in hint.inner_text()
    console.get_by_role("button", name="Send reply").click()
    console.wait_for_url("**/console/tickets/*/#latest")
    console.screenshot(path=artifacts_dir / "04-console-ticket-replied.png", full_page=True)

    page.reload()
    reply = page.locator("article.msg.staff")
    assert "We reproduced the timeout" in reply.inner_text()
    assert "Next update within 4 hours." in reply.inner_text()
    page.screenshot(path=artifacts_dir / "05-portal-customer-sees-reply.png", full_page=True)
    assert errors == [], errors  # no CSP violations or script errors in either page
    customer.close()
    staff.close()
