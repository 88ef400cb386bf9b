"""The e-mail channel's settings, read in one place (docs/configuration.md lists them)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

from supportdesk.accounts.models import normalize_email


def support_address() -> str:
    return normalize_email(settings.SUPPORTDESK_SUPPORT_ADDRESS)


def mail_domain() -> str:
    """The domain of our Message-IDs: configured, else the support address's domain."""
    return settings.SUPPORTDESK_MAIL_DOMAIN or support_address().rpartition("@")[2] or "localhost"


def reply_token_keys() -> list[bytes]:
    """Keys that sign reply addresses, newest first (older ones still verify: key rotation).
    Without configured keys, one is derived from SECRET_KEY."""
    configured = [key.encode() for key in settings.SUPPORTDESK_MAIL_REPLY_TOKEN_KEYS if key]
    if configured:
        return configured
    derived = hmac.new(
        settings.SECRET_KEY.encode(), b"supportdesk.mail.reply-token", hashlib.sha256
    ).digest()
    return [derived]


def loop_header() -> str:
    return str(settings.SUPPORTDESK_MAIL_LOOP_HEADER)


def own_addresses(*extra: str) -> list[str]:
    """Every address that is ours: mail from them is mail from ourselves."""
    addresses = [
        settings.SUPPORTDESK_SUPPORT_ADDRESS,
        settings.DEFAULT_FROM_EMAIL,
        *settings.SUPPORTDESK_MAIL_OWN_ADDRESSES,
        *extra,
    ]
    seen: list[str] = []
    for address in addresses:
        value = normalize_email(address or "")
        if "<" in value:  # "Support <support@x>"
            value = value.rpartition("<")[2].rstrip(">").strip()
        if value and value not in seen:
            seen.append(value)
    return seen
