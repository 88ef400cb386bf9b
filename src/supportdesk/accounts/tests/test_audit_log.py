"""The audit log page (leads): sign-ins, failures, tokens, role changes, exports; and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone

from supportdesk.accounts.models import Role, SecurityEvent
from supportdesk.accounts.services import user_role_change
from supportdesk.api.tokens import api_token_create
from supportdesk.conftest import client_for
from supportdesk.core.testing import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_leads_see_sign_ins_failures_tokens_role_changes_and_exports(lead, contact, org_admin):
    visitor = Client()
    visitor.post(
        "/login/", {"email": contact.email, "password": "wrong"}, REMOTE_ADDR="203.0.113.9"
    )
    visitor.post("/login/", {"email": contact.email, "password": TEST_PASSWORD})
    api_token_create(
        actor=contact,
        name="Grafana",
        scopes=["read"],
        expires_at=timezone.now() + dt.timedelta(days=9),
    )
    user_role_change(actor=lead, user=contact, role=Role.ORG_ADMIN)
    web = client_for(lead)
    page = web.get("/console/audit/").content.decode()
    for text in (
        "Failed sign-in",
        "Signed in",
        "API token created",
        "Role changed",
        "contact → org_admin",
        "203.0.113.9",
        "“Grafana” sd_",
    ):
        assert text in page, text
    failed_only = web.get("/console/audit/?kind=sign_in_failed").content.decode()
    assert '">Failed sign-in</span>' in failed_only
    assert '">API token created</span>' not in failed_only
    by_ip = web.get("/console/audit/?who=203.0.113.9").content.decode()
    assert "203.0.113.9" in by_ip
    assert '">Role changed</span>' not in by_ip

    export = web.get("/console/audit/export.csv?kind=role_changed")
    assert export["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][:3] == ["time_utc", "event", "user"]
    assert [r[1] for r in rows[1:]] == ["role_changed"]
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.EXPORT)
    assert event.user == lead
    assert event.detail == {"what": "audit log", "rows": 1, "filters": {"kind": "role_changed"}}
    assert "Data exported" in web.get("/console/audit/").content.decode()


def test_the_csv_never_carries_a_spreadsheet_formula(lead, client):
    client.post("/login/", {"email": "=1+2@evil.test", "password": "x"})
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(
                    client_for(lead).get("/console/audit/export.csv").streaming_content
                ).decode()
            )
        )
    )
    emails = [r[4] for r in rows[1:]]
    assert any(e.startswith("'=") for e in emails), emails
    assert not any(e.startswith("=") for e in emails)
