"""Subject lines: ticket references and reply/forward prefixes."""

from __future__ import annotations

import re

# How outgoing subjects name a ticket: "[#1042] Printer on fire". The parser also accepts the
# prefixed form "[SD-1042]" (prefix configurable) that some teams prefer.
TICKET_REFERENCE_FORMAT = "[#{ticket_id}]"
TICKET_REFERENCE_PREFIX = "SD"

_MAX_DIGITS = 12


def format_ticket_reference(ticket_id: int) -> str:
    return TICKET_REFERENCE_FORMAT.format(ticket_id=ticket_id)


def _reference_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(
        rf"\[\s*(?:#|{re.escape(prefix)}\s*[-#:]?\s*#?)\s*(\d{{1,{_MAX_DIGITS}}})\s*\]",
        re.IGNORECASE,
    )


_DEFAULT_REFERENCE = _reference_pattern(TICKET_REFERENCE_PREFIX)


def ticket_references(subject: str, *, prefix: str = TICKET_REFERENCE_PREFIX) -> tuple[int, ...]:
    """Ticket ids referenced in a subject, in order of appearance, without duplicates.

    Recognises `[#1042]` and `[SD-1042]` (also `[sd 1042]`, `[SD#1042]`). The threading code
    must still check that the sender may write to that ticket.
    """
    pattern = (
        _DEFAULT_REFERENCE if prefix == TICKET_REFERENCE_PREFIX else _reference_pattern(prefix)
    )
    found = (int(match.group(1)) for match in pattern.finditer(subject))
    return tuple(dict.fromkeys(found))


# Reply and forward markers in the languages mail clients localise them in, optionally counted
# ("Re[2]:", "Re(3):") and with a full-width colon.
_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|aw|wg|sv|vs|antw|antwort|réf|ref|tr|rv|enc|res|rif|r|odp|pd|ynt|ilt|"
    r"vá|fs|atb|továbbítás|απ|σχετ|преп|回复|回覆|答复|转发|轉寄|返信|転送)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)


def strip_reply_prefixes(subject: str) -> str:
    """`Re: AW: Fwd: Printer` → `Printer`; whitespace collapsed."""
    subject = " ".join(subject.split())
    while True:
        stripped = _PREFIX.sub("", subject, count=1)
        if stripped == subject:
            return subject
        subject = stripped
