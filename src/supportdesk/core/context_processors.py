from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

import supportdesk


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "SUPPORTDESK_VERSION": supportdesk.__version__,
        "SITE_URL": settings.SUPPORTDESK_SITE_URL,
    }
