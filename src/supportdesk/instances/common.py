"""Small pieces the instance services share: whole-second times, the monitoring actor, and telling
an organization's people and machines about something (exactly once per dedupe key)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from supportdesk.accounts.models import Role, User
from supportdesk.notifications.services import notify
from supportdesk.organizations.models import ManagedInstance, Organization
from supportdesk.webhooks.services import webhook_event_emit

MONITORING_EMAIL = "monitoring@supportdesk.invalid"


def floor_second(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


def ceil_second(moment: dt.datetime) -> dt.datetime:
    """Round up: an announcement never looks earlier than it was (docs/managed-instances.md)."""
    if moment.microsecond:
        return moment.replace(microsecond=0) + dt.timedelta(seconds=1)
    return moment


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp() // 1)


def from_epoch(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def monitoring_actor() -> User:
    """The account the probe worker acts as: it opens Sev 1 tickets and writes automatic updates.

    An agent-role account so that its updates are public replies, but inactive with no usable
    password: nobody can sign in as it, and it is never offered as an assignee."""
    user = User.objects.filter(email=MONITORING_EMAIL).first()
    if user is None:
        user = User(
            email=MONITORING_EMAIL,
            name="supportdesk monitoring",
            role=Role.AGENT,
            is_active=False,
            password=make_password(None),
        )
        user.save()
    return user


def organization_people(organization: Organization) -> list[User]:
    """Who hears about the organization's instances: its active contacts and org admins."""
    return list(
        organization.members.filter(
            is_active=True, role__in=[Role.CONTACT, Role.ORG_ADMIN]
        ).order_by("pk")
    )


def ticket_requester(organization: Organization) -> User | None:
    """Whom a monitoring ticket is opened for: the organization's first active org admin (they
    manage its instances), else its first active contact; None when it has nobody."""
    people = organization.members.filter(is_active=True)
    return (
        people.filter(role=Role.ORG_ADMIN).order_by("date_joined", "pk").first()
        or people.filter(role=Role.CONTACT).order_by("date_joined", "pk").first()
    )


def tell_organization(
    *,
    organization: Organization,
    kind: str,
    title: str,
    body: str,
    url: str,
    dedupe_key: str,
    event_type: str,
    data: dict[str, Any],
    now: dt.datetime | None = None,
) -> int:
    """Notify every person of the organization (one notification each, exactly once per
    `dedupe_key`) and emit the webhook event. Call inside the transaction that made the change,
    after winning the state change it reports (a conditional UPDATE), so the event is emitted once
    too. Returns how many notifications were created."""
    now = now or timezone.now()
    created = 0
    for person in organization_people(organization):
        if notify(
            recipient=person,
            kind=kind,
            title=title,
            body=body,
            url=url,
            dedupe_key=f"{dedupe_key}:u{person.pk}",
            now=now,
        ):
            created += 1
    webhook_event_emit(
        event_type=event_type, data=data, organization=organization, summary=title, now=now
    )
    return created


def instance_data(instance: ManagedInstance) -> dict[str, Any]:
    return {"name": instance.name, "url": instance.url}


def site_url(path: str) -> str:
    return settings.SUPPORTDESK_SITE_URL + path
