"""CSV for the report endpoints: the same CSV the console's and portal's report pages export.

A view asks for it with `Accept: text/csv` or `?format=csv`. Errors stay JSON whatever was asked
for (one error shape for every client)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


class CsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return data.encode() if isinstance(data, str) else bytes(data or b"")


class CsvMixin:
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer, CsvRenderer]

    def wants_csv(self, request: Request) -> bool:
        return getattr(request.accepted_renderer, "format", "") == "csv"

    def csv_response(self, text: str, filename: str) -> Response:
        return Response(
            text,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def handle_exception(self, exc: Exception) -> Any:
        response = super().handle_exception(exc)  # type: ignore[misc]
        request = self.request  # type: ignore[attr-defined]
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
        return response
