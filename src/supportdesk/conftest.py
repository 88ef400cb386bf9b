"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from supportdesk.accounts.models import Role, User
from supportdesk.core.testing import make_org, make_user
from supportdesk.organizations.models import Organization

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = Path(os.environ.get("SUPPORTDESK_TEST_ARTIFACTS", REPO_ROOT / "var" / "test-artifacts"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _seeded_defaults(request: Any) -> None:
    """Rows that data migrations seed (the default SLA calendars and policies), present in every
    database test — even after a transactional test in this process emptied the tables."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    transactional = marker.kwargs.get("transaction", False)
    request.getfixturevalue("transactional_db" if transactional else "db")
    from supportdesk.slas.defaults import seed_defaults

    seed_defaults()


@pytest.fixture
def org(db: Any) -> Organization:
    return make_org("Acme", domain="acme.test")


@pytest.fixture
def other_org(db: Any) -> Organization:
    return make_org("Globex", domain="globex.test")


@pytest.fixture
def agent(db: Any) -> User:
    return make_user(Role.AGENT, email="agent@vendor.test", name="Avery Agent")


@pytest.fixture
def lead(db: Any) -> User:
    return make_user(Role.LEAD, email="lead@vendor.test", name="Lee Lead")


@pytest.fixture
def internal(db: Any) -> User:
    return make_user(
        Role.INTERNAL, email="ce@vendor.test", name="Casey CE", team="Customer Engineering"
    )


@pytest.fixture
def contact(org: Organization) -> User:
    return make_user(Role.CONTACT, organization=org, email="alice@acme.test", name="Alice")


@pytest.fixture
def org_admin(org: Organization) -> User:
    return make_user(Role.ORG_ADMIN, organization=org, email="boss@acme.test", name="Boss")


@pytest.fixture
def colleague(org: Organization) -> User:
    return make_user(Role.CONTACT, organization=org, email="dave@acme.test", name="Dave")


@pytest.fixture
def outsider(other_org: Organization) -> User:
    return make_user(Role.CONTACT, organization=other_org, email="eve@globex.test", name="Eve")


@pytest.fixture
def outsider_admin(other_org: Organization) -> User:
    return make_user(Role.ORG_ADMIN, organization=other_org, email="gadmin@globex.test")


@pytest.fixture
def community(db: Any) -> User:
    return make_user(Role.COMMUNITY, email="sam@oss.test", name="Sam")


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks: Any) -> Any:
    """`with after_commit(): ...` runs the on-commit side effects (tasks, webhooks, mail) of the
    block, as a real commit would; tests otherwise run inside a transaction that never commits."""

    def run() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return run


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def artifacts_dir() -> Path:
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how many cases Schemathesis generated (api/tests/test_schemathesis.py reports them
    through user properties, which also travel from xdist workers)."""
    counts: dict[str, int] = {}
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        for name, value in getattr(report, "user_properties", []):
            if name.startswith("schemathesis_cases:"):
                counts[name.split(":", 1)[1]] = value
    if counts:
        total = sum(counts.values())
        parts = ", ".join(f"{who}: {n}" for who, n in sorted(counts.items()))
        terminalreporter.write_line(f"Schemathesis generated {total} cases ({parts})")
