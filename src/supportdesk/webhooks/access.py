"""Which webhook subscriptions and deliveries a user may see and manage: leads all of them (global
and per organization), an org admin their organization's. Anything else is "not found"."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404

from supportdesk.accounts.models import User
from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription


def manages_webhooks(user: User) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_lead or (user.is_org_admin and user.organization_id is not None))
    )


def subscriptions_visible_to(user: User) -> QuerySet[WebhookSubscription]:
    subscriptions = WebhookSubscription.objects.select_related("organization")
    if not manages_webhooks(user):
        return subscriptions.none()
    if user.is_lead:
        return subscriptions
    return subscriptions.filter(organization=user.organization)


def access_subscription(user: User, subscription_id: int | str) -> WebhookSubscription:
    try:
        return subscriptions_visible_to(user).get(pk=int(subscription_id))
    except (ValueError, TypeError, WebhookSubscription.DoesNotExist):
        raise Http404("No such webhook subscription") from None


def access_delivery(user: User, delivery_id: uuid.UUID | str) -> WebhookDelivery:
    try:
        key = uuid.UUID(str(delivery_id))
        return WebhookDelivery.objects.select_related("subscription").get(
            pk=key, subscription__in=subscriptions_visible_to(user)
        )
    except (ValueError, WebhookDelivery.DoesNotExist):
        raise Http404("No such webhook delivery") from None
