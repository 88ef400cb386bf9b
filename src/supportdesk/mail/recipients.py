"""Which recipients are ours, and which support address (the *channel*) each one reaches.

`support+TOKEN@example.com` reaches the channel `support@example.com`: the plus-address token
threads a reply into its ticket, but the message belongs to the support address it was sent to.
"""

from __future__ import annotations

from django.conf import settings


def strip_subaddress(address: str) -> str:
    """`Support+Tag@Example.COM` -> `support@example.com` (lower-cased, `+tag` removed)."""
    address = address.strip().strip("<>").lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local.split('+', 1)[0]}@{domain}"


def recipient_channel(address: str) -> str | None:
    """The channel a recipient address belongs to, or None when it is not one of ours.

    Ours: a support address (`SUPPORTDESK_MAIL_ADDRESSES`, any `+tag`), or any address at a
    support domain (`SUPPORTDESK_MAIL_DOMAINS`). With `SUPPORTDESK_MAIL_REFUSE_UNKNOWN_RECIPIENTS`
    off, every address is accepted as its own channel."""
    channel = strip_subaddress(address)
    if "@" not in channel or channel.startswith("@") or channel.endswith("@"):
        return None
    if channel in settings.SUPPORTDESK_MAIL_ADDRESSES:
        return channel
    if channel.rpartition("@")[2] in settings.SUPPORTDESK_MAIL_DOMAINS:
        return channel
    if not settings.SUPPORTDESK_MAIL_REFUSE_UNKNOWN_RECIPIENTS:
        return channel
    return None
