"""Every URL × every role × own / other organization, from the URL configuration and the rules in
each package's tests/access_matrix.py (see supportdesk/core/access_matrix.py)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from supportdesk.accounts.models import Role
from supportdesk.api.tests.conftest import make_token
from supportdesk.core import access_matrix as m
from supportdesk.core.testing import make_org, make_user

pytestmark = pytest.mark.django_db

SENTINEL = "Globex secret"
METHOD_ORDER = {"GET": 0, "HEAD": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}


def url_patterns(
    resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, URLPattern]]:
    """(key, route, pattern): the key is the URL name with its namespace, else the route."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from url_patterns(entry, prefix + str(entry.pattern), ns)
        else:
            route = prefix + str(entry.pattern)
            key = f"{namespace}{entry.name}" if entry.name else route
            yield key, route, entry


def load_rules() -> tuple[dict[str, m.Rule], list[Any]]:
    rules: dict[str, m.Rule] = {}
    builders = []
    for config in apps.get_app_configs():
        if not config.name.startswith("supportdesk."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.tests.access_matrix")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.tests.access_matrix" and exc.name != (
                f"{config.name}.tests"
            ):
                raise
            continue
        duplicate = set(rules) & set(module.RULES)
        assert not duplicate, f"{config.name}: rules declared twice: {duplicate}"
        rules |= module.RULES
        if hasattr(module, "build"):
            builders.append(module.build)
    return rules, builders


def build_world() -> m.World:
    from supportdesk.core.testing import make_ticket
    from supportdesk.notifications.services import notify
    from supportdesk.tickets.services import UploadedAttachment, ticket_reply_add

    own_org = make_org("Acme", domain="acme.test")
    other_org = make_org("Globex", domain="globex.test")
    users = {
        "community": make_user(Role.COMMUNITY, email="sam@oss.test"),
        "contact": make_user(Role.CONTACT, organization=own_org, email="alice@acme.test"),
        "org_admin": make_user(Role.ORG_ADMIN, organization=own_org, email="boss@acme.test"),
        "internal": make_user(Role.INTERNAL, email="ce@vendor.test"),
        "agent": make_user(Role.AGENT, email="agent@vendor.test"),
        "lead": make_user(Role.LEAD, email="lead@vendor.test"),
    }
    outsider = make_user(Role.CONTACT, organization=other_org, email="eve@globex.test")
    world = m.World(own_org=own_org, other_org=other_org, users=users, outsider=outsider)

    def ticket_with_files(requester: Any, subject: str) -> Any:
        ticket = make_ticket(
            requester,
            subject=subject,
            description=f"{subject} description",
            attachments=[UploadedAttachment("dump.txt", subject.encode())],
        )
        reply = ticket_reply_add(
            actor=users["agent"],
            ticket=ticket,
            body=f"{subject} reply",
            status_part="s",
            next_steps_part="n",
            expectations_part="e",
        )
        return ticket, reply

    acme, acme_reply = ticket_with_files(users["contact"], "Acme issue")
    community, community_reply = ticket_with_files(users["community"], "Community issue")
    globex, globex_reply = ticket_with_files(outsider, f"{SENTINEL} issue")

    def own(acme_value: str, community_value: str) -> Any:
        return lambda role: community_value if role == "community" else acme_value

    world.param(
        "number", own=own(str(acme.number), str(community.number)), other=str(globex.number)
    )
    world.param(
        "attachment_id",
        own=own(str(acme.attachments.get().id), str(community.attachments.get().id)),
        other=str(globex.attachments.get().id),
    )
    world.param(
        "message_id",
        own=own(str(acme_reply.pk), str(community_reply.pk)),
        other=str(globex_reply.pk),
    )
    world.param("slug", own=own_org.slug, other=other_org.slug)
    notes = {
        role: notify(recipient=user, kind="x", title="yours", email=False)
        for role, user in users.items()
    }
    foreign_note = notify(recipient=outsider, kind="x", title=SENTINEL, email=False)
    world.param(
        "notification_id",
        own=lambda role: str(notes[role].pk) if role in notes else str(foreign_note.pk),
        other=str(foreign_note.pk),
    )
    world.extra["tickets"] = {"acme": acme, "community": community, "globex": globex}
    return world


def expand(route: str, pattern: URLPattern, world: m.World, side: str, role: str) -> str:
    path = "/" + route
    for name in pattern.pattern.converters:
        value = world.value(name, side, role)
        path = re.sub(rf"<(?:\w+:)?{name}>", value, path)
    return path


def outcome_of(response: Any, is_api: bool) -> m.Outcome:
    status = response.status_code
    if status == 404:
        return m.NOT_FOUND
    if status == 403:
        return m.FORBIDDEN
    if status == 405:
        return m.NOT_ALLOWED
    if status == 401:
        return m.LOGIN
    if status in (301, 302, 303):
        location = response["Location"]
        return m.LOGIN if location.startswith("/login/") else m.REDIRECT
    return m.OK


@pytest.mark.parametrize("role", m.ROLES)
def test_every_url_answers_every_role_as_its_rule_says(role: str) -> None:
    rules, builders = load_rules()
    world = build_world()
    for build in builders:
        build(world)
    user = world.users.get(role)
    token = make_token(user) if user is not None else None

    patterns = list(url_patterns())
    missing = [key for key, _, _ in patterns if key not in rules]
    assert not missing, (
        f"URLs without a rule in any <package>/tests/access_matrix.py: {missing}. Add one to the "
        "package that owns the URL (see supportdesk/core/access_matrix.py)."
    )
    stale = set(rules) - {key for key, _, _ in patterns}
    assert not stale, f"rules for URLs that no longer exist: {sorted(stale)}"

    requests = []
    for key, route, pattern in patterns:
        rule = rules[key]
        params = list(pattern.pattern.converters)
        unknown = [p for p in params if p not in world.values]
        assert not unknown, (
            f"{key}: no value for URL parameter(s) {unknown}: register them with world.param() "
            "in a build() of your package's tests/access_matrix.py"
        )
        view_methods = _view_methods(pattern)
        undeclared = view_methods - set(rule.methods)
        assert not undeclared, f"{key}: the view answers {sorted(undeclared)}; add them to its rule"
        sides = m.SIDES if params else ("own",)
        for side in sides:
            for method in rule.methods:
                requests.append((METHOD_ORDER[method], key, route, pattern, rule, side, method))
    # Reads first, deletions last: a DELETE must not remove what a later request needs.
    requests.sort(key=lambda r: r[0])

    failures = []
    checked = 0
    for _, key, route, pattern, rule, side, method in requests:
        if rule.path is not None:
            path = rule.path
        elif isinstance(pattern.pattern, RoutePattern):
            path = expand(route, pattern, world, side, role)
        else:
            pytest.fail(f"{key}: a regex route needs rule(path=...) to be requested")
        is_api = path.startswith("/api/")
        client = Client()
        headers = {}
        if user is not None:
            if is_api:
                headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            else:
                client.force_login(user)
        call = getattr(client, method.lower())
        if is_api and method in ("POST", "PATCH", "PUT"):
            response = call(path, {}, content_type="application/json", **headers)
        else:
            response = call(path, **headers)
        got = outcome_of(response, is_api)
        want = rule.expected(method, role, side)
        if want == m.OK and got == m.REDIRECT:
            got = m.OK  # a successful form post redirects
        checked += 1
        if got != want:
            failures.append(
                f"{method} {path} ({key}) as {role}, {side} side: expected {want.value}, "
                f"got {response.status_code}"
                + (f" → {response['Location']}" if response.has_header("Location") else "")
            )
        elif side == "other" and rule.tenant and role in m.CUSTOMERS and not response.streaming:
            # (A route whose parameter is its own proof, like a status-page token, shows what the
            # token opens: that is not a leak.)
            assert SENTINEL.encode() not in response.content, f"{method} {path} leaks as {role}"
    assert not failures, f"{len(failures)} of {checked} requests:\n" + "\n".join(failures)
    assert checked >= 60


def _view_methods(pattern: URLPattern) -> set[str]:
    """The methods a DRF view answers (function views declare theirs in the rule)."""
    cls = getattr(pattern.callback, "cls", None)
    if cls is None:
        return set()
    from rest_framework.views import APIView

    if not issubclass(cls, APIView):
        return set()
    return {
        method.upper()
        for method in ("get", "post", "put", "patch", "delete")
        if hasattr(cls, method)
    }


def test_the_matrix_covers_every_package_with_urls() -> None:
    """Sanity: rules come from several packages, and each names real methods and roles."""
    rules, _ = load_rules()
    assert {key.split(":")[0] for key in rules if ":" in key} >= {
        "console",
        "portal",
        "api",
        "webhooks",
        "accounts",
        "notifications",
    }
    for key, rule in rules.items():
        for method, table in rule.methods.items():
            assert method in METHOD_ORDER, f"{key}: {method}"
            assert set(table) == set(m.ROLES), f"{key} {method}: roles {set(table) ^ set(m.ROLES)}"
