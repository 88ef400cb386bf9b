"""The token pages and the audit log in a real browser: a customer makes a token, sees it once,
uses it, revokes it; a lead sets up an integration account and reads the audit log. Screenshots in
var/test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from supportdesk.accounts.models import Role
from supportdesk.core.testing import TEST_PASSWORD, make_org, make_ticket, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_tokens_integrations_and_the_audit_log(
    live_server: Any, chromium: Any, artifacts_dir: Path
) -> None:
    org = make_org("Acme Corporation", domain="acme.test", slug="acme")
    contact = make_user(Role.CONTACT, organization=org, email="alice@acme.test", name="Alice")
    make_user(Role.LEAD, email="lee@vendor.test", name="Lee Lead")
    ticket = make_ticket(contact, subject="Search is slow")
    base = live_server.url
    errors: list[str] = []

    customer = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = customer.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, contact.email)
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("Grafana dashboard")
    page.get_by_label("Read: list and read what the user may see").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator(".token-secret").inner_text()
    assert secret.startswith("sd_")
    page.screenshot(
        path=artifacts_dir / "tokens-01-portal-new-token-shown-once.png", full_page=True
    )
    api = httpx.get(
        f"{base}/api/v1/tickets/", headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )
    assert [t["number"] for t in api.json()["results"]] == [ticket.number]
    page.reload()
    assert page.locator(".token-secret").count() == 0  # shown once
    page.get_by_role("button", name="Revoke Grafana dashboard").click()
    page.screenshot(path=artifacts_dir / "tokens-02-portal-token-revoked.png", full_page=True)
    revoked = httpx.get(
        f"{base}/api/v1/me/", headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )
    assert revoked.status_code == 401

    staff = chromium.new_context(viewport={"width": 1400, "height": 1000})
    console = staff.new_page()
    console.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(console, base, "lee@vendor.test")
    console.get_by_role("link", name="Integrations").click()
    console.get_by_label("Name").first.fill("Acme monitoring")
    console.get_by_label("Role", exact=True).select_option("org_admin")
    console.get_by_label("Organization").select_option(label="Acme Corporation")
    console.locator("#id_token-name").fill("alertmanager")
    console.locator("input[name='token-scopes'][value='write']").check()
    console.get_by_role("button", name="Create account and token").click()
    bot_secret = console.locator(".token-secret").inner_text()
    console.screenshot(path=artifacts_dir / "tokens-03-console-integration.png", full_page=True)
    created = httpx.post(
        f"{base}/api/v1/tickets/",
        json={"subject": "Alert: disk 95% on acme-prod", "description": "fired", "severity": 1},
        headers={"Authorization": f"Bearer {bot_secret}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    console.get_by_role("link", name="Audit log").click()
    for text in ("API token created", "API token revoked", "Role changed", "Signed in"):
        assert console.locator("td .badge", has_text=text).first.is_visible(), text
    console.screenshot(path=artifacts_dir / "tokens-04-console-audit-log.png", full_page=True)
    assert errors == [], errors
    customer.close()
    staff.close()
