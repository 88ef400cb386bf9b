"""Django-free e-mail parsing and classification for the e-mail channel.

Everything here is pure Python on the standard library's `email` package (plus nh3,
charset-normalizer and mail-parser-reply); an import-linter contract keeps Django out. The
Django side stores the raw bytes first, then calls:

    parsed = parse_message(raw, cid_url=lambda cid: f"/attachments/{message.pk}/cid/{cid}")
    bounce = detect_bounce(parsed)            # a delivery failure? attach to its ticket
    allowed, why = should_auto_reply(parsed, own_addresses=[...])
    ticket_id = ticket_id_from_addresses([...recipients...], keys=[settings key])
"""

from supportdesk.mail.parsing.bounces import (
    DELAYED,
    FAILED,
    BouncedRecipient,
    BounceReport,
    FeedbackReport,
    detect_bounce,
    detect_feedback_report,
    is_hard_bounce,
)
from supportdesk.mail.parsing.charsets import DecodedText, decode_bytes
from supportdesk.mail.parsing.filenames import sanitise_filename
from supportdesk.mail.parsing.headers import (
    make_message_id,
    message_ids,
    normalise_message_id,
    parse_addresses,
)
from supportdesk.mail.parsing.html import html_to_text, rewrite_cid_references, sanitise_html
from supportdesk.mail.parsing.loops import (
    DEFAULT_LOOP_HEADER,
    Automatic,
    AutomaticReason,
    automatic_reason,
    should_auto_reply,
)
from supportdesk.mail.parsing.message import parse_message
from supportdesk.mail.parsing.model import Address, Attachment, MimePart, ParsedMail
from supportdesk.mail.parsing.quotes import (
    REPLY_SEPARATOR,
    ExtractedReply,
    extract_reply,
    extract_reply_from_html,
    strip_signature,
)
from supportdesk.mail.parsing.subjects import (
    TICKET_REFERENCE_FORMAT,
    TICKET_REFERENCE_PREFIX,
    format_ticket_reference,
    strip_reply_prefixes,
    ticket_references,
)
from supportdesk.mail.parsing.tokens import (
    reply_address,
    sign_reply_token,
    ticket_id_from_addresses,
    token_from_address,
    verify_reply_token,
)

__all__ = [
    "DEFAULT_LOOP_HEADER",
    "DELAYED",
    "FAILED",
    "REPLY_SEPARATOR",
    "TICKET_REFERENCE_FORMAT",
    "TICKET_REFERENCE_PREFIX",
    "Address",
    "Attachment",
    "Automatic",
    "AutomaticReason",
    "BounceReport",
    "BouncedRecipient",
    "DecodedText",
    "ExtractedReply",
    "FeedbackReport",
    "MimePart",
    "ParsedMail",
    "automatic_reason",
    "decode_bytes",
    "detect_bounce",
    "detect_feedback_report",
    "extract_reply",
    "extract_reply_from_html",
    "format_ticket_reference",
    "html_to_text",
    "is_hard_bounce",
    "make_message_id",
    "message_ids",
    "normalise_message_id",
    "parse_addresses",
    "parse_message",
    "reply_address",
    "rewrite_cid_references",
    "sanitise_filename",
    "sanitise_html",
    "should_auto_reply",
    "sign_reply_token",
    "strip_reply_prefixes",
    "strip_signature",
    "ticket_id_from_addresses",
    "ticket_references",
    "token_from_address",
    "verify_reply_token",
]
