"""The SLA pages in a real browser (Debian's Chromium via Playwright), on the demo data: the
at-risk queue, a ticket's clocks, the policy and calendar pages, the on-call rota, the reports,
and the customer's promise in the portal. Screenshots go to var/test-artifacts/screenshots/sla-*;
the test also fails on any browser console error (a CSP violation shows up there)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from supportdesk.core.demo import DEMO_PASSWORD, create_demo_data
from supportdesk.slas.models import Calendar, SlaPolicy
from supportdesk.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_the_sla_pages_as_people_see_them(
    live_server: Any, chromium: Any, artifacts_dir: Path
) -> None:
    create_demo_data()
    base = live_server.url
    errors: list[str] = []
    context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, "lead@demo.test")

    page.goto(f"{base}/console/?queue=at_risk")
    rows = page.locator("[data-ticket-row]")
    assert rows.count() >= 2
    assert page.locator(".sla-badge").first.is_visible()
    page.screenshot(path=artifacts_dir / "sla-01-at-risk-queue.png", full_page=True)

    page.goto(f"{base}/console/?queue=open")
    page.screenshot(path=artifacts_dir / "sla-02-open-queue-badges.png", full_page=True)

    at_risk = (
        Ticket.objects.filter(sla_summary__state="warning").order_by("sla_summary__due_at").first()
    )
    assert at_risk is not None
    page.goto(f"{base}/console/tickets/{at_risk.number}/")
    panel = page.locator(".sla-panel")
    assert panel.is_visible()
    panel.locator("details").first.click()
    panel.screenshot(path=artifacts_dir / "sla-03-ticket-clocks.png")
    page.screenshot(path=artifacts_dir / "sla-04-ticket-page.png", full_page=True)

    paused = Ticket.objects.filter(sla_summary__state="paused").first()
    assert paused is not None
    page.goto(f"{base}/console/tickets/{paused.number}/")
    page.locator(".sla-panel").screenshot(path=artifacts_dir / "sla-05-ticket-paused.png")

    page.goto(f"{base}/console/sla/")
    page.screenshot(path=artifacts_dir / "sla-06-policies.png", full_page=True)
    elite = SlaPolicy.objects.get(name="Globex Elite")
    page.goto(f"{base}/console/sla/policies/{elite.pk}/")
    page.get_by_role("button", name="Preview what-if").click()
    page.wait_for_load_state()
    page.screenshot(path=artifacts_dir / "sla-07-policy-whatif.png", full_page=True)
    assert page.get_by_text("What if — replayed, not saved").is_visible()
    page.screenshot(path=artifacts_dir / "sla-07-policy-whatif.png", full_page=True)

    business = Calendar.objects.get(slug="business-hours")
    page.goto(f"{base}/console/sla/calendars/{business.pk}/")
    page.screenshot(path=artifacts_dir / "sla-08-calendar.png", full_page=True)

    page.goto(f"{base}/console/sla/on-call/")
    page.screenshot(path=artifacts_dir / "sla-09-on-call.png", full_page=True)

    page.goto(f"{base}/console/sla/reports/?group=organization&months=3")
    assert page.locator("svg.bars rect").count() >= 2
    page.screenshot(path=artifacts_dir / "sla-10-report-by-org.png", full_page=True)
    page.goto(f"{base}/console/sla/reports/?group=metric&months=3")
    page.screenshot(path=artifacts_dir / "sla-11-report-by-target.png", full_page=True)

    customer = chromium.new_context(viewport={"width": 1280, "height": 900})
    portal = customer.new_page()
    portal.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(portal, base, "bob@globex.demo.test")
    login = Ticket.objects.get(subject="Login page times out for all users")
    portal.goto(f"{base}/portal/tickets/{login.number}/")
    assert portal.get_by_text("We will respond by").is_visible()
    portal.screenshot(path=artifacts_dir / "sla-12-portal-promise.png", full_page=True)
    portal = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    portal.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(portal, base, "milton@initech.demo.test")
    question = Ticket.objects.get(subject="Question about retention of search logs")
    portal.goto(f"{base}/portal/tickets/{question.number}/")
    assert portal.get_by_text("Next update from us by").is_visible()
    portal.screenshot(path=artifacts_dir / "sla-13-portal-next-update.png", full_page=True)
    assert errors == []
