"""The OpenAPI document and its browsable docs, served from our own static files (no CDN). The
split Swagger view loads its start-up script from a URL, so no inline script is needed under the
Content-Security-Policy; the page's styles are in a static file too."""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


class Schema(SpectacularAPIView):
    pass


class Docs(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    url_name = "api:schema"
