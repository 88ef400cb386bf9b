"""`parse_message`: raw RFC 5322 bytes to a `ParsedMail`, for any input, without raising.

The stdlib parser with `policy.default` does the MIME work. Everything that can fail on hostile
input is guarded: a failing parse or build is retried with `compat32`, and if that fails too the
bytes are split into headers and body by hand. Whatever went wrong is listed in
`ParsedMail.defects`, next to the parser's own defect names.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser

from supportdesk.mail.parsing.charsets import codec_for, decode_bytes
from supportdesk.mail.parsing.filenames import sanitise_filename
from supportdesk.mail.parsing.headers import (
    decode_header_value,
    message_ids,
    normalise_message_id,
    parse_addresses,
    parse_date,
    repair_raw_header,
)
from supportdesk.mail.parsing.html import html_to_text, rewrite_cid_references, sanitise_html
from supportdesk.mail.parsing.model import Address, Attachment, MimePart, ParsedMail
from supportdesk.mail.parsing.quotes import extract_reply, extract_reply_from_html

# Bounds on hostile structure. Real mail stays far below them.
MAX_DEPTH = 24
MAX_PARTS = 1000
MAX_HEADERS = 1000
MAX_HEADER_LENGTH = 16 * 1024
MAX_DEFECTS = 100

_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_:.-]{1,40})""", re.I
)
_RAW_HEADER = re.compile(r"^([!-9;-~]{1,100})[ \t]*:(.*)$")
_CLEAN_TEXT = re.compile("[\x00\ud800-\udfff]")
_EMBEDDED_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})


def _clean(text: str) -> str:
    """Text safe to store anywhere (PostgreSQL rejects NUL; lone surrogates cannot be encoded)."""
    return _CLEAN_TEXT.sub(lambda m: "" if m.group(0) == "\x00" else "\ufffd", text)


def _clean_body(text: str) -> str:
    """Body text with `\n` line ends, whatever the transfer encoding left."""
    return _clean(text).replace("\r\n", "\n").replace("\r", "\n")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


@dataclass
class _Segment:
    """One piece of the body; a multipart/alternative contributes one segment with both forms."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)


@dataclass
class _Body:
    segments: list[_Segment] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    parts: list[MimePart] = field(default_factory=list)
    charsets: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def parse_message(raw: bytes, *, cid_url: Callable[[str], str] | None = None) -> ParsedMail:
    """Parse one raw message. Never raises, whatever the bytes.

    `cid_url(content_id)` returns the URL an inline image (`<img src="cid:...">`) should point to
    once stored; without it, `cid:` references are dropped by the sanitiser.
    """
    warnings: list[str] = []
    try:
        data = bytes(raw)
    except Exception as exc:
        return _empty([f"input is not bytes: {_describe(exc)}"])
    for name, parser_policy in (("default", policy.default), ("compat32", policy.compat32)):
        try:
            message = BytesParser(policy=parser_policy).parsebytes(data)
        except Exception as exc:
            warnings.append(f"parser ({name} policy) raised {_describe(exc)}")
            continue
        try:
            return _from_message(message, warnings, cid_url)
        except Exception as exc:
            warnings.append(f"reading the {name}-policy parse raised {_describe(exc)}")
    try:
        return _best_effort(data, warnings, cid_url)
    except Exception as exc:  # pragma: no cover - the best effort is itself total
        return _empty([*warnings, f"best-effort parse raised {_describe(exc)}"])


# The MIME tree ----------------------------------------------------------------------------------


def _safe_content_type(part: Message) -> str:
    try:
        return part.get_content_type().casefold()
    except Exception:
        return "application/octet-stream"


def _safe_param(part: Message, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except Exception:
        return None
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = value[2]
    return str(value) if value is not None else None


def _safe_disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:
        return None
    return value.casefold() if value else None


def _safe_filename(part: Message) -> str | None:
    try:
        value = part.get_filename()
    except Exception:
        return None
    return str(value) if value else None


def _raw_header(part: Message, name: str) -> str | None:
    try:
        for key, value in part.raw_items():
            if key.casefold() == name:
                return str(value)
    except Exception:
        return None
    return None


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        payload = part.get_payload()
    except Exception:
        return b""
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogateescape")
    return b""


def _headers_text(message: Message) -> str:
    lines = []
    try:
        items = list(message.raw_items())[:MAX_HEADERS]
    except Exception:
        return ""
    for name, value in items:
        lines.append(f"{name}: {decode_header_value(name, str(value))}")
    return "\n".join(lines)


def _report_text(part: Message) -> str:
    """The text of a message/* report part (delivery-status, feedback-report...).

    The stdlib parses message/delivery-status into one pseudo-message per field block, and other
    message/* types into a pseudo-message whose headers are the report fields.
    """
    try:
        payload = part.get_payload()
    except Exception:
        payload = None
    if isinstance(payload, list):
        blocks = []
        for block in payload:
            if isinstance(block, Message):
                text = _headers_text(block)
                body = block.get_payload() if not block.is_multipart() else None
                if isinstance(body, str) and body.strip():
                    text = f"{text}\n\n{body}" if text else body
                blocks.append(text)
        return "\n\n".join(blocks)
    return decode_bytes(_payload_bytes(part)).text


# Regenerating an enclosed message with compat32 writes its headers as received (policy.default
# would re-parse and refold every one of them: four times slower, and not more faithful).
_REGENERATE = policy.compat32.clone(mangle_from_=False)


def _message_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=_REGENERATE)
    except Exception:
        try:
            return message.as_string(policy=_REGENERATE).encode("utf-8", "surrogateescape")
        except Exception:
            return b""


def _walk(root: Message, warnings: list[str]) -> _Body:
    body = _Body()
    groups: dict[int, _Segment] = {}
    # (part, depth, inside an enclosed message, nearest multipart/alternative ancestor)
    stack: list[tuple[Message, int, bool, int | None]] = [(root, 0, False, None)]
    seen = 0
    while stack:
        part, depth, embedded, group = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            warnings.append(f"more than {MAX_PARTS} MIME parts; the rest were not read")
            break
        if depth > MAX_DEPTH:
            warnings.append(f"MIME nesting deeper than {MAX_DEPTH}; deeper parts were not read")
            continue
        body.defects.extend(type(defect).__name__ for defect in getattr(part, "defects", ()))
        content_type = _safe_content_type(part)
        maintype = content_type.partition("/")[0]
        charset = _safe_param(part, "charset")
        if charset:
            label = charset.strip().casefold()
            if label not in body.charsets:
                body.charsets.append(label)
        disposition = _safe_disposition(part)
        raw_filename = _safe_filename(part)
        try:
            payload = part.get_payload()
        except Exception:
            payload = None

        if maintype == "multipart" and isinstance(payload, list):
            body.parts.append(MimePart(content_type, depth, embedded, disposition))
            child_group = id(part) if content_type == "multipart/alternative" else group
            for child in reversed(payload):
                if isinstance(child, Message):
                    stack.append((child, depth + 1, embedded, child_group))
            continue

        if content_type in _EMBEDDED_MESSAGE_TYPES:
            inner: Message | None = None
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                inner = payload[0]
            else:  # an encoded enclosed message (against RFC 2046, but it happens)
                try:
                    inner = BytesParser(policy=root.policy).parsebytes(_payload_bytes(part))
                except Exception as exc:
                    warnings.append(f"enclosed message could not be parsed: {_describe(exc)}")
            if inner is None:
                continue
            body.parts.append(
                MimePart(
                    content_type,
                    depth,
                    embedded,
                    disposition,
                    raw_filename,
                    text=_headers_text(inner),
                )
            )
            if not embedded:
                name = raw_filename or (_subject_of(inner) + ".eml")
                body.attachments.append(
                    Attachment(
                        filename=sanitise_filename(name, content_type),
                        content_type=content_type,
                        content=_message_bytes(inner),
                        content_id=_content_id(part),
                        inline=disposition == "inline",
                    )
                )
            stack.append((inner, depth + 1, True, None))
            continue

        if maintype == "message" or maintype == "multipart":
            # Report bodies (delivery-status, feedback-report, disposition-notification...) and
            # multiparts whose boundary never appeared: keep their text.
            text = _clean_body(_report_text(part))
            body.parts.append(
                MimePart(content_type, depth, embedded, disposition, raw_filename, charset, text)
            )
            if maintype == "multipart" and not embedded:
                body.segments.append(_Segment(plain=[text]))
            elif not embedded:
                body.attachments.append(
                    Attachment(
                        filename=sanitise_filename(
                            raw_filename or content_type.replace("/", "-") + ".txt", "text/plain"
                        ),
                        content_type=content_type,
                        content=text.encode("utf-8"),
                        content_id=_content_id(part),
                        inline=False,
                    )
                )
            continue

        data = _payload_bytes(part)
        leaf_text: str | None = None
        if maintype == "text":
            declared = charset
            if declared is None and content_type == "text/html":
                sniffed = _META_CHARSET.search(data[:4096])
                if sniffed:
                    declared = sniffed.group(1).decode("ascii", "replace")
            decoded = decode_bytes(data, declared)
            if decoded.guessed and not data.isascii():
                warnings.append(
                    f"{content_type} part: charset {declared!r} did not fit the bytes; "
                    f"decoded as {decoded.charset}"
                )
            leaf_text = _clean_body(decoded.text)
        body.parts.append(
            MimePart(content_type, depth, embedded, disposition, raw_filename, charset, leaf_text)
        )
        if embedded:
            continue
        is_body = (
            leaf_text is not None
            and content_type in {"text/plain", "text/html"}
            and disposition != "attachment"
            and raw_filename is None
        )
        if is_body and leaf_text is not None:
            if group is None:
                segment = _Segment()
                body.segments.append(segment)
            elif group in groups:
                segment = groups[group]
            else:
                segment = groups[group] = _Segment()
                body.segments.append(segment)
            (segment.plain if content_type == "text/plain" else segment.html).append(leaf_text)
            continue
        content_id = _content_id(part)
        body.attachments.append(
            Attachment(
                filename=sanitise_filename(raw_filename, content_type),
                content_type=content_type,
                content=data,
                content_id=content_id,
                inline=disposition == "inline" or (disposition is None and content_id is not None),
            )
        )
    return body


def _content_id(part: Message) -> str | None:
    value = _raw_header(part, "content-id")
    if value is None:
        return None
    cleaned = _CLEAN_TEXT.sub("", repair_raw_header(value)).strip().strip("<>").strip()
    return cleaned or None


def _subject_of(message: Message) -> str:
    value = _raw_header(message, "subject")
    subject = decode_header_value("subject", value) if value else ""
    return subject[:80] or "message"


# Assembling the result --------------------------------------------------------------------------


def _first_raw(raw_headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in raw_headers:
        if key.casefold() == name:
            return value
    return None


def _all_raw(raw_headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in raw_headers if key.casefold() == name]


def _addresses(values: Iterable[str], hint: tuple[str, ...]) -> tuple[Address, ...]:
    found: list[Address] = []
    for value in values:
        found.extend(parse_addresses(value, hint))
    return tuple(found)


def _return_path(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = _CLEAN_TEXT.sub("", repair_raw_header(value)).strip()
    match = re.search(r"<([^<>]*)>", cleaned)
    inner = match.group(1) if match else (cleaned.split() or [""])[0]
    return inner.strip()


def _bounded(name: str, value: str, warnings: list[str]) -> str:
    # The stdlib's header parser is quadratic in a header's length: a 200 KB Subject takes a
    # second. No legitimate header field comes near the bound.
    if len(value) <= MAX_HEADER_LENGTH:
        return value
    warnings.append(f"{name} header longer than {MAX_HEADER_LENGTH} characters; truncated")
    cut = value.rfind(" ", 0, MAX_HEADER_LENGTH)
    return value[: cut if cut > 0 else MAX_HEADER_LENGTH]


_ENCODED_WORD_CHARSET = re.compile(r"=\?([^?*\s]{1,40})(?:\*[^?]*)?\?[bBqQ]\?")


def _charset_hints(raw_headers: list[tuple[str, str]], body_charsets: list[str]) -> tuple[str, ...]:
    """Charsets the sender used elsewhere, for decoding raw 8-bit header bytes: first those of
    encoded words in other headers, then those declared for body parts."""
    hints: list[str] = []
    for _, value in raw_headers:
        hints.extend(match.group(1).casefold() for match in _ENCODED_WORD_CHARSET.finditer(value))
    hints.extend(body_charsets)
    return tuple(label for label in dict.fromkeys(hints) if codec_for(label))


def _assemble(
    raw_headers: list[tuple[str, str]],
    body: _Body,
    content_type: str,
    report_type: str | None,
    warnings: list[str],
    cid_url: Callable[[str], str] | None,
) -> ParsedMail:
    if len(raw_headers) > MAX_HEADERS:
        warnings.append(f"more than {MAX_HEADERS} header fields; the rest were ignored")
        raw_headers = raw_headers[:MAX_HEADERS]
    raw_headers = [(name, _bounded(name, value, warnings)) for name, value in raw_headers]
    hint = _charset_hints(raw_headers, body.charsets)
    headers = tuple(
        (_clean(name), decode_header_value(name, value, hint)) for name, value in raw_headers
    )
    subject = next((value for name, value in headers if name.casefold() == "subject"), "")
    from_addresses = _addresses(_all_raw(raw_headers, "from")[:1], hint)

    plain_parts: list[str] = []
    html_parts: list[str] = []
    for segment in body.segments:
        plain = "\n\n".join(segment.plain).strip("\n")
        html = "\n".join(segment.html)
        if segment.plain:
            plain_parts.append(plain)
        elif segment.html:
            plain_parts.append(html_to_text(html))
        if segment.html:
            html_parts.append(html)
        elif segment.plain:
            html_parts.append(f"<pre>{html_lib.escape(plain)}</pre>")
    text = "\n\n".join(part for part in plain_parts if part.strip())
    has_html = any(segment.html for segment in body.segments)
    raw_html = "\n".join(html_parts) if has_html else None

    if any(segment.plain for segment in body.segments) or raw_html is None:
        extracted = extract_reply(text)
    else:
        extracted = extract_reply_from_html(raw_html)

    sanitised: str | None = None
    if raw_html is not None:
        if cid_url is not None:
            content_ids = [a.content_id for a in body.attachments if a.content_id]
            try:
                raw_html = rewrite_cid_references(raw_html, content_ids, cid_url)
            except Exception as exc:
                warnings.append(f"cid_url raised {_describe(exc)}; cid: images left out")
        sanitised = sanitise_html(_clean(raw_html))

    defects = list(dict.fromkeys([*body.defects, *warnings]))[:MAX_DEFECTS]
    return ParsedMail(
        message_id=normalise_message_id(_first_raw(raw_headers, "message-id")),
        in_reply_to=normalise_message_id(_first_raw(raw_headers, "in-reply-to")),
        references=message_ids(" ".join(_all_raw(raw_headers, "references"))),
        subject=subject,
        from_address=from_addresses[0] if from_addresses else None,
        reply_to=_addresses(_all_raw(raw_headers, "reply-to"), hint),
        to=_addresses(_all_raw(raw_headers, "to"), hint),
        cc=_addresses(_all_raw(raw_headers, "cc"), hint),
        date=parse_date(_first_raw(raw_headers, "date") or ""),
        return_path=_return_path(_first_raw(raw_headers, "return-path")),
        headers=headers,
        content_type=content_type,
        report_type=report_type,
        text=text,
        html=sanitised,
        reply_text=extracted.reply,
        new_text=extracted.new_text,
        attachments=tuple(body.attachments),
        parts=tuple(body.parts),
        charsets=tuple(body.charsets),
        defects=tuple(defects),
    )


def _from_message(
    message: Message, warnings: list[str], cid_url: Callable[[str], str] | None
) -> ParsedMail:
    raw_headers = [(str(name), str(value)) for name, value in message.raw_items()]
    body = _walk(message, warnings)
    content_type = _safe_content_type(message)
    report_type = None
    if content_type == "multipart/report":
        value = _safe_param(message, "report-type")
        report_type = value.strip().casefold() if value else None
    return _assemble(raw_headers, body, content_type, report_type, warnings, cid_url)


def _best_effort(
    data: bytes, warnings: list[str], cid_url: Callable[[str], str] | None
) -> ParsedMail:
    """Headers and body split by hand, for bytes the stdlib parser cannot digest."""
    separator = re.search(rb"\r?\n\r?\n", data)
    head, rest = (data[: separator.start()], data[separator.end() :]) if separator else (data, b"")
    raw_headers: list[tuple[str, str]] = []
    for line in head.decode("utf-8", "surrogateescape").splitlines():
        if line[:1] in {" ", "\t"} and raw_headers:
            name, value = raw_headers[-1]
            raw_headers[-1] = (name, f"{value} {line.strip()}")
            continue
        match = _RAW_HEADER.match(line)
        if match:
            raw_headers.append((match.group(1), match.group(2).strip()))
    body = _Body(segments=[_Segment(plain=[_clean_body(decode_bytes(rest).text)])])
    warnings.append("message read by the best-effort fallback: MIME structure ignored")
    return _assemble(raw_headers, body, "text/plain", None, warnings, cid_url)


def _empty(defects: list[str]) -> ParsedMail:
    return ParsedMail(
        message_id=None,
        in_reply_to=None,
        references=(),
        subject="",
        from_address=None,
        reply_to=(),
        to=(),
        cc=(),
        date=None,
        return_path=None,
        headers=(),
        content_type="text/plain",
        report_type=None,
        text="",
        html=None,
        reply_text="",
        new_text="",
        attachments=(),
        parts=(),
        charsets=(),
        defects=tuple(defects[:MAX_DEFECTS]),
    )
