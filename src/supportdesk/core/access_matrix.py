"""The authorization matrix: every URL of the project × every role × own / other organization.

Each package that has URLs declares, in `<package>/tests/access_matrix.py`:

    def build(world: World) -> None:      # optional: make objects, register URL parameters
        world.param("subscription_id", own=..., other=...)
    RULES = {"webhooks:detail": page(GET=staff_only(lead=OK)), ...}

keyed by URL name (`namespace:name`). `core/tests/test_access_matrix.py` walks the URL
configuration and fails for any URL without a rule, any URL parameter without a value, and any
response that differs from the rule. A rule says what each role gets on its *own* side (its own
organization's objects, or its own objects); on the *other* side (another organization's objects)
customers always get 404 — a tenant's object is indistinguishable from one that does not exist —
unless the rule says otherwise with `other=`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from supportdesk.accounts.models import User
from supportdesk.organizations.models import Organization

ROLES = ("anonymous", "community", "contact", "org_admin", "internal", "agent", "lead")
CUSTOMERS = ("community", "contact", "org_admin")
STAFF = ("internal", "agent", "lead")
SIDES = ("own", "other")


class Outcome(enum.Enum):
    OK = "allowed"  # past authorization: 2xx, a redirect elsewhere, or a validation error
    NOT_FOUND = "404"
    FORBIDDEN = "403"
    LOGIN = "sign in"  # pages: redirect to /login/; API: 401
    REDIRECT = "redirect"  # sent elsewhere (e.g. staff from the portal to the console)
    NOT_ALLOWED = "405"


OK, NOT_FOUND, FORBIDDEN, LOGIN, REDIRECT, NOT_ALLOWED = (
    Outcome.OK,
    Outcome.NOT_FOUND,
    Outcome.FORBIDDEN,
    Outcome.LOGIN,
    Outcome.REDIRECT,
    Outcome.NOT_ALLOWED,
)


def roles(
    *,
    anonymous: Outcome = LOGIN,
    customers: Outcome = OK,
    staff: Outcome = OK,
    **overrides: Outcome,
) -> dict[str, Outcome]:
    """What each role gets: defaults for the groups, then per-role overrides."""
    unknown = set(overrides) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    table = {"anonymous": anonymous}
    table |= dict.fromkeys(CUSTOMERS, customers)
    table |= dict.fromkeys(STAFF, staff)
    return table | overrides


def everyone(outcome: Outcome = OK) -> dict[str, Outcome]:
    return dict.fromkeys(ROLES, outcome)


def signed_in(**overrides: Outcome) -> dict[str, Outcome]:
    return roles(**overrides)


def staff_only(**overrides: Outcome) -> dict[str, Outcome]:
    """Console pages and staff API groups: customers get 404."""
    return roles(customers=NOT_FOUND, **overrides)


def leads_only(**overrides: Outcome) -> dict[str, Outcome]:
    return roles(customers=NOT_FOUND, staff=NOT_FOUND, lead=OK, **overrides)


def customers_only(**overrides: Outcome) -> dict[str, Outcome]:
    """Portal pages: staff are sent to the console."""
    return roles(staff=REDIRECT, **overrides)


@dataclass(frozen=True)
class Rule:
    methods: Mapping[str, Mapping[str, Outcome]]
    # Whether the URL's parameters are tenant objects (another organization's → 404 for customers).
    tenant: bool = True
    # Outcomes on the other side that differ from the default (role → outcome).
    other: Mapping[str, Outcome] = field(default_factory=dict)
    # For regex routes: a concrete path to request.
    path: str | None = None

    def expected(self, method: str, role: str, side: str) -> Outcome:
        own = self.methods[method][role]
        if side == "own":
            return own
        if role in self.other:
            return self.other[role]
        if self.tenant and role in CUSTOMERS:
            return NOT_FOUND
        return own


def rule(
    *,
    tenant: bool = True,
    other: Mapping[str, Outcome] | None = None,
    path: str | None = None,
    **methods: Mapping[str, Outcome],
) -> Rule:
    """`rule(GET=staff_only(), POST=...)`."""
    return Rule(
        methods={m.upper(): dict(t) for m, t in methods.items()},
        tenant=tenant,
        other=dict(other or {}),
        path=path,
    )


ParamValue = str | Callable[[str], str]


@dataclass
class World:
    """The objects the matrix requests, on both sides, and a user per role."""

    own_org: Organization
    other_org: Organization
    users: dict[str, User]  # role → user (no entry for anonymous)
    outsider: User  # a contact of the other organization
    values: dict[str, dict[str, ParamValue]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # Set by the matrix test: the API token of each role.
    tokens: dict[str, str] = field(default_factory=dict)

    def param(self, name: str, *, own: ParamValue, other: ParamValue) -> None:
        """A URL parameter's value on each side; a callable gets the role (per-role objects)."""
        self.values[name] = {"own": own, "other": other}

    def value(self, name: str, side: str, role: str) -> str:
        value = self.values[name][side]
        return value(role) if callable(value) else value
