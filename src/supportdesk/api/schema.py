"""The OpenAPI document: drf-spectacular, plus the error responses every operation can give (one
shape, see errors.py) and the two ways to authenticate."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `fields` names each field and what is wrong with it",
    "401": "No valid credentials: sign in or send 'Authorization: Bearer sd_…'",
    "403": "Not allowed: the token lacks the scope, or the role may not do this",
    "404": "Not found, or not yours to see",
    "406": "Only application/json responses are offered",
    "409": "Conflicts with the current state",
    "412": "The ticket changed since you read it (If-Match): the current ETag is returned",
    "413": "The request body or an upload is too large",
    "415": "Send application/json or multipart/form-data",
    "422": "The Idempotency-Key was already used for a different request",
    "428": "If-Match is required",
    "429": "Rate limited: retry after Retry-After seconds",
}
READ_ERRORS = ("400", "401", "403", "404", "406", "429")
WRITE_ERRORS = (*READ_ERRORS, "409", "412", "413", "415", "422", "428")


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        from supportdesk.api.serializers import ErrorSerializer

        responses: dict[str, Any] = super()._get_response_bodies(direction)
        codes = READ_ERRORS if self.method in ("GET", "HEAD", "DELETE") else WRITE_ERRORS
        for code in codes:
            if code not in responses:
                response = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    ErrorSerializer, code, direction=direction
                )
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "supportdesk.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (sd_…) made on your API tokens page. Scopes: read, "
            "write, admin.",
        }
