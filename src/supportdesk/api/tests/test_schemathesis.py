"""Schemathesis against our OpenAPI document, in-process (WSGI), on a seeded database, as an agent
and as a customer (an org admin, who also manages webhooks): no 5xx, and every response — errors
included — conforms to the document (status code, content type, body schema). Half the generated
cases are steered to objects that exist, so success paths are exercised, not only 404s."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from supportdesk.api.tests.conftest import make_token
from supportdesk.core.testing import make_ticket
from supportdesk.instances.incidents import incident_open
from supportdesk.instances.maintenance import maintenance_window_propose
from supportdesk.organizations.models import ManagedInstance
from supportdesk.tickets.services import UploadedAttachment, ticket_reply_add
from supportdesk.webhooks.models import WebhookSubscription
from supportdesk.webhooks.services import webhook_event_emit

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Examples per operation and generation mode: ~35 operations × 2 modes × 2 users. Enough to find
# the crashes and schema drift we care about in well under a minute on the CI machine.
EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def seed(contact: Any, agent: Any, org_admin: Any) -> dict[str, str]:
    ticket = make_ticket(
        contact,
        subject="Seeded: search is slow",
        attachments=[UploadedAttachment("log.txt", b"timeout after 30s")],
    )
    reply = ticket_reply_add(
        actor=agent,
        ticket=ticket,
        body="Looking",
        status_part="Reproduced",
        next_steps_part="Patch",
        expectations_part="Friday",
    )
    ticket_reply_add(actor=agent, ticket=ticket, body="internal", internal=True)
    subscription = WebhookSubscription.objects.create(
        url="https://hooks.acme.test/desk", organization=contact.organization, events=["*"]
    )
    [delivery] = webhook_event_emit(
        event_type="ticket.created", data={"n": 1}, organization=contact.organization
    )
    instance = ManagedInstance.objects.create(
        organization=contact.organization, name="acme-prod", url="https://acme-prod.example.test"
    )
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    window = maintenance_window_propose(
        actor=agent,
        instance=instance,
        title="Upgrade to 6.0",
        start=start,
        end=start + dt.timedelta(hours=1),
    )
    incident = incident_open(
        actor=agent,
        instance=instance,
        kind="manual",
        title="Slow logins",
        message="Logins take 30 s",
        started_at=timezone.now() - dt.timedelta(minutes=5),
    )
    return {
        "name": instance.name,
        "window_id": str(window.pk),
        "incident_id": str(incident.pk),
        "number": str(ticket.number),
        "message_id": str(reply.pk),
        "attachment_id": str(ticket.attachments.get().id),
        "slug": contact.organization.slug,
        "user_id": str(contact.pk),
        "subscription_id": str(subscription.pk),
        "delivery_id": str(delivery.pk),
    }


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Django closes the database connection when a request finishes; inside a test that would
    end the test's transaction. Django's test client detaches that hook too; so do we."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.usefixtures("keep_the_test_connection")
@pytest.mark.parametrize("who", ["agent", "customer"])
def test_the_api_conforms_to_its_openapi_document(
    who: str, request: Any, contact: Any, agent: Any, org_admin: Any, record_property: Any
) -> None:
    existing = seed(contact, agent, org_admin)
    user = agent if who == "agent" else org_admin
    headers = {"Authorization": f"Bearer {make_token(user)}"}
    app = WSGIHandler()
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app)
    cases = 0
    failures: list[str] = []

    def check(operation: Any, mode: GenerationMode) -> None:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), steer=st.booleans())
        def run(case: Any, steer: bool) -> None:
            nonlocal cases
            if steer and case.path_parameters:
                for name in case.path_parameters:
                    if name in existing:
                        case.path_parameters[name] = existing[name]
            response = case.call(headers=headers)
            cases += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except AssertionError as exc:  # schemathesis' FailureGroup is one
                failures.append(f"{case.method} {case.formatted_path} ({mode.value}): {exc}")
                raise

        # Failures are collected above; go on, to report every failing operation at once.
        with contextlib.suppress(AssertionError):
            run()

    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            check(result.ok(), mode)
    record_property(f"schemathesis_cases:{who}", cases)
    print(f"Schemathesis ({who}): {cases} cases over {operations} operations")
    assert operations >= 34
    assert not failures, "\n\n".join(failures[:10])
