"""The notification inbox, the same for staff (console) and customers (portal)."""

from __future__ import annotations

from typing import cast

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from supportdesk.accounts.models import User
from supportdesk.core.views import login_required
from supportdesk.notifications.models import Notification
from supportdesk.notifications.services import notifications_mark_read


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    notifications = Notification.objects.filter(recipient=user).select_related("ticket")
    page = Paginator(notifications, 50).get_page(request.GET.get("page"))
    template = "notifications/console.html" if user.is_staff else "notifications/portal.html"
    context = {"page": page, "nav": "notifications"}
    if user.is_staff:
        from supportdesk.console.views import base_context

        context |= base_context(request)
    return render(request, template, context)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(recipient=_user(request))
    return redirect("notifications:inbox")


@login_required
@require_POST
def open_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=notification_id, recipient=request.user)
    notifications_mark_read(recipient=_user(request), ids=[notification.pk])
    target = notification.url or "notifications:inbox"
    if notification.url and not url_has_allowed_host_and_scheme(
        notification.url, {request.get_host()}
    ):
        target = "notifications:inbox"
    return redirect(target)
