from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from supportdesk.accounts.models import User
from supportdesk.tickets.access import access_attachment
from supportdesk.tickets.models import Attachment

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def login_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def staff_required(view: View) -> View:
    """The console: staff only. Others get 404, as for anything they may not see."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not _user(request).is_staff:
            raise Http404("Not found")
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def lead_required(view: View) -> View:
    """Configuration pages: leads only (others get 404)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not _user(request).is_lead:
            raise Http404("Not found")
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def customer_required(view: View) -> View:
    """The portal: customers and community users. Staff are sent to the console."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if _user(request).is_staff:
            return redirect("console:queue")
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return redirect("console:queue" if _user(request).is_staff else "portal:tickets")


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: the process answers and its database connection works."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
@require_GET
def attachment_download(request: HttpRequest, attachment_id: str) -> FileResponse:
    return attachment_response(access_attachment(_user(request), attachment_id))


def attachment_response(attachment: Attachment) -> FileResponse:
    """An attachment as a download that no browser renders (also used by the API)."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    # Never rendered by the browser, even if someone links to it directly.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response
