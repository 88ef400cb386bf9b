"""Console pages of the e-mail channel (staff): quarantine with retry and discard, a stored
message with its raw bytes, and the addresses blocked because they bounce."""

from __future__ import annotations

from typing import cast

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from supportdesk.accounts.models import User
from supportdesk.console.views import base_context
from supportdesk.core.views import staff_required
from supportdesk.mail import selectors, services
from supportdesk.mail.models import InboundMessage
from supportdesk.mail.parsing import parse_message
from supportdesk.mail.suppression import address_suppression_lift


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect(target)
    return redirect(default)


@staff_required
def quarantine(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "mail/quarantine.html",
        {**base_context(request), "nav": "mail", "messages_list": selectors.quarantined()[:200]},
    )


@staff_required
def inbound_detail(request: HttpRequest, inbound_id: int) -> HttpResponse:
    inbound = get_object_or_404(InboundMessage, pk=inbound_id)
    parsed = parse_message(bytes(inbound.raw))
    return render(
        request,
        "mail/inbound.html",
        {**base_context(request), "nav": "mail", "inbound": inbound, "parsed": parsed},
    )


@staff_required
def inbound_raw(request: HttpRequest, inbound_id: int) -> HttpResponse:
    """The message exactly as received, as a download (never rendered in the browser)."""
    inbound = get_object_or_404(InboundMessage, pk=inbound_id)
    response = HttpResponse(bytes(inbound.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="inbound-{inbound.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_required
@require_POST
def inbound_retry(request: HttpRequest, inbound_id: int) -> HttpResponse:
    inbound = get_object_or_404(InboundMessage, pk=inbound_id)
    try:
        services.inbound_retry(actor=_user(request), inbound=inbound)
    except (ValidationError, PermissionDenied) as exc:
        flash.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        flash.success(request, f"Message {inbound.pk} is being processed again.")
    return _back(request, "mail:quarantine")


@staff_required
@require_POST
def inbound_discard(request: HttpRequest, inbound_id: int) -> HttpResponse:
    inbound = get_object_or_404(InboundMessage, pk=inbound_id)
    try:
        services.inbound_discard(actor=_user(request), inbound=inbound)
    except (ValidationError, PermissionDenied) as exc:
        flash.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        flash.success(request, f"Message {inbound.pk} discarded (the original stays stored).")
    return _back(request, "mail:quarantine")


@staff_required
def suppressed(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "mail/suppressed.html",
        {
            **base_context(request),
            "nav": "mail_suppressed",
            "suppressed": selectors.suppressed_active()[:500],
        },
    )


@staff_required
@require_POST
def suppression_lift(request: HttpRequest) -> HttpResponse:
    address = request.POST.get("address", "")
    try:
        lifted = address_suppression_lift(actor=_user(request), address=address)
    except PermissionDenied as exc:
        flash.error(request, str(exc))
    else:
        if lifted is None:
            flash.error(request, f"{address} is not blocked.")
        else:
            flash.success(request, f"Mail to {lifted.address} is sent again.")
    return _back(request, "mail:suppressed")
