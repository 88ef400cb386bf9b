from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings

from supportdesk.accounts.models import Role, SecurityEvent, User
from supportdesk.core.testing import TEST_PASSWORD, make_user

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/login/", {"email": email, "password": password}, REMOTE_ADDR=ip)


def test_sign_in_is_case_insensitive_and_lands_where_the_role_belongs(contact: User, agent: User):
    client = Client()
    response = sign_in(client, "ALICE@Acme.TEST", TEST_PASSWORD)
    assert response.status_code == 302
    assert client.get("/").url == "/portal/"
    staff_client = Client()
    sign_in(staff_client, agent.email, TEST_PASSWORD)
    assert staff_client.get("/").url == "/console/"
    assert SecurityEvent.objects.filter(kind="sign_in", user=contact).count() == 1


def test_wrong_password_says_so_without_revealing_whether_the_address_exists(contact: User):
    for email in (contact.email, "nobody@acme.test"):
        response = sign_in(Client(), email, "wrong")
        assert response.status_code == 400
        assert "That email address and password do not match." in response.content.decode()


@override_settings(SUPPORTDESK_LOGIN_MAX_FAILURES=3)
def test_throttling_locks_the_address_after_repeated_failures_even_with_the_right_password(
    contact: User,
):
    for i in range(3):
        sign_in(Client(), contact.email, f"wrong{i}", ip=f"10.0.0.{i}")
    response = sign_in(Client(), contact.email, TEST_PASSWORD, ip="10.9.9.9")
    assert response.status_code == 400
    assert "Too many failed sign-ins" in response.content.decode()
    assert SecurityEvent.objects.filter(kind="sign_in_locked", email=contact.email).exists()
    # Another address is not affected.
    other = make_user(Role.CONTACT, organization=contact.organization)
    assert sign_in(Client(), other.email, TEST_PASSWORD).status_code == 302


@override_settings(SUPPORTDESK_LOGIN_MAX_FAILURES=2)
def test_throttling_by_ip_stops_password_spraying(org):
    users = [make_user(Role.CONTACT, organization=org) for _ in range(11)]
    for user in users[:10]:  # 2 * IP_LIMIT_FACTOR failures from one address
        sign_in(Client(), user.email, "wrong", ip="203.0.113.7")
    assert sign_in(Client(), users[10].email, TEST_PASSWORD, ip="203.0.113.7").status_code == 400
    assert sign_in(Client(), users[10].email, TEST_PASSWORD, ip="198.51.100.1").status_code == 302


def test_a_successful_sign_in_resets_the_address_counter(contact: User):
    limit = settings.SUPPORTDESK_LOGIN_MAX_FAILURES
    for _ in range(limit - 1):
        sign_in(Client(), contact.email, "wrong")
    assert sign_in(Client(), contact.email, TEST_PASSWORD).status_code == 302
    for _ in range(limit - 1):
        sign_in(Client(), contact.email, "wrong")
    assert sign_in(Client(), contact.email, TEST_PASSWORD).status_code == 302


def test_open_redirects_are_refused(contact: User):
    response = Client().post(
        "/login/",
        {"email": contact.email, "password": TEST_PASSWORD, "next": "https://evil.example/steal"},
    )
    assert response.status_code == 302
    assert response.url == "/"


def test_logout_is_post_only(contact: User):
    client = Client()
    client.force_login(contact)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/portal/").status_code == 302


def test_password_reset_by_email_round_trip(contact: User):
    client = Client()
    response = client.post("/password-reset/", {"email": contact.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+/)", str(mail.outbox[0].body))
    assert link, mail.outbox[0].body
    page = client.get(link.group(1), follow=True)
    assert page.status_code == 200
    form_url = page.redirect_chain[-1][0]
    new_password = "a much better passphrase 42"
    done = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302
    contact.refresh_from_db()
    assert contact.check_password(new_password)
    assert SecurityEvent.objects.filter(kind="password_changed", user=contact).exists()
    # The link works once.
    assert "no longer works" in client.get(link.group(1), follow=True).content.decode()


def test_password_reset_for_unknown_address_sends_nothing_and_looks_the_same(db):
    response = Client().post("/password-reset/", {"email": "ghost@nowhere.test"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_production_hashes_passwords_with_argon2():
    from supportdesk.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_staff_and_customers_role_rules_are_enforced_by_the_database(org):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        User.objects.create_user("x@vendor.test", "pw", role=Role.AGENT, organization=org)
    with pytest.raises(ValidationError):
        User.objects.create_user("y@acme.test", "pw", role=Role.CONTACT)


def test_security_events_are_append_only(contact: User):
    event = SecurityEvent.objects.create(kind="sign_in", user=contact)
    event.detail = {"tampered": True}
    with pytest.raises(ValueError, match="append-only"):
        event.save()
