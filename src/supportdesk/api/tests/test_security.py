"""Hostile input rendered inert everywhere (console, portal, API), security headers on API
responses, and the API docs served from our own static files under the strict CSP."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from supportdesk.accounts.models import Role
from supportdesk.conftest import client_for
from supportdesk.core.testing import TEST_PASSWORD, make_org, make_ticket, make_user
from supportdesk.core.text import sanitize_html
from supportdesk.tickets.models import Channel, Message
from supportdesk.tickets.services import UploadedAttachment

SCRIPT = "<script>alert('xss')</script>"
IMG = "<img src=x onerror=\"document.title='pwned'\">"
SVG = "<svg onload=alert(1)>"
PAYLOADS = (SCRIPT, IMG, SVG, '"><iframe src="javascript:alert(1)">')
HOSTILE_MAIL = (
    "<p>Hello</p><script>alert('mail')</script>"
    "<img src=x onerror=\"document.title='pwned'\">"
    '<a href="javascript:alert(1)">click</a>'
    '<a href="jav&#x09;ascript:alert(2)">tab</a>'
    "<svg><script>alert(3)</script></svg>"
    '<iframe src="https://evil.test"></iframe>'
    '<form action="https://evil.test"><input name=q></form>'
    "<style>body{display:none}</style>"
    '<div style="background:url(javascript:alert(4))">styled</div>'
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(5)></style></mglyph>"
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">'
)


def hostile_world() -> dict[str, Any]:
    """A ticket whose every customer-controlled string is hostile, with an HTML mail message."""
    org = make_org(f"Evil {SCRIPT} Corp", domain="evil.test", slug="evil-corp")
    contact = make_user(
        Role.CONTACT, organization=org, email="mallory@evil.test", name=f"Mallory {IMG}"
    )
    agent = make_user(Role.AGENT, email="agent@vendor.test", name="Avery Agent")
    ticket = make_ticket(
        contact,
        subject=f"Subject {SCRIPT} {IMG}",
        description="Body " + " ".join(PAYLOADS),
        attachments=[UploadedAttachment(f"{IMG}.html", b"<script>alert(1)</script>")],
    )
    # An HTML email, as the mail channel stores it: sanitised once, on the way in.
    Message.objects.create(
        ticket=ticket,
        author=contact,
        channel=Channel.EMAIL,
        body_text="Hello",
        body_html=sanitize_html(HOSTILE_MAIL),
    )
    return {"org": org, "contact": contact, "agent": agent, "ticket": ticket}


class ActiveContent(HTMLParser):
    """Collects whatever in a page could run: script elements that are not our static files,
    event-handler attributes, javascript: URLs, frames and embedded objects."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.found.append(f"<script {values}>")
        if tag in ("iframe", "frame", "object", "embed", "base"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            compact = "".join((value or "").split()).lower()
            if name in ("href", "src", "action", "formaction") and compact.startswith(
                ("javascript:", "data:text/html", "vbscript:")
            ):
                self.found.append(f"<{tag} {name}={value}>")


def assert_inert_html(html: str) -> None:
    parser = ActiveContent()
    parser.feed(html)
    assert parser.found == [], parser.found


@pytest.mark.django_db
def test_hostile_subjects_bodies_names_filenames_and_html_mail_are_inert(api):
    world = hostile_world()
    ticket, contact, agent = world["ticket"], world["contact"], world["agent"]
    stored = Message.objects.get(channel=Channel.EMAIL).body_html
    assert_inert_html(stored)
    for element in ("<iframe", "<form", "<style", "style=", "<svg", "<math", "data:"):
        assert element not in stored.lower(), f"{element!r} survived sanitising"
    assert "<p>Hello</p>" in stored  # formatting stays
    pages = {
        "console ticket": client_for(agent).get(f"/console/tickets/{ticket.number}/"),
        "console queue": client_for(agent).get("/console/?queue=all"),
        "console organization": client_for(agent).get("/console/organizations/evil-corp/"),
        "console search": client_for(agent).get("/console/search/?q=Subject"),
        "portal ticket": client_for(contact).get(f"/portal/tickets/{ticket.number}/"),
        "portal list": client_for(contact).get("/portal/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert_inert_html(response.content.decode())
    assert (
        "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;"
        in pages["console ticket"].content.decode()
    )
    # The API returns data, never markup to render: JSON, nosniff, sanitised body_html only.
    client = api(contact)
    for url in (
        f"/api/v1/tickets/{ticket.number}/",
        f"/api/v1/tickets/{ticket.number}/messages/",
        f"/api/v1/tickets/{ticket.number}/attachments/",
    ):
        response = client.get(url)
        assert response["Content-Type"] == "application/json"
        assert response["X-Content-Type-Options"] == "nosniff"
    messages = client.get(f"/api/v1/tickets/{ticket.number}/messages/").json()["results"]
    assert len(messages) == 2
    for message in messages:
        assert_inert_html(message["body_html"])
    subject = client.get(f"/api/v1/tickets/{ticket.number}/").json()["subject"]
    assert subject == f"Subject {SCRIPT} {IMG}"  # plain text, as given: clients escape it
    # The hostile filename is reduced to something harmless, and downloads never render.
    attachment = client.get(f"/api/v1/tickets/{ticket.number}/attachments/").json()["results"][0]
    assert "<" not in attachment["filename"]
    assert "/" not in attachment["filename"]
    download = client.get(attachment["download_url"])
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Security-Policy"].startswith("sandbox")


@pytest.mark.django_db
def test_api_responses_carry_the_security_headers(api, contact):
    response = api(contact).get("/api/v1/me/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"
    with override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True):
        secure = api(contact).get("/api/v1/me/", secure=True)
        assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Errors too.
    error = api(contact).get("/api/v1/tickets/424242/")
    assert error["X-Frame-Options"] == "DENY"
    assert error["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_the_openapi_document_and_docs_page_use_no_cdn(client):
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    document = json.loads(schema.content)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/tickets/{number}/" in document["paths"]
    assert "apiToken" in document["components"]["securitySchemes"]
    page = client.get("/api/v1/docs/").content.decode()
    assert "<style" not in page
    assert "<script>" not in page  # only <script src=…>
    for attribute in ('src="', 'href="'):
        for url in page.split(attribute)[1:]:
            assert url.startswith("/"), f"an external resource: {url[:60]}"
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_nothing_hostile_runs_and_the_docs_render_under_the_csp(
    live_server: Any, chromium: Any, artifacts_dir: Path
) -> None:
    world = hostile_world()
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def sign_in(email: str) -> None:
        context.clear_cookies()
        page.goto(f"{base}/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()

    sign_in(world["agent"].email)
    page.goto(f"{base}/console/tickets/{world['ticket'].number}/")
    page.screenshot(path=artifacts_dir / "security-01-console-hostile-ticket.png", full_page=True)
    assert page.title() != "pwned"
    sign_in(world["contact"].email)
    page.goto(f"{base}/portal/tickets/{world['ticket'].number}/")
    page.screenshot(path=artifacts_dir / "security-02-portal-hostile-ticket.png", full_page=True)
    assert page.title() != "pwned"
    assert dialogs == []
    # Broken <img src=x> placeholders in sanitised mail may 404; anything else is a failure.
    assert [e for e in errors if "404" not in e] == []

    errors.clear()
    page.goto(f"{base}/api/v1/docs/")
    page.get_by_text("/api/v1/tickets/{number}/").first.wait_for(timeout=20_000)
    page.get_by_text("supportdesk API").first.wait_for()
    page.screenshot(path=artifacts_dir / "security-03-api-docs.png", full_page=False)
    assert errors == [], errors  # no CSP violations, no script errors
    context.close()
