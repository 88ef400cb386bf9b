"""Rate limits (per token, per IP; 429 with Retry-After) and the one error shape."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import Client, override_settings

from supportdesk.api import ratelimit
from supportdesk.api.models import RateLimitCounter
from supportdesk.api.tasks import api_housekeeping
from supportdesk.api.tests.conftest import error_of, make_token, token_client
from supportdesk.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_minute(monkeypatch):
    """Every request in the same window (a minute boundary mid-test would reset the counts)."""
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_030.0)


@override_settings(SUPPORTDESK_API_RATE_LIMIT_PER_TOKEN=5, SUPPORTDESK_API_RATE_LIMIT_PER_IP=100)
@pytest.mark.usefixtures("one_minute")
def test_each_token_has_its_own_limit_per_minute(contact, colleague):
    first = token_client(make_token(contact))
    second = token_client(make_token(colleague))
    statuses = [first.get("/api/v1/me/").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    refused = first.get("/api/v1/me/")
    error = error_of(refused)
    assert error["code"] == "rate_limited"
    assert "this token" in error["message"]
    assert "5 per minute" in error["message"]
    assert refused["Retry-After"] == "30"  # the frozen clock is 30 s into its minute
    assert refused["RateLimit-Remaining"] == "0"
    # Another token from the same address is not affected.
    ok = second.get("/api/v1/me/")
    assert ok.status_code == 200
    assert ok["RateLimit-Limit"] == "5"
    assert ok["RateLimit-Remaining"] == "4"


@override_settings(SUPPORTDESK_API_RATE_LIMIT_PER_TOKEN=100, SUPPORTDESK_API_RATE_LIMIT_PER_IP=4)
@pytest.mark.usefixtures("one_minute")
def test_each_ip_has_a_limit_whatever_the_credentials(contact):
    client = token_client(make_token(contact))
    anonymous = Client()
    bad_token = token_client("sd_" + "z" * 43)
    assert client.get("/api/v1/me/", REMOTE_ADDR="198.51.100.1").status_code == 200
    assert anonymous.get("/api/v1/me/", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert bad_token.get("/api/v1/me/", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert client.get("/api/v1/schema/", REMOTE_ADDR="198.51.100.1").status_code == 200
    response = client.get("/api/v1/me/", REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 429
    assert "your IP address" in error_of(response)["message"]
    assert client.get("/api/v1/me/", REMOTE_ADDR="198.51.100.2").status_code == 200
    # Pages are not API requests: not counted, not limited.
    assert client_for(contact).get("/portal/", REMOTE_ADDR="198.51.100.1").status_code == 200


@override_settings(SUPPORTDESK_API_RATE_LIMIT_PER_TOKEN=2, SUPPORTDESK_API_RATE_LIMIT_PER_IP=100)
@pytest.mark.usefixtures("one_minute")
def test_signed_in_browsers_are_limited_per_user(contact):
    client = client_for(contact)
    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 429]
    assert "your account" in error_of(client.get("/api/v1/me/"))["message"]


def test_windows_are_counted_in_the_database_and_pruned(contact):
    keys = {"token:abc": 3, "ip:192.0.2.1": 10}
    verdicts = [ratelimit.rate_limit_hit(keys, now=1_000_040.0) for _ in range(4)]
    assert [v.exceeded for v in verdicts] == [None, None, None, "token:abc"]
    assert verdicts[0].remaining == 2
    assert verdicts[0].reset_in == 40  # 1_000_040 is in the minute [1_000_020, 1_000_080)
    assert ratelimit.rate_limit_hit(keys, now=1_000_080.0).exceeded is None  # next minute
    assert RateLimitCounter.objects.get(key="token:abc", window_start=1_000_020).count == 4
    assert api_housekeeping()["rate_limit_counters"] == 4  # two keys in each of two old minutes


@override_settings(SUPPORTDESK_API_RATE_LIMIT_STORE="cache")
def test_the_cache_store_refuses_a_per_process_cache():
    with pytest.raises(ImproperlyConfigured, match="needs a shared cache"):
        ratelimit.ApiRateLimitMiddleware(lambda request: HttpResponse())


@override_settings(
    SUPPORTDESK_API_RATE_LIMIT_STORE="cache",
    SUPPORTDESK_API_RATE_LIMIT_ALLOW_LOCAL_CACHE=True,
)
def test_the_cache_store_counts_like_the_database():
    from django.core.cache import cache

    cache.clear()
    keys = {"token:cache": 2}
    verdicts = [ratelimit.rate_limit_hit(keys, now=2_000_000.0) for _ in range(3)]
    assert [v.exceeded for v in verdicts] == [None, None, "token:cache"]
    assert not RateLimitCounter.objects.exists()


def test_errors_share_one_shape_with_a_message_to_act_on(api, contact, agent):
    client = api(contact)
    cases = [
        (Client().get("/api/v1/tickets/"), 401, "unauthenticated"),
        (client.get("/api/v1/tickets/999999/"), 404, "not_found"),
        (client.get("/api/v1/nothing/"), 404, "not_found"),
        (client.delete("/api/v1/tickets/"), 405, "method_not_allowed"),
        (client.get("/api/v1/tickets/", HTTP_ACCEPT="text/html"), 406, "not_acceptable"),
        (client.post("/api/v1/tickets/", {}, content_type="application/json"), 400, "invalid"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.content
        assert response["Content-Type"].startswith("application/json")
        error = error_of(response)
        assert error["code"] == code
        assert error["message"].endswith((".", ")"))
    assert "Bearer" in error_of(cases[0][0])["message"]


def test_an_unexpected_error_is_a_logged_json_500(api, contact, monkeypatch, caplog):
    from supportdesk.api.views import people

    def boom(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(people.MeSerializer, "to_representation", boom)
    with caplog.at_level(logging.ERROR, logger="supportdesk.api.errors"):
        response = api(contact).get("/api/v1/me/")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error"
    assert "database on fire" not in response.content.decode()
    assert "database on fire" in caplog.text


def test_on_postgresql_the_counters_are_an_unlogged_table():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("UNLOGGED is a PostgreSQL table option")
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = 'api_ratelimitcounter'")
        assert cursor.fetchone() == ("u",)
