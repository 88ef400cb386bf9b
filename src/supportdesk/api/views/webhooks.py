"""Webhook subscriptions, their delivery log and replay: leads (global and per organization) and
org admins (their organization's). The machinery is supportdesk.webhooks; this only exposes it."""

from __future__ import annotations

from typing import Any, cast

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from supportdesk.accounts.models import User
from supportdesk.api.errors import Conflict
from supportdesk.api.pagination import NewestFirst
from supportdesk.api.permissions import check_authenticated, check_scope
from supportdesk.api.serializers import (
    WebhookDeliverySerializer,
    WebhookSubscriptionCreateSerializer,
    WebhookSubscriptionSerializer,
    WebhookSubscriptionUpdatedSerializer,
    WebhookSubscriptionUpdateSerializer,
    WebhookSubscriptionWithSecretSerializer,
)
from supportdesk.api.views.base import ApiView
from supportdesk.organizations.models import Organization
from supportdesk.webhooks import services
from supportdesk.webhooks.access import (
    access_delivery,
    access_subscription,
    manages_webhooks,
    subscriptions_visible_to,
)
from supportdesk.webhooks.events import EVENT_TYPES
from supportdesk.webhooks.models import WebhookDelivery


class WebhookPermission(BasePermission):
    """Leads and org admins; for everyone else these endpoints are not there (404). Then scopes."""

    def has_permission(self, request: Request, view: Any) -> bool:
        check_authenticated(request)
        if not manages_webhooks(cast(User, request.user)):
            raise NotFound("Not found.")
        check_scope(request, view)
        return True


class WebhookView(ApiView):
    admin_scope = True
    permission_classes = [WebhookPermission]


class EventTypes(WebhookView):
    @extend_schema(
        operation_id="webhooks_event_types",
        summary="The event types a subscription can ask for",
        responses=inline_serializer(
            "EventType",
            {"type": serializers.CharField(), "description": serializers.CharField()},
            many=True,
        ),
    )
    def get(self, request: Request) -> Response:
        return Response([{"type": k, "description": v} for k, v in EVENT_TYPES.items()])


class SubscriptionList(WebhookView):
    pagination_class = NewestFirst

    @extend_schema(
        operation_id="webhooks_list",
        summary="Webhook subscriptions you manage",
        responses=WebhookSubscriptionSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(subscriptions_visible_to(self.user), request, view=self)
        return paginator.get_paginated_response(WebhookSubscriptionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Subscribe a URL to events",
        description="The response carries the signing secret, once.",
        request=WebhookSubscriptionCreateSerializer,
        responses={201: WebhookSubscriptionWithSecretSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = WebhookSubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if self.user.is_lead:
            slug = data.get("organization")
            organization = get_object_or_404(Organization, slug=slug) if slug else None
        else:
            organization = self.user.organization
        subscription = services.webhook_subscription_create(
            actor=self.user,
            url=data["url"],
            events=data["events"],
            organization=organization,
            format=data["format"],
            description=data["description"],
        )
        return Response(WebhookSubscriptionWithSecretSerializer(subscription).data, status=201)


class SubscriptionDetail(WebhookView):
    @extend_schema(
        operation_id="webhooks_read",
        summary="One subscription",
        responses=WebhookSubscriptionSerializer,
    )
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = access_subscription(self.user, subscription_id)
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(
        operation_id="webhooks_update",
        summary="Enable, disable, or rotate the secret",
        description="With rotate_secret the response carries the new secret, once.",
        request=WebhookSubscriptionUpdateSerializer,
        responses={200: WebhookSubscriptionUpdatedSerializer},
    )
    def patch(self, request: Request, subscription_id: int) -> Response:
        subscription = access_subscription(self.user, subscription_id)
        serializer = WebhookSubscriptionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = services.webhook_subscription_update(
            actor=self.user,
            subscription=subscription,
            is_active=data.get("is_active"),
            rotate_secret=data["rotate_secret"],
        )
        body = dict(WebhookSubscriptionUpdatedSerializer(subscription).data)
        if not data["rotate_secret"]:
            body.pop("secret")
        return Response(body)

    @extend_schema(
        operation_id="webhooks_delete", summary="Delete a subscription", responses={204: None}
    )
    def delete(self, request: Request, subscription_id: int) -> Response:
        subscription = access_subscription(self.user, subscription_id)
        services.webhook_subscription_delete(actor=self.user, subscription=subscription)
        return Response(status=204)


class DeliveryList(WebhookView):
    pagination_class = NewestFirst

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        summary="A subscription's delivery log, newest first",
        responses=WebhookDeliverySerializer(many=True),
    )
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = access_subscription(self.user, subscription_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            WebhookDelivery.objects.filter(subscription=subscription), request, view=self
        )
        return paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class DeliveryReplay(WebhookView):
    @extend_schema(
        operation_id="webhooks_deliveries_replay",
        summary="Send a delivery's event again",
        description="Same event id, so receivers can tell it is a repeat.",
        request=None,
        responses={201: WebhookDeliverySerializer},
    )
    def post(self, request: Request, delivery_id: str) -> Response:
        delivery = access_delivery(self.user, delivery_id)
        if not delivery.subscription.is_active:
            raise Conflict("The subscription is disabled: enable it before replaying.")
        replay = services.webhook_delivery_replay(delivery=delivery)
        return Response(WebhookDeliverySerializer(replay).data, status=201)
