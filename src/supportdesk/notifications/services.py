"""Creating notifications and emailing them, exactly once per dedupe key, with retries."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from supportdesk.accounts.models import User
from supportdesk.notifications.models import Notification
from supportdesk.tickets.models import Ticket

log = logging.getLogger(__name__)

# After a failed send, try again after these delays; then give up (the notification stays visible
# in the console either way).
EMAIL_RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=6),
)
CLAIM_SECONDS = 300


def notify(
    *,
    recipient: User,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    ticket: Ticket | None = None,
    dedupe_key: str | None = None,
    email: bool = True,
    deliver_after: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Notification | None:
    """Notify `recipient`. Returns None when a notification with `dedupe_key` exists already (so
    racing workers create exactly one). The email goes out after commit, or once `deliver_after`
    has passed (the redrive sweep picks it up)."""
    now = now or timezone.now()
    if dedupe_key and Notification.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    wants_email = (
        email
        and recipient.is_active
        and bool(recipient.email)
        and not recipient.email_disabled_reason
    )
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=recipient,
                kind=kind,
                title=title[:250],
                body=body,
                url=url,
                ticket=ticket,
                dedupe_key=dedupe_key,
                created_at=now,
                deliver_after=deliver_after or now,
                email_status=(
                    Notification.EmailStatus.PENDING
                    if wants_email
                    else Notification.EmailStatus.SKIPPED
                ),
            )
    except IntegrityError:
        if dedupe_key and Notification.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    if wants_email and notification.deliver_after <= now:
        from supportdesk.notifications.tasks import notification_email_task

        transaction.on_commit(lambda: notification_email_task.enqueue(notification.pk))
    return notification


def _absolute(url: str) -> str:
    return settings.SUPPORTDESK_SITE_URL + url if url.startswith("/") else url


def notification_email_send(notification_id: int, *, now: dt.datetime | None = None) -> bool:
    """Email one notification. Claims it first with a conditional UPDATE, so two workers never
    send the same one; safe to call again for a sent, skipped or not-yet-due notification."""
    now = now or timezone.now()
    claimed = (
        Notification.objects.filter(
            pk=notification_id,
            email_status=Notification.EmailStatus.PENDING,
            deliver_after__lte=now,
        )
        .filter(Q(email_claimed_until__isnull=True) | Q(email_claimed_until__lt=now))
        .update(
            email_status=Notification.EmailStatus.SENDING,
            email_claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS),
            email_attempts=F("email_attempts") + 1,
        )
    )
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    recipient = notification.recipient
    if not recipient.is_active or recipient.email_disabled_reason:
        notification.email_status = Notification.EmailStatus.SKIPPED
        notification.save(update_fields=["email_status"])
        return False
    body = notification.body
    if notification.url:
        body = f"{body}\n\n{_absolute(notification.url)}" if body else _absolute(notification.url)
    message = EmailMessage(
        subject=notification.title,
        body=body + "\n\n-- \nYou get this because of your role in supportdesk.\n",
        to=[recipient.email],
        headers={
            "Auto-Submitted": "auto-generated",
            # The same loop header as ticket mail (supportdesk.mail), so replies to it are ours.
            settings.SUPPORTDESK_MAIL_LOOP_HEADER: settings.SUPPORTDESK_SITE_URL,
            "X-Supportdesk-Notification": notification.kind,
        },
    )
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # any transport error: retry later, keep the reason
        log.warning("Emailing notification %s failed: %s", notification_id, exc)
        attempt = notification.email_attempts
        if attempt > len(EMAIL_RETRY_DELAYS):
            notification.email_status = Notification.EmailStatus.FAILED
        else:
            notification.email_status = Notification.EmailStatus.PENDING
            notification.deliver_after = now + EMAIL_RETRY_DELAYS[attempt - 1]
        notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        notification.email_claimed_until = None
        notification.save(
            update_fields=["email_status", "deliver_after", "last_error", "email_claimed_until"]
        )
        return False
    notification.email_status = Notification.EmailStatus.SENT
    notification.emailed_at = now
    notification.email_claimed_until = None
    notification.save(update_fields=["email_status", "emailed_at", "email_claimed_until"])
    return True


def notifications_redrive(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Periodic repair: email what is due (quiet hours over, a retry due) and release claims of a
    worker that died while sending. Returns how many it enqueued."""
    from supportdesk.notifications.tasks import notification_email_task

    now = now or timezone.now()
    Notification.objects.filter(
        email_status=Notification.EmailStatus.SENDING, email_claimed_until__lt=now
    ).update(email_status=Notification.EmailStatus.PENDING, email_claimed_until=None)
    due = list(
        Notification.objects.filter(
            email_status=Notification.EmailStatus.PENDING, deliver_after__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        notification_email_task.enqueue(pk)
    return len(due)


def notifications_mark_read(
    *, recipient: User, ids: list[int] | None = None, now: dt.datetime | None = None
) -> int:
    """Mark the recipient's notifications read (all unread ones when `ids` is None)."""
    unread = Notification.objects.filter(recipient=recipient, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=now or timezone.now())
