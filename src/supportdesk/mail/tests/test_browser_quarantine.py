"""The quarantine page in a real browser: an agent retries a message after fixing its cause and
discards another; the ticket page shows a blocked address. Screenshots in
var/test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from supportdesk.accounts.models import Role
from supportdesk.core.testing import TEST_PASSWORD, make_org, make_user
from supportdesk.mail.models import InboundMessage
from supportdesk.mail.processing import process_inbound
from supportdesk.mail.suppression import address_suppress
from supportdesk.mail.tests.conftest import build_mail, store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_retries_and_discards_quarantined_mail(
    live_server: Any, chromium: Any, artifacts_dir: Path
) -> None:
    org = make_org("Acme Corporation", domain="acme.test", slug="acme")
    alice = make_user(Role.CONTACT, organization=org, email="alice@acme.test", name="Alice")
    make_user(Role.AGENT, email="avery@vendor.test", name="Avery Agent")
    alice.is_active = False
    alice.save()
    stuck = store(build_mail(subject="Our nightly export fails"))
    process_inbound(stuck.pk)
    hopeless = store(
        b"Subject: =?utf-8?q?no_sender?=\r\n\r\n\xff\xfe garbage\r\n", envelope_from=""
    )
    process_inbound(hopeless.pk)
    assert InboundMessage.objects.filter(state="quarantined").count() == 2

    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server.url
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill("avery@vendor.test")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Mail quarantine").click()
    page.wait_for_url("**/console/mail/quarantine/")
    rows = page.locator("tr[data-inbound]")
    expect(rows).to_have_count(2)
    assert "deactivated" in page.locator(f"tr[data-inbound='{stuck.pk}'] .error").inner_text()
    page.screenshot(path=artifacts_dir / "mail-01-quarantine.png", full_page=True)

    # The agent fixes the cause (reactivates the contact) and retries.
    alice.is_active = True
    alice.save()
    page.locator(f"tr[data-inbound='{stuck.pk}']").get_by_role("button", name="Retry").click()
    page.wait_for_selector("text=is being processed again")
    stuck.refresh_from_db()
    assert stuck.state == InboundMessage.State.PROCESSED
    expect(page.locator("tr[data-inbound]")).to_have_count(1)
    page.screenshot(path=artifacts_dir / "mail-02-after-retry.png", full_page=True)

    page.locator(f"tr[data-inbound='{hopeless.pk}']").get_by_role("button", name="Discard").click()
    page.wait_for_selector("text=Nothing in quarantine.")
    hopeless.refresh_from_db()
    assert hopeless.state == InboundMessage.State.DISCARDED
    page.screenshot(path=artifacts_dir / "mail-03-after-discard.png", full_page=True)

    # The new ticket, with the contact's address blocked after a bounce.
    address_suppress(
        address="alice@acme.test",
        reason="5.1.1 <alice@acme.test>: user unknown",
        status_code="5.1.1",
    )
    page.goto(f"{base}/console/tickets/{stuck.ticket.number}/")
    assert page.get_by_text("Mail blocked").is_visible()
    page.screenshot(path=artifacts_dir / "mail-04-ticket-mail-blocked.png", full_page=True)
    page.get_by_role("button", name="Lift block").click()
    page.wait_for_selector("text=is sent again")
    assert page.get_by_text("Mail blocked").count() == 0
    assert errors == []
    context.close()
