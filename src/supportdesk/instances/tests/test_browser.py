"""The managed-instance pages in a real browser, on the demo data: the console's instance page,
the portal's status and report pages, and the private status page on a phone. Screenshots go to
var/test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from supportdesk.accounts.models import User
from supportdesk.core.demo import create_demo_data
from supportdesk.core.testing import TEST_PASSWORD
from supportdesk.instances.models import MaintenanceWindow, WindowStatus
from supportdesk.instances.reports import availability_settings
from supportdesk.organizations.models import Organization

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_instance_pages_status_page_and_report_on_the_demo_data(
    live_server: Any, chromium: Any, artifacts_dir: Path
) -> None:
    create_demo_data()
    # Everything the test needs from the database, before the browser starts: SQLite's shared
    # in-memory test database does not let this thread write while the server thread reads.
    for user in User.objects.filter(email__in=["agent@demo.test", "bob@globex.demo.test"]):
        user.set_password(TEST_PASSWORD)
        user.save()
    pending = MaintenanceWindow.objects.get(status=WindowStatus.PROPOSED)
    token = availability_settings(Organization.objects.get(slug="hooli")).status_token
    base = live_server.url
    errors: list[str] = []

    staff = chromium.new_context(viewport={"width": 1400, "height": 1000})
    console = staff.new_page()
    console.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(console, base, "agent@demo.test")
    console.get_by_role("link", name="Managed instances").click()
    expect(console.locator("svg.uptime-bars")).to_have_count(3)
    console.screenshot(path=artifacts_dir / "20-console-instances.png", full_page=True)
    console.get_by_role("link", name="globex-prod").first.click()
    assert console.get_by_text("Upgrade to 6.1.0").is_visible()
    console.screenshot(path=artifacts_dir / "21-console-instance.png", full_page=True)

    customer = chromium.new_context(viewport={"width": 1280, "height": 1000})
    portal = customer.new_page()
    portal.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(portal, base, "bob@globex.demo.test")
    portal.get_by_role("link", name="Instances").click()
    portal.screenshot(path=artifacts_dir / "22-portal-instances.png", full_page=True)
    portal.goto(f"{base}/portal/maintenance/{pending.pk}/")
    assert portal.get_by_text("Waiting for our support team").is_visible()
    portal.screenshot(path=artifacts_dir / "23-portal-window.png", full_page=True)
    portal.goto(f"{base}/portal/availability/?period=30d")
    assert portal.get_by_text("Error budget left").first.is_visible()
    portal.screenshot(path=artifacts_dir / "24-portal-report.png", full_page=True)

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    status = phone.new_page()
    status.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    status.goto(f"{base}/status/{token}/")
    assert status.get_by_text("hooli-prod").first.is_visible()
    width = status.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the status page scrolls sideways on a phone ({width} px)"
    status.screenshot(path=artifacts_dir / "25-status-page-phone.png", full_page=True)
    assert errors == []
