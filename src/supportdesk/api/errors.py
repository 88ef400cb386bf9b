"""Every API error has one shape, with a message a person can act on:

    {"error": {"status": 400, "code": "invalid", "message": "subject: A ticket needs a subject.",
               "fields": {"subject": ["A ticket needs a subject."]}}}

`fields` is present for validation errors only and names the request fields. Service functions
raise Django's ValidationError / PermissionDenied and Http404; they are mapped here, as are DRF's
own exceptions, stale updates (412) and anything unexpected (500, logged)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from supportdesk.tickets.services import StaleTicket

log = logging.getLogger(__name__)


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_code = "precondition_required"
    default_detail = "Send If-Match with the ETag of your last read of this ticket."


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"
    default_detail = "The request body is too large."


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"
    default_detail = "Conflict."


class Stale(exceptions.APIException):
    """412 for resources other than tickets: If-Match names a version that is no longer current.
    The response carries the current ETag."""

    status_code = 412
    default_code = "stale"
    default_detail = "This changed since you read it; reload it and apply your change again."

    def __init__(self, detail: str, *, etag: str) -> None:
        super().__init__(detail)
        self.etag = etag


class Refused(Exception):
    """A service's ValidationError, with machine-readable context added to the error object
    (e.g. a non-compliant maintenance window's earliest compliant start)."""

    def __init__(self, error: DjangoValidationError, **extra: Any) -> None:
        super().__init__(str(error))
        self.error = error
        self.extra = extra


class Unprocessable(exceptions.APIException):
    status_code = 422
    default_code = "unprocessable"
    default_detail = "The request cannot be processed."


def error_body(
    status_code: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status_code, "code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    return {"error": error}


def error_response(status_code: int, code: str, message: str) -> JsonResponse:
    """For code outside DRF views (middleware, the catch-all 404)."""
    return JsonResponse(error_body(status_code, code, message), status=status_code)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details → {"field": [...], "items.0.field": [...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key == "non_field_errors" else str(key)
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for i, item in enumerate(detail):
                out.update(_flatten(item, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _validation_message(fields: dict[str, list[str]]) -> str:
    parts = []
    for field, messages in fields.items():
        text = " ".join(messages)
        parts.append(text if field == "non_field_errors" else f"{field}: {text}")
    return " ".join(parts) or "The request is not valid."


def service_fields(exc: DjangoValidationError, renames: dict[str, str]) -> dict[str, list[str]]:
    """A service's ValidationError → fields named as the API names them."""
    if hasattr(exc, "error_dict"):
        return {
            renames.get(field, field) if field != "__all__" else "non_field_errors": [
                message for error in errors for message in error.messages
            ]
            for field, errors in exc.error_dict.items()
        }
    return {"non_field_errors": list(exc.messages)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    view = context.get("view")
    headers: dict[str, str] = {}
    if isinstance(exc, Refused):
        fields = service_fields(exc.error, getattr(view, "service_field_names", {}))
        body = error_body(400, "invalid", _validation_message(fields), fields)
        body["error"].update(exc.extra)
        return Response(body, status=400)
    if isinstance(exc, DjangoValidationError):
        fields = service_fields(exc, getattr(view, "service_field_names", {}))
        return Response(error_body(400, "invalid", _validation_message(fields), fields), status=400)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        return Response(error_body(400, "invalid", _validation_message(fields), fields), status=400)
    if isinstance(exc, StaleTicket):
        headers["ETag"] = f'"{exc.ticket.version}"'
        return Response(error_body(412, "stale", str(exc)), status=412, headers=headers)
    if isinstance(exc, Http404):
        message = str(exc) if exc.args else "Not found."
        return Response(error_body(404, "not_found", _sentence(message)), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or "You may not do that."
        return Response(error_body(403, "forbidden", _sentence(message)), status=403)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(413, "too_large", "The request body is too large."), status=413)
    if isinstance(exc, exceptions.APIException):
        if isinstance(exc, Stale):
            headers["ETag"] = exc.etag
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait:
            headers["Retry-After"] = str(int(wait))
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        code = {
            "not_authenticated": "unauthenticated",
            "authentication_failed": "unauthenticated",
            "permission_denied": "forbidden",
            "not_found": "not_found",
        }.get(str(code), str(code))
        detail = exc.detail
        message = (
            str(detail)
            if not isinstance(detail, dict | list)
            else _validation_message(_flatten(detail))
        )
        return Response(
            error_body(exc.status_code, code, _sentence(message)),
            status=exc.status_code,
            headers=headers,
        )
    request = context.get("request")
    log.exception(
        "Unhandled error in API %s %s",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
    )
    return Response(
        error_body(
            500,
            "server_error",
            "Something went wrong on our side; it has been logged. Retry later, and tell support "
            "if it persists.",
        ),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _sentence(message: str) -> str:
    message = message.strip()
    return message if message.endswith((".", "!", "?", ")")) else message + "."


@csrf_exempt  # it changes nothing; without this a POST would get Django's HTML CSRF page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown /api/ URLs answer in the API's shape, not with an HTML page."""
    return error_response(
        404, "not_found", f"No API endpoint at {request.path}. See /api/v1/docs/."
    )
