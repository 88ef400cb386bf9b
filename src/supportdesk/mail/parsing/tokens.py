"""Signed reply tokens for plus-addressed Reply-To headers (`support+TOKEN@example.com`).

A token is the ticket id in base 36 followed by a truncated HMAC-SHA256 of it in lowercase
base 32: only `[0-9a-z]`, so it survives MTAs and clients that lowercase local parts, and needs no
separator that a mail system could treat as a sub-address delimiter. 60 bits of MAC make online
guessing hopeless while keeping addresses short: ticket 1042 is `sy` plus 12 MAC characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

TOKEN_MAC_LENGTH = 12  # base-32 characters, 60 bits
_DOMAIN_SEPARATION = b"supportdesk:reply-token:v1:"
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_TOKEN = re.compile(rf"^[0-9a-z]{{1,13}}[a-z2-7]{{{TOKEN_MAC_LENGTH}}}$")
MAX_TICKET_ID = 36**13 - 1


def _base36(number: int) -> str:
    digits = []
    while True:
        number, remainder = divmod(number, 36)
        digits.append(_ALPHABET[remainder])
        if number == 0:
            return "".join(reversed(digits))


def _mac(ticket_id: int, key: bytes) -> str:
    digest = hmac.new(key, _DOMAIN_SEPARATION + str(ticket_id).encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:TOKEN_MAC_LENGTH]


def sign_reply_token(ticket_id: int, key: bytes) -> str:
    """The reply token for `ticket_id` under `key` (keep the key secret and at least 32 bytes)."""
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
        raise TypeError("ticket_id must be an int")
    if not 0 <= ticket_id <= MAX_TICKET_ID:
        raise ValueError("ticket_id out of range")
    if not key:
        raise ValueError("an empty key signs nothing")
    return _base36(ticket_id) + _mac(ticket_id, key)


def verify_reply_token(token: str, key: bytes) -> int | None:
    """The ticket id a token was signed for, or None if it is malformed or not signed by `key`.

    Case-insensitive. To rotate keys, try the current key and then the previous ones.
    """
    if not key or not isinstance(token, str):
        return None
    token = token.strip().casefold()
    if not _TOKEN.match(token):
        return None
    id_part, mac = token[:-TOKEN_MAC_LENGTH], token[-TOKEN_MAC_LENGTH:]
    if len(id_part) > 1 and id_part.startswith("0"):
        return None  # one ticket, one token: no zero-padded spellings
    ticket_id = int(id_part, 36)
    if not hmac.compare_digest(mac, _mac(ticket_id, key)):
        return None
    return ticket_id


def reply_address(address: str, token: str, *, delimiter: str = "+") -> str:
    """`support@example.com` + token → `support+token@example.com`."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an e-mail address: {address!r}")
    local = local.split(delimiter, 1)[0]
    return f"{local}{delimiter}{token}@{domain}"


def token_from_address(address: str, *, delimiter: str = "+") -> str | None:
    """The sub-address of a plus-address (lowercased), or None. Accepts `Name <addr>` forms."""
    match = re.search(r"<([^<>]*)>", address)
    bare = (match.group(1) if match else address).strip()
    local, at, _ = bare.rpartition("@")
    if not at or delimiter not in local:
        return None
    token = local.split(delimiter, 1)[1].strip().casefold()
    return token or None


def ticket_id_from_addresses(addresses: list[str], keys: list[bytes]) -> int | None:
    """The ticket id of the first address carrying a valid token under any of `keys`."""
    for address in addresses:
        token = token_from_address(address)
        if token is None:
            continue
        for key in keys:
            ticket_id = verify_reply_token(token, key)
            if ticket_id is not None:
                return ticket_id
    return None
