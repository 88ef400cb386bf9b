from __future__ import annotations

import datetime as dt

import pytest

from supportdesk.instances.models import Monitor
from supportdesk.organizations.models import Deployment, ManagedInstance, Organization

NOW = dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def instance(org: Organization) -> ManagedInstance:
    Organization.objects.filter(pk=org.pk).update(deployment=Deployment.MANAGED)
    org.refresh_from_db()
    made = ManagedInstance.objects.create(
        organization=org,
        name="acme-prod",
        url="https://acme.example.test",
        health_url="http://127.0.0.1:9/healthz",
    )
    Monitor.objects.create(instance=made, interval_seconds=60, max_gap_seconds=180)
    return made
