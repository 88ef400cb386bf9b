"""Webhook pages (console, leads only) in the authorization matrix. The subscriptions and deliveries
made here are also used by the API's webhook endpoints."""

from supportdesk.core.access_matrix import World, leads_only, rule
from supportdesk.webhooks.models import WebhookSubscription
from supportdesk.webhooks.services import webhook_event_emit


def build(world: World) -> None:
    own = WebhookSubscription.objects.create(
        url="https://hooks.acme.test/desk", organization=world.own_org, events=["*"]
    )
    other = WebhookSubscription.objects.create(
        url="https://hooks.globex.test/Globex-secret",
        organization=world.other_org,
        events=["*"],
        description="Globex secret",
    )
    webhook_event_emit(event_type="ticket.created", data={"n": 1}, organization=world.own_org)
    webhook_event_emit(
        event_type="ticket.created", data={"Globex secret": 1}, organization=world.other_org
    )
    world.param("subscription_id", own=str(own.pk), other=str(other.pk))
    world.param(
        "delivery_id",
        own=str(own.deliveries.get().pk),
        other=str(other.deliveries.get().pk),
    )


RULES = {
    "webhooks:list": rule(GET=leads_only(), POST=leads_only()),
    "webhooks:detail": rule(GET=leads_only()),
    "webhooks:update": rule(POST=leads_only()),
    "webhooks:replay": rule(POST=leads_only()),
}
