"""Who is calling: a bearer token (scripts, integrations). The browser's session is DRF's own
SessionAuthentication, which enforces CSRF on unsafe methods."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from supportdesk.accounts.models import User
from supportdesk.accounts.services import client_ip
from supportdesk.api.models import ApiToken
from supportdesk.api.tokens import TokenRefused, api_token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer sd_…`. `request.auth` is then the ApiToken (its scopes apply)."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as one header: 'Authorization: Bearer sd_…'."
            )
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("That is not a supportdesk API token.") from None
        try:
            token = api_token_authenticate(secret=secret, ip=client_ip(request._request))
        except TokenRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="supportdesk"'
