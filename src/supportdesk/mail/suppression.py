"""Addresses that bounce permanently receive no more mail, visibly, until an agent lifts the block.

The block is a `SuppressedAddress` row (with the bounce that caused it) and, when the address
belongs to a user, `User.email_disabled_reason` — which the notification mailer already honours,
so agents' notification mail and ticket mail stop together."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from supportdesk.accounts.models import User, normalize_email
from supportdesk.mail.models import InboundMessage, SuppressedAddress

# Marks the users' `email_disabled_reason` this module sets (and may clear again); other reasons
# (an integration account) are someone else's and stay.
BOUNCE_REASON_PREFIX = "Mail bounces"


def suppressed_addresses(addresses: list[str]) -> set[str]:
    """Which of `addresses` (normalised) are blocked now."""
    normalised = {normalize_email(a) for a in addresses if a}
    return set(
        SuppressedAddress.objects.filter(
            address__in=normalised, lifted_at__isnull=True
        ).values_list("address", flat=True)
    )


@transaction.atomic
def address_suppress(
    *,
    address: str,
    reason: str,
    status_code: str = "",
    bounce: InboundMessage | None = None,
    now: dt.datetime | None = None,
) -> SuppressedAddress:
    """Block `address` (again, if a block was lifted). Safe to call twice for the same bounce."""
    now = now or timezone.now()
    address = normalize_email(address)[:254]
    try:
        with transaction.atomic():
            row, created = SuppressedAddress.objects.get_or_create(
                address=address,
                defaults={
                    "reason": reason,
                    "status_code": status_code[:20],
                    "bounce": bounce,
                    "created_at": now,
                },
            )
    except IntegrityError:  # a concurrent bounce for the same address
        row, created = SuppressedAddress.objects.get(address=address), False
    if not created and row.lifted_at is not None:
        row.reason, row.status_code, row.bounce = reason, status_code[:20], bounce
        row.created_at, row.lifted_at, row.lifted_by = now, None, None
        row.save()
    User.objects.filter(email=address, email_disabled_reason="").update(
        email_disabled_reason=f"{BOUNCE_REASON_PREFIX}: {reason}"[:300], email_disabled_at=now
    )
    return row


@transaction.atomic
def address_suppression_lift(
    *, actor: User, address: str, now: dt.datetime | None = None
) -> SuppressedAddress | None:
    """An agent lifts the block (the address was fixed, the mailbox exists again)."""
    if not actor.is_agent:
        raise PermissionDenied("Only agents lift a mail block.")
    now = now or timezone.now()
    row = (
        SuppressedAddress.objects.select_for_update()
        .filter(address=normalize_email(address), lifted_at__isnull=True)
        .first()
    )
    if row is None:
        return None
    row.lifted_at, row.lifted_by = now, actor
    row.save(update_fields=["lifted_at", "lifted_by"])
    User.objects.filter(
        email=row.address, email_disabled_reason__startswith=BOUNCE_REASON_PREFIX
    ).update(email_disabled_reason="", email_disabled_at=None)
    return row
