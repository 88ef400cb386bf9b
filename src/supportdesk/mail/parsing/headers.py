"""Header values: decoding, addresses, dates and Message-IDs.

Every function here is total: hostile or malformed input gives an empty or None result, never an
exception.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime

from supportdesk.mail.parsing.charsets import decode_header_bytes
from supportdesk.mail.parsing.model import Address

_SURROGATES = re.compile("[\udc80-\udcff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAK = re.compile(r"[\r\n]")
_BRACKETED = re.compile(r"<([^<>]*)>")
_WHITESPACE = re.compile(r"\s+")

# RFC 5322 caps a line at 998 characters; a Message-ID longer than that is garbage.
MAX_MESSAGE_ID_LENGTH = 998
# References can grow without bound on long threads; keep the first and the most recent ones.
MAX_REFERENCES = 100


def repair_raw_header(value: str, charset_hints: tuple[str, ...] = ()) -> str:
    """Unfold a raw header value and decode any 8-bit bytes smuggled in as surrogate escapes.

    The stdlib parser keeps undecodable header bytes as lone surrogates; `policy.default` then turns
    them into U+FFFD. Decoding them ourselves recovers Latin-1 or Shift_JIS subjects and names.
    """
    value = _LINE_BREAK.sub("", _FOLD.sub("", value))
    if _SURROGATES.search(value):
        raw = value.encode("utf-8", errors="surrogateescape")
        value = decode_header_bytes(raw, charset_hints)
    return value


def decode_header_value(name: str, raw: str, charset_hints: tuple[str, ...] = ()) -> str:
    """Decode RFC 2047 encoded words and raw 8-bit bytes of one header value to plain text."""
    value = repair_raw_header(raw, charset_hints)
    if "=?" not in value:
        # Nothing encoded: the (slow) structured header parser would only re-space it.
        return _CONTROL.sub(" ", _SURROGATES.sub("\ufffd", value)).strip()
    try:
        decoded = str(policy.default.header_factory(name, value))
    except Exception:
        try:
            decoded = str(make_header(decode_header(value)))
        except Exception:
            decoded = value
    if _SURROGATES.search(decoded):
        decoded = _SURROGATES.sub("\ufffd", decoded)
    return _CONTROL.sub(" ", decoded).strip()


def parse_addresses(raw: str, charset_hints: tuple[str, ...] = ()) -> tuple[Address, ...]:
    """The mailboxes of an address-list header (From, To, Cc, Reply-To...), groups flattened."""
    value = repair_raw_header(raw, charset_hints)
    found: list[Address] = []
    try:
        header = policy.default.header_factory("to", value)
        for item in getattr(header, "addresses", ()):
            found.append(Address(name=str(item.display_name), address=str(item.addr_spec)))
    except Exception:
        found = []
        try:
            pairs = getaddresses([value])
        except Exception:
            pairs = []
        found = [Address(name=name, address=addr) for name, addr in pairs]
    clean: list[Address] = []
    for item in found:
        address = _CONTROL.sub("", item.address).strip()
        if address in {"", "<>"}:
            continue
        name = _CONTROL.sub(" ", _SURROGATES.sub("\ufffd", item.name)).strip()
        clean.append(Address(name=name, address=address))
    return tuple(clean)


def parse_date(raw: str) -> datetime | None:
    """A tz-aware datetime, or None. `-0000` (zone unknown) is read as UTC, per RFC 5322."""
    value = _CONTROL.sub(" ", repair_raw_header(raw)).strip()
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def normalise_message_id(value: str | None) -> str | None:
    """The canonical `<id>` form of a Message-ID (the first one in `value`), or None.

    Whitespace inside the brackets (left by folding) is removed; a bare `local@domain` gets its
    brackets back. Case is kept: Message-IDs are compared exactly.
    """
    if not value:
        return None
    value = _CONTROL.sub("", value)
    match = _BRACKETED.search(value)
    if match is not None:
        inner = _WHITESPACE.sub("", match.group(1))
    else:
        tokens = value.split()
        inner = tokens[0] if tokens else ""
        if "@" not in inner:
            return None
        inner = inner.strip("<>")
    if not inner or len(inner) + 2 > MAX_MESSAGE_ID_LENGTH:
        return None
    return f"<{inner}>"


def message_ids(value: str | None) -> tuple[str, ...]:
    """All Message-IDs in a References-style header, normalised, de-duplicated, in order."""
    if not value:
        return ()
    inners = _BRACKETED.findall(value)
    if not inners:  # some software drops the brackets
        inners = [token for token in re.split(r"[\s,]+", value) if "@" in token]
    found: list[str] = []
    seen: set[str] = set()
    for inner in inners:
        normalised = normalise_message_id(f"<{inner}>")
        if normalised is not None and normalised not in seen:
            seen.add(normalised)
            found.append(normalised)
    if len(found) > MAX_REFERENCES:
        found = found[:1] + found[-(MAX_REFERENCES - 1) :]
    return tuple(found)


_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def make_message_id(domain: str) -> str:
    """A new globally unique Message-ID for outgoing mail: `<uuid4-hex@domain>`."""
    domain = domain.strip().strip(".")
    if not _DOMAIN.match(domain):
        raise ValueError(f"not a usable Message-ID domain: {domain!r}")
    return f"<{uuid.uuid4().hex}@{domain.lower()}>"
