"""API tokens: hashed, shown once, scoped, expiring, revocable, recorded in the audit log."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from supportdesk.accounts.models import Role, SecurityEvent
from supportdesk.api.models import ApiToken, IntegrationAccount
from supportdesk.api.tests.conftest import error_of, make_token, token_client
from supportdesk.api.tokens import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    integration_account_create,
)
from supportdesk.conftest import client_for
from supportdesk.core.testing import TEST_PASSWORD, make_ticket

pytestmark = pytest.mark.django_db


def _all_text_in_database() -> str:
    """Every text column of every row of the token and security tables, as one string."""
    rows = []
    with connection.cursor() as cursor:
        for table in ("api_apitoken", "accounts_securityevent", "django_session"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            rows += [str(row) for row in cursor.fetchall()]
    return "\n".join(rows)


def test_a_token_is_stored_only_as_a_digest_and_shown_once(contact):
    client = client_for(contact)
    response = client.post(
        "/settings/tokens/", {"name": "Grafana", "scopes": ["read"], "expires_in_days": 30}
    )
    assert response.status_code == 302
    page = client.get("/settings/tokens/").content.decode()
    token = ApiToken.objects.get()
    secret = page.split('class="token-secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("sd_")
    assert len(secret) == 46
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:11]
    # Not recoverable: neither the token table, the audit log nor the session holds it now.
    assert secret not in _all_text_in_database()
    # Shown once: the next visit shows only the prefix.
    again = client.get("/settings/tokens/").content.decode()
    assert secret not in again
    assert f"{token.prefix}…" in again
    assert token_client(secret).get("/api/v1/me/").json()["email"] == contact.email


def test_scopes_limit_what_a_token_may_do(contact):
    ticket = make_ticket(contact)
    read_only = token_client(make_token(contact, ["read"]))
    assert read_only.get(f"/api/v1/tickets/{ticket.number}/").status_code == 200
    response = read_only.post(
        "/api/v1/tickets/",
        {"subject": "x", "description": "y"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "lacks the 'write' scope" in error_of(response)["message"]
    write_only = token_client(make_token(contact, ["write"]))
    assert write_only.get("/api/v1/tickets/").status_code == 403
    created = write_only.post(
        "/api/v1/tickets/", {"subject": "x", "description": "y"}, content_type="application/json"
    )
    assert created.status_code == 201


def test_admin_scope_is_for_leads_and_org_admins_and_guards_webhooks(
    contact, org_admin, agent, lead
):
    from django.core.exceptions import ValidationError

    for user in (contact, agent):
        with pytest.raises(ValidationError, match="cannot hold the admin scope"):
            make_token(user, ["admin"])
    without_admin = token_client(make_token(org_admin, ["read", "write"]))
    response = without_admin.get("/api/v1/webhooks/")
    assert response.status_code == 403
    assert "'admin' scope" in error_of(response)["message"]
    assert (
        token_client(make_token(org_admin, ["admin"])).get("/api/v1/webhooks/").status_code == 200
    )
    assert token_client(make_token(lead, ["admin"])).get("/api/v1/webhooks/").status_code == 200


def test_expired_and_revoked_tokens_are_refused_with_a_reason(contact, lead):
    now = timezone.now()
    new = api_token_create(
        actor=contact, name="short", scopes=["read"], expires_at=now + dt.timedelta(minutes=5)
    )
    client = token_client(new.secret)
    assert client.get("/api/v1/me/").status_code == 200
    ApiToken.objects.filter(pk=new.token.pk).update(expires_at=now - dt.timedelta(seconds=1))
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in error_of(response)["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")

    other = api_token_create(
        actor=contact, name="ci", scopes=["read"], expires_at=now + dt.timedelta(days=1)
    )
    client = token_client(other.secret)
    assert client.get("/api/v1/me/").status_code == 200
    web = client_for(contact)
    assert web.post(f"/settings/tokens/{other.token.pk}/revoke/").status_code == 302
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]
    # Unknown and malformed tokens.
    for bad in ("sd_" + "x" * 43, "not-a-token", "sd_short"):
        response = token_client(bad).get("/api/v1/me/")
        assert response.status_code == 401, bad
        assert error_of(response)["code"] == "unauthenticated"
    # Another user's token cannot be revoked by a customer or a lead (404, nothing changes).
    third = api_token_create(
        actor=contact, name="keep", scopes=["read"], expires_at=now + dt.timedelta(days=1)
    )
    assert client_for(lead).post(f"/settings/tokens/{third.token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=third.token.pk).revoked_at is None


def test_expiry_is_required_and_bounded(contact):
    from django.core.exceptions import ValidationError

    now = timezone.now()
    with pytest.raises(ValidationError, match="future"):
        api_token_create(actor=contact, name="x", scopes=["read"], expires_at=now)
    with pytest.raises(ValidationError, match="at most 366 days"):
        api_token_create(
            actor=contact, name="x", scopes=["read"], expires_at=now + dt.timedelta(days=400)
        )
    with pytest.raises(ValidationError, match="at least one scope"):
        api_token_create(actor=contact, name="x", scopes=[], expires_at=now + dt.timedelta(days=1))


def test_last_used_is_recorded_at_most_once_a_minute(contact):
    new = api_token_create(
        actor=contact,
        name="x",
        scopes=["read"],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    assert new.token.last_used_at is None
    client = token_client(new.secret)
    client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.7")
    first = ApiToken.objects.get(pk=new.token.pk)
    assert first.last_used_at is not None
    assert first.last_used_ip == "192.0.2.7"
    client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.8")
    assert ApiToken.objects.get(pk=new.token.pk).last_used_at == first.last_used_at
    later = timezone.now() + dt.timedelta(minutes=2)
    api_token_authenticate(secret=new.secret, ip="192.0.2.9", now=later)
    assert ApiToken.objects.get(pk=new.token.pk).last_used_ip == "192.0.2.9"


def test_token_events_are_in_the_audit_log(contact, lead):
    new = api_token_create(
        actor=contact,
        name="Zapier",
        scopes=["read", "write"],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    api_token_revoke(actor=contact, token=new.token)
    kinds = list(
        SecurityEvent.objects.filter(user=contact).order_by("created_at").values_list("kind")
    )
    assert kinds == [("token_created",), ("token_revoked",)]
    page = client_for(lead).get("/console/audit/").content.decode()
    assert "API token created" in page
    assert "API token revoked" in page
    assert "Zapier" in page
    assert new.secret not in page


def test_integration_accounts_act_through_tokens_only(lead, org, contact, client):
    ticket = make_ticket(contact, subject="Disk full on acme-prod")
    web = client_for(lead)
    response = web.post(
        "/console/integrations/",
        {
            "account-name": "Acme monitoring",
            "account-role": Role.ORG_ADMIN,
            "account-organization": org.pk,
            "account-description": "Opens Sev 1 tickets from alerts",
            "token-name": "alertmanager",
            "token-scopes": ["read", "write"],
            "token-expires_in_days": 90,
        },
    )
    assert response.status_code == 302, response.content.decode()
    account = IntegrationAccount.objects.select_related("user").get()
    bot = account.user
    assert bot.role == Role.ORG_ADMIN
    assert bot.organization == org
    assert not bot.has_usable_password()
    assert bot.email_disabled_reason
    page = web.get("/console/integrations/").content.decode()
    secret = page.split('class="token-secret">', 1)[1].split("<", 1)[0]
    api = token_client(secret)
    assert [t["number"] for t in api.get("/api/v1/tickets/").json()["results"]] == [ticket.number]
    assert api.get("/api/v1/me/").json()["token"]["scopes"] == ["read", "write"]
    # It cannot sign in with any password, nor get a reset link.
    for password in ("", TEST_PASSWORD):
        assert client.post("/login/", {"email": bot.email, "password": password}).status_code == 400
    client.post("/password-reset/", {"email": bot.email})
    assert mail.outbox == []
    # A lead may make more tokens for it and revoke them; the lead's own page does not list them.
    response = client_for(lead).post(
        f"/console/integrations/{account.pk}/tokens/",
        {"token-name": "second", "token-scopes": ["read"], "token-expires_in_days": 30},
    )
    assert response.status_code == 302
    assert bot.api_tokens.count() == 2
    token = bot.api_tokens.get(name="second")
    assert client_for(lead).post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert "second" not in client_for(lead).get("/settings/tokens/").content.decode()


def test_only_leads_make_integration_accounts_and_tokens_for_others(agent, contact, org):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        integration_account_create(actor=agent, name="x", role=Role.AGENT)
    with pytest.raises(PermissionDenied):
        api_token_create(
            actor=agent,
            user=contact,
            name="x",
            scopes=["read"],
            expires_at=timezone.now() + dt.timedelta(days=1),
        )


def test_token_pages_render_for_staff_and_customers_with_names_escaped(agent, contact):
    api_token_create(
        actor=contact,
        name="<img src=x onerror=alert(1)>",
        scopes=["read"],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    page = client_for(contact).get("/settings/tokens/").content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'class="topbar"' in page  # the portal's layout
    staff_page = client_for(agent).get("/settings/tokens/").content.decode()
    assert 'class="sidebar"' in staff_page  # the console's
    assert 'value="admin"' not in staff_page  # agents cannot hold the admin scope
