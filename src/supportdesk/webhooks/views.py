"""Webhook subscriptions and their delivery log, for leads (console)."""

from __future__ import annotations

from typing import cast

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from supportdesk.accounts.models import User
from supportdesk.console.views import base_context
from supportdesk.core.forms import apply_service_errors
from supportdesk.core.views import lead_required
from supportdesk.webhooks import services
from supportdesk.webhooks.forms import SubscriptionForm
from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription

NEW_SECRET_SESSION_KEY = "webhook_new_secret"  # noqa: S105 - a session key name


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@lead_required
@require_http_methods(["GET", "POST"])
def subscriptions(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscription = services.webhook_subscription_create(
                actor=_user(request),
                url=data["url"],
                events=data["events"],
                organization=data["organization"],
                format=data["format"],
                description=data["description"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            # Shown once, on the next page only.
            request.session[NEW_SECRET_SESSION_KEY] = [subscription.pk, subscription.secret]
            return redirect("webhooks:detail", subscription_id=subscription.pk)
    return render(
        request,
        "webhooks/list.html",
        {
            **base_context(request),
            "nav": "webhooks",
            "form": form,
            "subscriptions": WebhookSubscription.objects.select_related("organization"),
        },
        status=400 if request.method == "POST" else 200,
    )


@lead_required
def detail(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=subscription_id)
    shown = request.session.pop(NEW_SECRET_SESSION_KEY, None)
    secret = shown[1] if shown and shown[0] == subscription.pk else None
    deliveries = subscription.deliveries.order_by("-created_at")[:100]
    return render(
        request,
        "webhooks/detail.html",
        {
            **base_context(request),
            "nav": "webhooks",
            "subscription": subscription,
            "secret": secret,
            "deliveries": deliveries,
        },
    )


@lead_required
@require_POST
def update(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=subscription_id)
    action = request.POST.get("action")
    if action == "delete":
        services.webhook_subscription_delete(actor=_user(request), subscription=subscription)
        flash.success(request, "Subscription deleted.")
        return redirect("webhooks:list")
    services.webhook_subscription_update(
        actor=_user(request),
        subscription=subscription,
        is_active={"enable": True, "disable": False}.get(action or ""),
        rotate_secret=action == "rotate",
    )
    if action == "rotate":
        request.session[NEW_SECRET_SESSION_KEY] = [subscription.pk, subscription.secret]
    flash.success(request, "Subscription updated.")
    return redirect("webhooks:detail", subscription_id=subscription.pk)


@lead_required
@require_POST
def replay(request: HttpRequest, delivery_id: str) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id)
    services.webhook_delivery_replay(delivery=delivery)
    flash.success(request, f"Event {delivery.event_type} queued again.")
    return redirect("webhooks:detail", subscription_id=delivery.subscription_id)
