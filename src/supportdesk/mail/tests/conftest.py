"""Helpers for the e-mail channel's tests: store a message as the transport does, build mail."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from supportdesk.mail.models import InboundMessage
from supportdesk.mail.parsing import normalise_message_id

SUPPORT = "support@supportdesk.test"


def build_mail(
    *,
    sender: str = "alice@acme.test",
    to: str = SUPPORT,
    subject: str = "Search is down",
    body: str = "Nothing works since the upgrade.",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    html: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="mail.example")
    msg["Date"] = "Fri, 27 Nov 2026 09:00:00 +0000"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def build_dsn(*, original_message_id: str, recipient: str, status: str = "5.1.1") -> bytes:
    """A delivery status notification (RFC 3464) returning our mail `original_message_id` to
    `recipient`, as Postfix writes one."""
    diagnostic = f"smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.acme.test>\r\n"
        f"To: {SUPPORT}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.acme.test>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        "This is the mail system. Your message could not be delivered.\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.acme.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {SUPPORT}\r\nTo: {recipient}\r\nSubject: Re: [#1000] x\r\n"
        f"Message-ID: {original_message_id}\r\n"
        "\r\n--B--\r\n"
    ).encode()


def store(
    raw: bytes,
    *,
    channel: str = SUPPORT,
    envelope_from: str = "alice@acme.test",
    envelope_to: list[str] | None = None,
    dedupe_key: str | None = None,
) -> InboundMessage:
    """Store a message the way the transport does (raw bytes first, state received)."""
    from email import message_from_bytes

    message_id = normalise_message_id(message_from_bytes(raw).get("Message-ID")) or ""
    sha = hashlib.sha256(raw).hexdigest()
    return InboundMessage.objects.create(
        channel=channel,
        dedupe_key=dedupe_key or message_id or f"sha256:{sha}",
        message_id=message_id,
        source=InboundMessage.Source.LMTP,
        envelope_from=envelope_from,
        envelope_to=envelope_to or [channel],
        raw=raw,
        size=len(raw),
        sha256=sha,
    )


@pytest.fixture
def deliver(after_commit: Any) -> Callable[..., InboundMessage]:
    """Store and process one message, running the after-commit effects (mail sent)."""
    from supportdesk.mail.processing import process_inbound

    def run(raw: bytes, **kwargs: Any) -> InboundMessage:
        with after_commit():
            inbound = store(raw, **kwargs)
            process_inbound(inbound.pk)
        inbound.refresh_from_db()
        return inbound

    return run
