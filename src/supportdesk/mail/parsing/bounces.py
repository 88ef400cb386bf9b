"""Recognising bounces (non-delivery reports) and reading them.

Three sources, tried in order:

1. RFC 3464 delivery status notifications: a `message/delivery-status` part (normally inside
   `multipart/report; report-type=delivery-status`), read field by field per recipient.
2. Amazon SES notifications relayed by SNS e-mail: a JSON body with `notificationType: Bounce`.
3. The many non-standard formats (qmail, Exim, Gmail, Exchange, Yahoo, Japanese carriers...): a
   message that comes from a mail system (MAILER-DAEMON/postmaster sender or null return path;
   or a bounce subject such as "Undelivered Mail Returned to Sender" together with a sign that
   software wrote it) *and* says in its own text that delivery failed (phrases, SMTP error
   replies). Recipients are the addresses the notification names, each with the status codes
   found after it, or else the recipients of the returned message.

`hard` demands explicit evidence that the address is gone: wrongly stopping mail to a working
customer address is worse than one more attempt at a dead one.

ARF feedback reports (`report-type=feedback-report`), read receipts, delivery *success*
notifications and vacation auto-replies are not bounces; `detect_feedback_report` reads the first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from supportdesk.mail.parsing.headers import normalise_message_id
from supportdesk.mail.parsing.model import ParsedMail

FAILED = "failed"
DELAYED = "delayed"


@dataclass(frozen=True)
class BouncedRecipient:
    """One recipient a bounce reports on.

    `status` is the RFC 3463 enhanced status code ("5.1.1") when the report gives one,
    `smtp_code` the SMTP reply code ("550"). `hard` means the address itself is unusable (unknown
    user, unknown domain, mailbox gone): mail to it should stop. Full mailboxes, spam filters,
    policy rejections and delays are soft.
    """

    address: str
    action: str  # FAILED or DELAYED
    status: str | None
    smtp_code: str | None
    diagnostic: str
    remote_mta: str | None
    hard: bool


@dataclass(frozen=True)
class BounceReport:
    recipients: tuple[BouncedRecipient, ...]
    original_message_id: str | None  # Message-ID of the returned message, `<...>` form
    original_subject: str | None
    source: str  # "dsn" (RFC 3464), "ses" (Amazon SES JSON) or "text" (non-standard formats)

    @property
    def delayed_only(self) -> bool:
        """True for a delay warning: delivery is still being retried, nothing failed yet."""
        return bool(self.recipients) and all(r.action == DELAYED for r in self.recipients)

    @property
    def hard_bounced(self) -> tuple[str, ...]:
        """Addresses that bounced permanently (lowercased): stop sending to them."""
        return tuple(
            dict.fromkeys(r.address.casefold() for r in self.recipients if r.hard and r.address)
        )


@dataclass(frozen=True)
class FeedbackReport:
    """An ARF (RFC 5965) feedback report: a recipient complained about a message we sent."""

    feedback_type: str  # "abuse", "fraud", "opt-out", "auth-failure", "other"...
    original_recipient: str | None
    original_mail_from: str | None
    original_message_id: str | None
    user_agent: str | None


# Status codes and replies -----------------------------------------------------------------------

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_FAILURE_STATUS = re.compile(r"(?<![\d.])([45])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_SMTP_CODE = re.compile(r"(?<![\d.#-])([245][0-5]\d)(?=[ \-](?![\d.]*\d{2,}[/.:-]\d))")
_FAILURE_SMTP_CODE = re.compile(r"(?<![\d.#-])([45][0-5]\d)(?=[ \-:](?![\d.]*\d{2,}[/.:-]\d))")
_EMAIL = re.compile(
    r"(?<![\w.+%-])([A-Za-z0-9][A-Za-z0-9._%+=!#$&'*/?^`{|}~-]{0,63}@"
    r"(?:\[[0-9.:A-Fa-f]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+))"
)

# An SMTP error reply with an enhanced status code: "550 5.1.1", "451-4.3.0".
_SMTP_ERROR_REPLY = re.compile(r"(?<![\d.])[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}(?![\d.]*\d)")

# Enhanced status codes whose subject is the address itself (RFC 3463: X.1.1 bad mailbox,
# X.1.2 bad system, X.1.3 bad syntax, X.1.6 moved, X.1.10 null MX).
_HARD_STATUSES = frozenset({"5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10"})
_ADDRESS_GONE = re.compile(
    r"user unknown|unknown user|no such (?:user|mailbox|recipient|address|account|domain)|"
    r"(?:mailbox|user|recipient|address|account|e-?mail address)\s+(?:\S+\s+){0,3}"
    r"(?:does not|doesn't|did not|didn't)\s+exist|"
    r"(?:does not|doesn't) have an? (?:\S+ )?(?:account|mailbox)|(?:user|mailbox) not exist|"
    r"unknown (?:recipient|address|mailbox|local[- ]part|account)|"
    r"recipient (?:unknown|not found|does not exist)|"
    r"invalid (?:final delivery )?(?:recipient|mailbox|address|user(?:id)?)|"
    r"(?:user|mailbox|address|recipient|account) not found|not a valid (?:mailbox|user|recipient)|"
    r"no mailbox here|bad destination mailbox|address (?:couldn't|could not)"
    r" be found|wasn't found at the destination|unrouteable address|host unknown|unknown host|"
    r"host not found|domain (?:name )?(?:not found|does not exist)|name service error|"
    r"no mx record|non-?existent|not listed in (?:the )?(?:\w+ )?directory|"
    r"recipient rejected: user|"
    r"address(?:ee)? unknown|account (?:has been )?(?:deleted|removed|closed)|"
    r"no longer (?:active|valid|exists|available)",
    re.IGNORECASE,
)

_AFTER_DATA = re.compile(
    r"after end of data|after data|(?:end of )?data command|smtp command:? data|"
    r"in reply to end of data",
    re.IGNORECASE,
)

# The notification says delivery failed (or is being retried).
_FAILURE_PHRASES = re.compile(
    r"could ?n[o']t be delivered|can ?n[o']t be delivered|(?:was|were|has|have) not (?:been )?"
    r"delivered|wasn't delivered|not been delivered|unable to deliver|not able to deliver|"
    r"wasn't able to deliver|could not deliver|couldn't deliver|failed to deliver|"
    r"undeliverable|undelivered|delivery (?:has |to the following [\w() ]+ )?failed|"
    r"failed permanently|permanent (?:error|failure|fatal)|fatal errors?|delivery failure|"
    r"delivery status notification|returned mail|mail delivery failed|failure notice|"
    r"following (?:address(?:es|\(es\))?|recipients?(?:\(s\))?)\s+(?:failed|had)|"
    r"did not reach|could not be reached|cannot be reached|message could not be sent|"
    r"message not delivered|not delivered to|non-?delivery|returned to sender|"
    r"mail system error|message (?:was |has been )?rejected|unknown host|failed addresses|"
    r"no valid recipients|mail failed|transcript of (?:the )?session|"
    r"(?:user|mailbox|recipient|address) (?:unknown|unavailable|not found|is full)|"
    r"unknown (?:user|recipient)|no such (?:user|mailbox|recipient)|over quota|quota exceeded|"
    r"mailbox (?:is )?full|does not exist|host unknown|relay(?:ing)? (?:access )?denied|"
    r"delayed mail|message (?:is )?delayed|delivery (?:is |has been )?delayed|"
    r"will (?:continue to )?retry|still being retried|not yet been delivered|"
    r"konnte nicht zugestellt|unzustellbar|nicht zugestellt|n'a pas pu être (?:remis|distribué)|"
    r"non remis|no se (?:pudo|ha podido) entregar|não (?:pôde|foi) ser entregue|"
    r"не (?:может быть )?доставлен|не доставлено|送信できませんでした|配信できません|"
    r"届きませんでした|送信先のメールボックス|送達できません|無法傳遞|投递失败|退信",
    re.IGNORECASE,
)
_DELAY_PHRASES = re.compile(
    r"delayed mail|\bdelay(?:ed)?\b.{0,40}\b(?:retry|retried|deliver)|will (?:continue to )?retry|"
    r"still being retried|has not yet been delivered|not yet been delivered|"
    r"warning: (?:message|could not send)|delivery status notification \(delay\)|"
    r"will keep trying|temporarily deferred|is delayed|\(delay\)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|return(?:ed|ing)? to sender|mail failed|"
    r"delivery (?:status )?notification|delivery (?:failure|failed|problem|report|status)|"
    r"mail delivery|"
    r"failure notice|delivery has failed|non[- ]?delivery|could not be delivered|"
    r"mail system error|mail failure|delivery error|permanent delivery failure|"
    r"delayed mail|warning: (?:message|could not send)|there was an error sending|"
    r"メッセージを配信できません|メールエラー|不達|не доставлено|unzustellbar|"
    r"nicht zustellbar|non remis|no entregado|não entregue|mail could not be delivered",
    re.IGNORECASE,
)
_DAEMON_LOCAL_PART = re.compile(
    r"^(?:mailer[-_.]?daemon|mail[-_.]?daemon|post[-_.]?master|poostmaster|"
    r"mail[-_.]?delivery[-_.]?(?:system|subsystem)|double[-_.]?bounce|mmsc|mdaemon|"
    r"mailerdaemon|bounce[-_.]?(?:handler|processor)?)(?:[+@]|$)",
    re.IGNORECASE,
)
_DAEMON_NAME = re.compile(
    r"mail(?:er)?[- ._]?(?:daemon|deliver\w*[- ._](?:system|subsystem))|post[- _]?master|"
    r"mail administrator|ndr administrator|system administrator|delivery subsystem",
    re.IGNORECASE,
)
_NO_REPLY = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)(?:[+@]|$)", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(?:re|fwd?|aw|wg|sv|vs|tr|rv|enc)\s*(?:\[\d+\])?\s*:", re.I)

# Where the copy of the returned message starts inside a text-only bounce.
_RETURNED_MESSAGE_START = re.compile(
    r"^[\s-]*(?:-{2,}.*(?:copy of|original message|returned message|message follows|"
    r"undelivered message|headers? of (?:the|your) (?:original )?message|message header)|"
    r"below this line is a copy|original message headers|the original message (?:was|is)|"
    r"-{3,}\s*original message|------ this is a copy|----- original message|"
    r"original message follows|text of the message follows|"
    r"\*\*\* ?original message|unsent message below|(?:return-path|received|dkim-signature|"
    r"delivered-to|x-original-to|message-id)\s*:)",
    re.IGNORECASE | re.MULTILINE,
)
_MESSAGE_ID_LINE = re.compile(
    r"^[ \t>]*(?:x-original-)?message-id\s*:\s*(<[^<>\s]+>|\S+@\S+)", re.IGNORECASE | re.MULTILINE
)
_SUBJECT_LINE = re.compile(r"^[ \t>]*subject\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_HEADER_LIKE_LINE = re.compile(
    r"^\s*(?:from|to|cc|sent|date|subject|reply-to|return-path|reporting-mta|received|"
    r"x-[\w-]+|arrival-date|envelope-id|original-envelope-id|message-id)\s*:",
    re.IGNORECASE,
)
_RETURNED_TYPES = frozenset(
    {
        "message/rfc822",
        "message/global",
        "text/rfc822-headers",
        "message/rfc822-headers",
        "message/global-headers",
    }
)
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_DSN_FIELD = re.compile(r"^final-recipient\s*:", re.IGNORECASE | re.MULTILINE)
# Addresses in these contexts are senders or paths, not failed recipients.
_NOT_RECIPIENT_CONTEXT = re.compile(
    r"(?:mail from|envelope-from|from|sender|return-path|reply-to|endpoint)\s*[:=]?\s*<?\s*$|"
    r"[/?&=]$",
    re.IGNORECASE,
)
_TO_LINE = re.compile(r"^(?:to|x-original-to|delivered-to)\s*:(.*)$", re.IGNORECASE | re.MULTILINE)


# Entry points -----------------------------------------------------------------------------------


def detect_bounce(parsed: ParsedMail) -> BounceReport | None:
    """The bounce report in `parsed`, or None if it is not a bounce (or delay warning)."""
    if parsed.report_type in {"feedback-report", "disposition-notification"}:
        return None
    if detect_feedback_report(parsed) is not None:
        return None
    dsn = _from_delivery_status(parsed)
    if dsn is not None:
        return dsn if dsn.recipients else None
    ses = _from_amazon_ses(parsed)
    if ses is not None:
        return ses if ses.recipients else None
    return _from_text(parsed)


def detect_feedback_report(parsed: ParsedMail) -> FeedbackReport | None:
    """The feedback report in `parsed` (a spam complaint or opt-out), or None.

    Reads ARF (RFC 5965, `message/feedback-report`) and Microsoft's JMRP complaints, which
    enclose the reported message with an `X-HmXmrOriginalRecipient` header instead.
    """
    report = next(
        (part for part in parsed.parts if part.content_type == "message/feedback-report"), None
    )
    if report is not None and report.text is not None:
        fields = _fields(report.text)
        return FeedbackReport(
            feedback_type=(fields.get("feedback-type") or "other").strip().casefold(),
            original_recipient=_address_value(fields.get("original-rcpt-to")),
            original_mail_from=_address_value(fields.get("original-mail-from")),
            original_message_id=_original_message_id(parsed),
            user_agent=fields.get("user-agent"),
        )
    for part in parsed.parts:
        if part.content_type in _RETURNED_TYPES and not part.embedded and part.text:
            fields = _fields(part.text)
            if "x-hmxmroriginalrecipient" in fields:
                return FeedbackReport(
                    feedback_type="abuse",
                    original_recipient=_address_value(fields["x-hmxmroriginalrecipient"]),
                    original_mail_from=_address_value(fields.get("from")),
                    original_message_id=normalise_message_id(fields.get("message-id")),
                    user_agent=None,
                )
    return None


# RFC 3464 ---------------------------------------------------------------------------------------


def _fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        if line[:1] in {" ", "\t"} and name is not None:
            fields[name] = f"{fields[name]} {line.strip()}"
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            name = key.strip().casefold()
            fields.setdefault(name, value.strip())
    return fields


def _address_value(value: str | None) -> str | None:
    if not value:
        return None
    value = value.split(";", 1)[-1].strip()
    match = _EMAIL.search(value)
    if match:
        return match.group(1)
    return value.strip("<> ") or None


def _recipient_blocks(text: str) -> list[dict[str, str]]:
    """Per-recipient field blocks of a delivery-status body. A new block starts at a blank line
    or, for reports that omit blank lines, at a recipient field that is already set."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    name: str | None = None

    def flush() -> None:
        nonlocal current
        if any(key in current for key in ("final-recipient", "original-recipient", "action")):
            blocks.append(current)
        current = {}

    for line in text.splitlines():
        if not line.strip():
            flush()
            name = None
            continue
        if line[:1] in {" ", "\t"} and name is not None and name in current:
            current[name] = f"{current[name]} {line.strip()}"
            continue
        key, sep, value = line.partition(":")
        key = key.strip().casefold()
        if not sep or not key or " " in key:
            continue
        if key in {"final-recipient", "original-recipient"} and key in current:
            flush()
        name = key
        current.setdefault(key, value.strip())
    flush()
    return blocks


def _status_of(text: str | None) -> str | None:
    if not text:
        return None
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else None


def _smtp_code_of(text: str | None) -> str | None:
    if not text:
        return None
    match = _SMTP_CODE.search(text)
    return match.group(1) if match else None


_SUCCESS = "success"


def _normalise_action(action: str | None, status: str | None) -> str | None:
    """FAILED, DELAYED, _SUCCESS, or None when neither the action nor the status says."""
    words = (action or "").strip().casefold().split()
    value = words[0] if words else ""
    if value.startswith(("delay", "defer", "queued", "retry")):
        return DELAYED
    if value.startswith(("deliver", "relay", "expand", "success")):
        return _SUCCESS
    if value.startswith(("fail", "undeliverable", "error", "bounce", "expired", "reject")):
        return FAILED
    # No or a non-standard action word: go by the status class.
    if status and status[0] == "4":
        return DELAYED
    if status and status[0] == "2":
        return _SUCCESS
    if status or value:
        return FAILED
    return None


def is_hard_bounce(action: str, status: str | None, diagnostic: str) -> bool:
    """Whether a failure means the address itself is unusable (see `BouncedRecipient.hard`)."""
    if action != FAILED or (status is not None and not status.startswith("5")):
        return False
    if _AFTER_DATA.search(diagnostic):
        # "User unknown" answered to DATA, not to RCPT TO, is a content filter's excuse.
        return False
    if status in _HARD_STATUSES:
        return True
    return bool(_ADDRESS_GONE.search(diagnostic))


def _refine_status(status: str | None, diagnostic: str) -> str | None:
    """A generic `X.0.0` status refined by a more specific code of the same class in the
    diagnostic text ("Status: 5.0.0" with "550 5.7.1 blocked")."""
    specific = _status_of(diagnostic)
    if status is None:
        return specific
    if status.endswith(".0.0") and specific and specific[0] == status[0]:
        return specific
    return status


@dataclass
class _DsnReading:
    recipients: list[BouncedRecipient]
    blocks: int = 0  # recipient blocks found
    successes: int = 0  # of which report a delivery (2.x.x, delivered, relayed, expanded)


def _dsn_recipients(texts: list[str]) -> _DsnReading:
    """Failed or delayed recipients of RFC 3464 field blocks."""
    reading = _DsnReading(recipients=[])
    for text in texts:
        for block in _recipient_blocks(text):
            reading.blocks += 1
            diagnostic = " ".join((block.get("diagnostic-code") or "").split(";", 1)[-1].split())
            status = _refine_status(_status_of(block.get("status")), diagnostic)
            action = _normalise_action(block.get("action"), status)
            if (status and status.startswith("2")) or action == _SUCCESS:
                reading.successes += 1
                continue
            if action is None:
                continue  # neither an action nor a status: nothing to go by
            address = _address_value(block.get("final-recipient")) or _address_value(
                block.get("original-recipient")
            )
            reading.recipients.append(
                BouncedRecipient(
                    address=address or "",
                    action=action,
                    status=status,
                    smtp_code=_smtp_code_of(diagnostic),
                    diagnostic=diagnostic[:1000],
                    remote_mta=(block.get("remote-mta") or "").split(";", 1)[-1].strip() or None,
                    hard=is_hard_bounce(action, status, diagnostic),
                )
            )
    return reading


def _from_delivery_status(parsed: ParsedMail) -> BounceReport | None:
    texts = [part.text for part in parsed.parts if part.content_type in _DSN_TYPES and part.text]
    if parsed.report_type == "delivery-status":
        # Some MTAs label the delivery-status part text/plain.
        texts += [
            part.text
            for part in parsed.parts
            if part.content_type == "text/plain"
            and not part.embedded
            and part.text
            and _DSN_FIELD.search(part.text)
        ]
    if not texts:
        return None
    reading = _dsn_recipients(texts)
    if not reading.recipients and not reading.successes:
        return None  # no usable recipient block: let the text heuristics have a go
    return BounceReport(
        recipients=tuple(reading.recipients),
        original_message_id=_original_message_id(parsed),
        original_subject=_original_subject(parsed),
        source="dsn",
    )


# Amazon SES -------------------------------------------------------------------------------------


def _json_object(text: str) -> dict[str, object] | None:
    """The first JSON object in `text` (SNS wraps long lines; strict=False accepts the breaks)."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder(strict=False).raw_decode(text[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _from_amazon_ses(parsed: ParsedMail) -> BounceReport | None:
    text = parsed.text
    if "notificationType" not in text and "eventType" not in text:
        return None
    payload = _json_object(text)
    if payload is not None and isinstance(payload.get("Message"), str):
        payload = _json_object(str(payload["Message"]))  # an SNS envelope around the SES event
    if payload is None:
        return None
    kind = payload.get("notificationType") or payload.get("eventType")
    if kind not in {"Bounce", "Delivery", "Complaint", "Send", "Reject", "Open", "Click"}:
        return None
    mail = _mapping(payload.get("mail"))
    common = _mapping(mail.get("commonHeaders"))
    message_id = None
    headers = mail.get("headers")
    for header in headers if isinstance(headers, list) else []:
        if isinstance(header, dict) and str(header.get("name", "")).casefold() == "message-id":
            message_id = normalise_message_id(str(header.get("value", "")))
    message_id = message_id or normalise_message_id(str(common.get("messageId") or ""))
    subject = str(common["subject"]) if common.get("subject") else None
    recipients: list[BouncedRecipient] = []
    bounce = _mapping(payload.get("bounce"))
    permanent = str(bounce.get("bounceType", "")).casefold() == "permanent"
    bounced = bounce.get("bouncedRecipients") if kind == "Bounce" else None
    for item in bounced if isinstance(bounced, list) else []:
        if not isinstance(item, dict):
            continue
        diagnostic = str(item.get("diagnosticCode") or "")
        status = _status_of(str(item.get("status") or "")) or _status_of(diagnostic)
        action = FAILED if permanent or not (status or "").startswith("4") else DELAYED
        recipients.append(
            BouncedRecipient(
                address=str(item.get("emailAddress") or ""),
                action=action,
                status=status,
                smtp_code=_smtp_code_of(diagnostic),
                diagnostic=diagnostic[:1000],
                remote_mta=None,
                hard=permanent and is_hard_bounce(FAILED, status, diagnostic),
            )
        )
    return BounceReport(
        recipients=tuple(recipients),
        original_message_id=message_id,
        original_subject=subject,
        source="ses",
    )


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


# Non-standard formats ---------------------------------------------------------------------------


def _sender_is_mail_system(parsed: ParsedMail) -> bool:
    """MAILER-DAEMON, postmaster, "Mail Delivery Subsystem"..., or the null return path."""
    sender = parsed.from_address
    if sender is not None and _DAEMON_LOCAL_PART.match(sender.address):
        return True
    if _DAEMON_NAME.search(sender.name if sender is not None else parsed.header("from") or ""):
        return True
    return_path = parsed.return_path
    return return_path is not None and (
        return_path == "" or bool(_DAEMON_LOCAL_PART.match(return_path))
    )


def _machine_made(parsed: ParsedMail) -> bool:
    """Signs that software, not a person, wrote the message (besides a mail-system sender)."""
    if parsed.return_path == "":
        return True
    if any(
        value.split("(")[0].strip().casefold() not in {"", "no"}
        for value in parsed.header_values("auto-submitted")
    ):
        return True
    sender = parsed.from_address.address if parsed.from_address else ""
    if not sender.strip() or _NO_REPLY.match(sender):
        return True
    return any(part.content_type in _RETURNED_TYPES for part in parsed.parts)


def _notification_text(parsed: ParsedMail) -> str:
    """The mail system's own words: the body up to where the returned message is copied."""
    match = _RETURNED_MESSAGE_START.search(parsed.text)
    text = parsed.text[: match.start()] if match and match.start() > 0 else parsed.text
    return text[:20000]


def _from_text(parsed: ParsedMail) -> BounceReport | None:
    subject = parsed.subject
    subject_says_bounce = bool(_BOUNCE_SUBJECT.search(subject)) and not _REPLY_PREFIX.match(subject)
    from_mail_system = _sender_is_mail_system(parsed)
    if not from_mail_system and not (subject_says_bounce and _machine_made(parsed)):
        # A person may well write "your mail was undeliverable: 550 user unknown".
        return None
    notification = _notification_text(parsed)
    body_says_failed = bool(
        _FAILURE_PHRASES.search(notification) or _SMTP_ERROR_REPLY.search(notification)
    )
    if not body_says_failed and not (subject_says_bounce and from_mail_system):
        return None
    delayed = bool(_DELAY_PHRASES.search(subject) or _DELAY_PHRASES.search(notification))
    if re.search(r"permanent|fatal|given up|giving up|failed permanently", notification, re.I):
        delayed = False
    reading = _dsn_recipients([parsed.text] if _DSN_FIELD.search(parsed.text) else [])
    if reading.recipients:
        recipients = reading.recipients
    elif reading.successes:
        return None  # a delivery success report whose MIME structure was lost
    else:
        recipients = _recipients_from_text(parsed, notification, delayed)
    if not recipients:
        recipients = _returned_recipients(parsed, delayed)
    return BounceReport(
        recipients=tuple(recipients),
        original_message_id=_original_message_id(parsed),
        original_subject=_original_subject(parsed),
        source="text",
    )


def _own_addresses(parsed: ParsedMail) -> set[str]:
    """Addresses in a bounce that are not failed recipients: its sender and the original sender."""
    own = {a.normalised for a in (*parsed.to, *parsed.cc, *parsed.reply_to)}
    if parsed.from_address is not None:
        own.add(parsed.from_address.normalised)
    if parsed.return_path:
        own.add(parsed.return_path.casefold())
    return own


def _recipients_from_text(
    parsed: ParsedMail, notification: str, delayed: bool
) -> list[BouncedRecipient]:
    own = _own_addresses(parsed)
    lines = notification.splitlines()
    occurrences: list[tuple[int, str]] = []  # (line index, address)
    for index, line in enumerate(lines):
        if _HEADER_LIKE_LINE.match(line):
            continue
        for match in _EMAIL.finditer(line):
            address = match.group(1).rstrip(".")
            folded = address.casefold()
            if folded in own or _DAEMON_LOCAL_PART.match(address):
                continue
            if _NOT_RECIPIENT_CONTEXT.search(line[max(0, match.start() - 30) : match.start()]):
                continue
            occurrences.append((index, address))
    order: list[str] = []
    first_line: dict[str, int] = {}
    for index, address in occurrences:
        key = address.casefold()
        if key not in first_line:
            first_line[key] = index
            order.append(address)
    recipients = []
    starts = sorted(first_line.values())
    for address in order:
        start = first_line[address.casefold()]
        later = [line for line in starts if line > start]
        stop = min(later[0] if later else len(lines), start + 12)
        window = "\n".join(lines[start:stop])
        diagnostic = " ".join(window.split())[:1000]
        # A session transcript also shows the successful replies ("250 2.1.5 Ok").
        status_match = _FAILURE_STATUS.search(window)
        status = ".".join(status_match.groups()) if status_match else None
        code_match = _FAILURE_SMTP_CODE.search(window)
        smtp_code = code_match.group(1) if code_match else None
        action = DELAYED if delayed else FAILED
        recipients.append(
            BouncedRecipient(
                address=address,
                action=action,
                status=status,
                smtp_code=smtp_code,
                diagnostic=diagnostic,
                remote_mta=None,
                hard=is_hard_bounce(action, status, diagnostic),
            )
        )
    return recipients


_HEADER_FIELD = re.compile(r"^[!-9;-~]{1,76}:[ \t]")


def _header_block(text: str) -> str:
    """The first header block in `text`, skipping any introduction line before it."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines[:10]) if _HEADER_FIELD.match(line)), None)
    if start is None:
        return ""
    block = []
    for line in lines[start:]:
        if not line.strip():
            break
        block.append(line)
    return "\n".join(block)


def _returned_recipients(parsed: ParsedMail, delayed: bool) -> list[BouncedRecipient]:
    """When the notification names nobody: the recipients of the returned message itself."""
    texts = [
        part.text for part in parsed.parts if part.content_type in _RETURNED_TYPES and part.text
    ]
    match = _RETURNED_MESSAGE_START.search(parsed.text)
    if match:
        texts.append(parsed.text[match.start() :])
    own = _own_addresses(parsed)
    action = DELAYED if delayed else FAILED
    for text in texts:
        for line_match in _TO_LINE.finditer(_header_block(text or "")):
            addresses = [m.group(1) for m in _EMAIL.finditer(line_match.group(1))]
            found = [a for a in addresses if a.casefold() not in own]
            if found:
                return [
                    BouncedRecipient(
                        address=address,
                        action=action,
                        status=None,
                        smtp_code=None,
                        diagnostic="",
                        remote_mta=None,
                        hard=False,
                    )
                    for address in dict.fromkeys(found)
                ]
    return []


# The returned message ---------------------------------------------------------------------------


def _original_message_id(parsed: ParsedMail) -> str | None:
    """The Message-ID of the message a report returns: from the enclosed message or headers part
    (or, when a stray blank line pushed its headers into its body, from that body), else from a
    `Message-ID:` line in the copy pasted into the notification."""
    returned = [part for part in parsed.parts if part.content_type in _RETURNED_TYPES]
    candidates = [part.text for part in returned if part.text]
    candidates += [
        part.text for part in parsed.parts if part.embedded and part.depth <= 3 and part.text
    ]
    candidates += [parsed.text]
    candidates += [
        part.text
        for part in parsed.parts
        if part.text and not part.embedded and part.content_type not in _RETURNED_TYPES
    ]
    for text in candidates:
        for match in _MESSAGE_ID_LINE.finditer(text):
            found = normalise_message_id(match.group(1))
            if found:
                return found
    return None


def _original_subject(parsed: ParsedMail) -> str | None:
    for part in parsed.parts:
        if part.content_type in _RETURNED_TYPES and part.text:
            match = _SUBJECT_LINE.search(part.text)
            if match:
                return match.group(1).strip()
    return None
