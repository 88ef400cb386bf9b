from __future__ import annotations

from supportdesk.accounts.models import User
from supportdesk.notifications.models import Notification

UNREAD_CAP = 99


def unread_count(user: User) -> int:
    """Unread notifications, counted up to 100 (the badge shows 99+)."""
    return (
        Notification.objects.filter(recipient=user, read_at__isnull=True)
        .order_by()[: UNREAD_CAP + 1]
        .count()
    )
