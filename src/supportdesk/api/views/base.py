"""What every API view shares: body size limits, no caching of private data, and helpers to turn
uploaded files into what the services take."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportdesk.accounts.models import User
from supportdesk.api.errors import PayloadTooLarge
from supportdesk.tickets.services import UploadedAttachment, safe_filename

MAX_FILES_PER_REQUEST = 10
JSON_BODY_LIMIT = 1024 * 1024


def upload_body_limit() -> int:
    return int(settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES) * MAX_FILES_PER_REQUEST + JSON_BODY_LIMIT


class ApiView(APIView):
    # Service field names → API field names, for validation errors.
    service_field_names: dict[str, str] = {}
    admin_scope = False
    pagination_class: Any = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method in ("POST", "PUT", "PATCH"):
            _check_body_size(request)

    def finalize_response(
        self, request: Request, response: Any, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response.setdefault("Cache-Control", "private, no-store")
        return cast(Response, response)

    @property
    def user(self) -> User:
        return cast(User, self.request.user)


def _check_body_size(request: Request) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    multipart = (request.content_type or "").startswith("multipart/")
    limit = upload_body_limit() if multipart else JSON_BODY_LIMIT
    if length > limit:
        if multipart:
            per_file = settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES
            message = (
                f"The request is {length:,} bytes; uploads are limited to "
                f"{MAX_FILES_PER_REQUEST} files of at most {per_file:,} bytes each."
            )
        else:
            message = f"The request body is {length:,} bytes; the limit is {limit:,} bytes."
        raise PayloadTooLarge(message)


def uploads_from(files: list[Any]) -> list[UploadedAttachment]:
    """Uploaded files → what the services take. Oversized files are refused before they are read
    into memory (the services check again)."""
    limit = settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES
    uploads = []
    for f in files:
        name = safe_filename(f.name or "")
        if f.size is not None and f.size > limit:
            raise ValidationError(
                {"attachments": f"{name} is {f.size:,} bytes; the limit is {limit:,} bytes."}
            )
        uploads.append(UploadedAttachment(filename=name, content=f.read()))
    return uploads


def django_request(request: Request) -> HttpRequest:
    return request._request
