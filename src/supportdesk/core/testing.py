"""Builders for tests (and benchmarks): small, explicit, no magic."""

from __future__ import annotations

import itertools
from typing import Any

from supportdesk.accounts.models import Role, User
from supportdesk.organizations.models import Deployment, EmailDomain, Organization, Plan
from supportdesk.tickets import services
from supportdesk.tickets.models import Channel, Ticket

_seq = itertools.count(1)

TEST_PASSWORD = "correct horse battery staple"  # noqa: S105


def make_org(
    name: str | None = None,
    *,
    plan: str = Plan.ENTERPRISE,
    deployment: str = Deployment.SELF_HOSTED,
    domain: str | None = None,
    **fields: Any,
) -> Organization:
    n = next(_seq)
    name = name or f"Org {n}"
    slug = fields.pop("slug", f"{name.lower().replace(' ', '-')}-{n}")
    org = Organization.objects.create(
        name=name, slug=slug, plan=plan, deployment=deployment, **fields
    )
    if domain:
        EmailDomain.objects.create(organization=org, domain=domain)
    return org


def make_user(
    role: str = Role.CONTACT,
    *,
    organization: Organization | None = None,
    email: str | None = None,
    password: str = TEST_PASSWORD,
    **fields: Any,
) -> User:
    n = next(_seq)
    if organization is None and role in (Role.CONTACT, Role.ORG_ADMIN):
        organization = make_org()
    email = email or f"{role}{n}@{organization.slug if organization else 'example'}.test"
    fields.setdefault("name", f"{role.replace('_', ' ').title()} {n}")
    return User.objects.create_user(email, password, role=role, organization=organization, **fields)


def make_ticket(
    requester: User | None = None,
    *,
    actor: User | None = None,
    subject: str = "Search is down",
    description: str = "Nothing works since the upgrade.",
    severity: int = 2,
    **kwargs: Any,
) -> Ticket:
    requester = requester or make_user()
    kwargs.setdefault("channel", Channel.PORTAL)
    return services.ticket_create(
        actor=actor or requester,
        requester=requester,
        subject=subject,
        description=description,
        severity=severity,
        **kwargs,
    )


def run_concurrently(fn: Any, workers: int = 4, *, attempts: int = 200) -> list[Any]:
    """Run `fn()` in `workers` threads released at the same instant; return their results.

    Any exception in a thread fails the caller (a crashed worker must never make a "happens once"
    test pass). SQLite's shared in-memory test database refuses concurrent writers with "database
    table is locked" instead of waiting; such attempts are retried, like a busy timeout would."""
    import threading
    import time

    from django.db import OperationalError, connection

    barrier = threading.Barrier(workers)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            for _ in range(attempts):
                try:
                    results.append(fn())
                    return
                except OperationalError as exc:
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.005)
            raise AssertionError(f"still locked after {attempts} attempts")
        except BaseException as exc:  # collected and re-raised in the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
