"""Housekeeping: forget expired idempotency keys and finished rate-limit windows."""

from __future__ import annotations

import time

from django_tasks import task

from supportdesk.api import idempotency
from supportdesk.api.models import RateLimitCounter
from supportdesk.api.ratelimit import WINDOW_SECONDS


def api_housekeeping() -> dict[str, int]:
    oldest_live_window = int(time.time() // WINDOW_SECONDS) * WINDOW_SECONDS - WINDOW_SECONDS
    counters, _ = RateLimitCounter.objects.filter(window_start__lt=oldest_live_window).delete()
    return {"idempotency_keys": idempotency.prune(), "rate_limit_counters": counters}


@task()
def api_housekeeping_task() -> dict[str, int]:
    return api_housekeeping()
