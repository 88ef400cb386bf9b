"""What a caller may do: the token's scopes, and staff-only resource groups.

Scopes are independent: a request needs exactly the one scope its view names for its method (read
for GET, write for changes, admin for webhooks, contacts and roles). A signed-in browser session
holds every scope; the user's role still decides what the services allow."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from supportdesk.api.models import ApiToken, Scope


def required_scope(request: Request, view: Any) -> str:
    if getattr(view, "admin_scope", False):
        return Scope.ADMIN.value
    return Scope.READ.value if request.method in SAFE_METHODS else Scope.WRITE.value


def check_authenticated(request: Request) -> None:
    if not (request.user and request.user.is_authenticated):
        raise exceptions.NotAuthenticated(
            "Sign in, or send an API token: 'Authorization: Bearer sd_…'."
        )


def check_scope(request: Request, view: Any) -> None:
    token = request.auth
    if isinstance(token, ApiToken):
        needed = required_scope(request, view)
        if needed not in token.scopes:
            raise exceptions.PermissionDenied(
                f"This token lacks the '{needed}' scope needed for {request.method} here; "
                f"it has: {', '.join(token.scopes)}."
            )


class HasScope(BasePermission):
    """Authenticated, with the scope the request needs."""

    def has_permission(self, request: Request, view: Any) -> bool:
        check_authenticated(request)
        check_scope(request, view)
        return True


class StaffOnly(BasePermission):
    """Staff resource groups are not there for customers (404, like the console); then scopes."""

    def has_permission(self, request: Request, view: Any) -> bool:
        check_authenticated(request)
        if not request.user.is_staff:
            raise exceptions.NotFound("Not found.")
        check_scope(request, view)
        return True
