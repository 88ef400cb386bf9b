"""The handbook's SLA table (SPEC.md §2) as data: two calendars and the two deployment defaults.
Community users and prospects without a contract get no policy at all.

Used by the data migration (with the historical models) and by tests that run after a
transactional test emptied the tables (with the real ones)."""

from __future__ import annotations

from typing import Any

BUSINESS_HOURS = """timezone = "America/Los_Angeles"

[hours]
mon = ["09:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-17:00"]

[holidays]
country = "US"
"""

ALWAYS_OPEN = """timezone = "UTC"

[hours]
mon = ["00:00-24:00"]
tue = ["00:00-24:00"]
wed = ["00:00-24:00"]
thu = ["00:00-24:00"]
fri = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]
"""

HOUR = 3600


def seed(Calendar: Any, CalendarVersion: Any, SlaPolicy: Any, SlaTarget: Any) -> None:
    if SlaPolicy.objects.filter(kind__in=["self_hosted", "managed"]).exists():
        return

    business = Calendar.objects.create(
        name="Business hours (US Pacific)",
        slug="business-hours",
        description="Mon–Fri 09:00–17:00 America/Los_Angeles, closed on US public holidays",
    )
    CalendarVersion.objects.create(calendar=business, toml=BUSINESS_HOURS, note="Seed data")
    always = Calendar.objects.create(
        name="24×7", slug="24x7", description="Continuous time", is_24x7=True
    )
    CalendarVersion.objects.create(calendar=always, toml=ALWAYS_OPEN, note="Seed data")

    self_hosted = SlaPolicy.objects.create(
        name="Self-hosted",
        kind="self_hosted",
        description="Enterprise customers who run the product themselves: business hours.",
    )
    managed = SlaPolicy.objects.create(
        name="Managed instance",
        kind="managed",
        description="Customers on a managed instance: Sev 1 around the clock.",
    )
    for policy, sev1_calendar in ((self_hosted, business), (managed, always)):
        SlaTarget.objects.create(
            policy=policy,
            severity=1,
            metric="first_response",
            target_seconds=24 * HOUR,
            calendar=sev1_calendar,
        )
        SlaTarget.objects.create(
            policy=policy,
            severity=1,
            metric="resolution",
            target_seconds=72 * HOUR,
            calendar=sev1_calendar,
        )
        # "One business week" on the business calendar for both; Sev 2 resolution has no timer.
        SlaTarget.objects.create(
            policy=policy,
            severity=2,
            metric="first_response",
            target_seconds=40 * HOUR,
            calendar=business,
        )


def seed_defaults() -> None:
    """Seed with the real models when the defaults are missing."""
    from supportdesk.slas.models import Calendar, CalendarVersion, SlaPolicy, SlaTarget

    seed(Calendar, CalendarVersion, SlaPolicy, SlaTarget)
