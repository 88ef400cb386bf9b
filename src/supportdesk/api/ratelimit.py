"""Rate limits for /api/: per token (or signed-in user) and per client IP, per minute.

The counts must be shared by every web process, or N processes would allow N times the limit. The
default store is the database: one `INSERT … ON CONFLICT DO UPDATE … RETURNING` statement per
request counts both keys atomically on SQLite and PostgreSQL alike. With Redis as the cache
(`REDIS_URL`), `SUPPORTDESK_API_RATE_LIMIT_STORE=cache` counts there instead (atomic INCR). The
per-process LocMem cache is never shared, so the cache store refuses to run on it outside tests."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest, HttpResponse

from supportdesk.accounts.services import client_ip
from supportdesk.api.errors import error_response

WINDOW_SECONDS = 60
API_PREFIX = "/api/"


@dataclass(frozen=True)
class Verdict:
    limit: int
    remaining: int
    reset_in: int  # seconds until the window ends
    exceeded: str | None  # which limit, in words, when refused


def _hit_database(keys: Sequence[str], window: int) -> dict[str, int]:
    table = "api_ratelimitcounter"
    values = ", ".join(["(%s, %s, 1)"] * len(keys))
    params: list[str | int] = []
    for key in keys:
        params += [key, window]
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("key", window_start, "count") VALUES {values} '  # noqa: S608
            f'ON CONFLICT ("key", window_start) DO UPDATE SET "count" = {table}."count" + 1 '
            'RETURNING "key", "count"',
            params,
        )
        return dict(cursor.fetchall())


def _hit_cache(keys: Sequence[str], window: int) -> dict[str, int]:
    counts = {}
    for key in keys:
        name = f"ratelimit:{key}:{window}"
        cache.add(name, 0, timeout=WINDOW_SECONDS * 2)
        try:
            counts[key] = cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.add(name, 1, timeout=WINDOW_SECONDS * 2)
            counts[key] = 1
    return counts


def clock() -> float:
    return time.time()


def rate_limit_hit(keys: dict[str, int], *, now: float | None = None) -> Verdict:
    """Count one request against each key (key → limit per minute) and say whether it may pass."""
    now = clock() if now is None else now
    window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    store = settings.SUPPORTDESK_API_RATE_LIMIT_STORE
    if store == "database":
        counts = _hit_database(sorted(keys), window)  # one lock order for every request
    elif store == "cache":
        counts = _hit_cache(list(keys), window)
    else:
        raise ImproperlyConfigured(
            f"SUPPORTDESK_API_RATE_LIMIT_STORE={store!r}: use 'database' or 'cache'."
        )
    reset_in = max(1, math.ceil(window + WINDOW_SECONDS - now))
    exceeded = None
    tightest = min(keys, key=lambda k: keys[k] - counts[k])
    for key, limit in keys.items():
        if counts[key] > limit:
            exceeded = key
            tightest = key
            break
    return Verdict(
        limit=keys[tightest],
        remaining=max(0, keys[tightest] - counts[tightest]),
        reset_in=reset_in,
        exceeded=exceeded,
    )


def request_keys(request: HttpRequest) -> dict[str, int]:
    """The keys one API request counts against, with their limits."""
    keys = {f"ip:{client_ip(request) or 'unknown'}": settings.SUPPORTDESK_API_RATE_LIMIT_PER_IP}
    per_token = settings.SUPPORTDESK_API_RATE_LIMIT_PER_TOKEN
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization[:7].lower() == "bearer ":
        # Counted by digest before the token is even looked up: an invalid token counts too.
        digest = hashlib.sha256(authorization[7:].strip().encode()).hexdigest()[:32]
        keys[f"token:{digest}"] = per_token
    elif getattr(request, "user", None) is not None and request.user.is_authenticated:
        keys[f"user:{request.user.pk}"] = per_token
    return keys


class ApiRateLimitMiddleware:
    """Counts every /api/ request (after sessions are read, before any view runs)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        if (
            settings.SUPPORTDESK_API_RATE_LIMIT_STORE == "cache"
            and "locmem" in settings.CACHES["default"]["BACKEND"].lower()
            and not getattr(settings, "SUPPORTDESK_API_RATE_LIMIT_ALLOW_LOCAL_CACHE", False)
        ):
            raise ImproperlyConfigured(
                "SUPPORTDESK_API_RATE_LIMIT_STORE=cache needs a shared cache: set REDIS_URL, or "
                "use the database store."
            )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        verdict = rate_limit_hit(request_keys(request))
        if verdict.exceeded:
            who = (
                "this token"
                if verdict.exceeded.startswith("token:")
                else ("your account" if verdict.exceeded.startswith("user:") else "your IP address")
            )
            response: HttpResponse = error_response(
                429,
                "rate_limited",
                f"Too many requests from {who}: the limit is {verdict.limit} per minute. "
                f"Retry in {verdict.reset_in} seconds.",
            )
            response["Retry-After"] = str(verdict.reset_in)
        else:
            response = self.get_response(request)
        response["RateLimit-Limit"] = str(verdict.limit)
        response["RateLimit-Remaining"] = str(verdict.remaining)
        response["RateLimit-Reset"] = str(verdict.reset_in)
        return response
