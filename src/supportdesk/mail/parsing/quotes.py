"""Finding the new text of a reply: our separator, then quoted history, then the signature.

1. Everything from our own `REPLY_SEPARATOR` line on is dropped (it sits at the top of every mail
   we send, so it is the one cut we can be sure of).
2. Quoted history is found with a line-marker algorithm modelled on mailgun/talon's: each line is
   marked empty (`e`), quoted (`m`, starts with `>`), splitter (`s`, a reply header such as
   "On ... wrote:", an Outlook "From:/Sent:/To:" block, "-----Original Message-----" or a mail
   client's HTML quote container), forward (`f`) or text (`t`), and the marker string decides what
   is history. Multilingual "wrote:" patterns come from mail-parser-reply's language tables.
3. The signature (RFC 3676 `-- ` block, "Sent from my iPhone"-style lines) is cut for `new_text`;
   `reply` keeps it, which is what talon's fixtures expect.

Interleaved answers (text between quoted blocks) are kept whole: losing a customer's inline answer
is worse than showing some quoted lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailparser_reply.constants import MAIL_LANGUAGES

from supportdesk.mail.parsing.html import QUOTE_MARKER, html_to_text

REPLY_SEPARATOR = "##- Please type your reply above this line -##"

# Lines longer than this are never reply headers; skipping them bounds regex work on hostile input.
_MAX_HEADER_LINE = 1000
# Beyond this many lines only the first part is analysed; the rest is kept or cut with it.
_MAX_LINES = 20000


def _separator_pattern(separator: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in separator.split()]
    return re.compile(r"\s*".join(words), re.IGNORECASE)


_OWN_SEPARATOR = _separator_pattern(REPLY_SEPARATOR)
_BLANK_RUN = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def _strict_wrote_patterns() -> list[re.Pattern[str]]:
    patterns = [
        # English, with the variants real clients produce ("--- On ...", "> On ...").
        re.compile(r"^[\s>*-]*On\b.{1,400}\bwrote\s*:\s*$", re.IGNORECASE),
    ]
    for language in MAIL_LANGUAGES.values():
        pattern = language.get("wrote_header")
        if isinstance(pattern, str):
            try:
                patterns.append(re.compile(pattern, re.IGNORECASE))
            except re.error:  # pragma: no cover - depends on the library's tables
                continue
    return patterns


_STRICT_WROTE = _strict_wrote_patterns()
# The verb alone, anywhere in the line: clients put the date and name before or after it. These
# also end ordinary sentences, so they count only with an address or a date in the line.
_LOOSE_WROTE = [
    re.compile(
        r"\b(?:wrote|написал|написала|пишет|schrieb|a écrit|escribió|escreveu|schreef|skrev|"
        r"napisał|napisal|ha scritto|kirjoitti|yazdı|írta)\b.{0,300}[:：]\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"(?:写道|작성했습니다|작성하였습니다|のメッセージ)\s*[:：]\s*$"),
]

_ORIGINAL_MESSAGE = re.compile(
    r"^[\s>*]*-{2,}\s*(?:Original Message|Original-Nachricht|Ursprüngliche Nachricht|"
    r"Message d'origine|Mensaje original|Mensagem original|Messaggio originale|"
    r"Oorspronkelijk bericht|Oprindelig meddelelse|Ursprungligt meddelande|"
    r"Opprinnelig melding|Alkuperäinen viesti|Wiadomość oryginalna|Původní zpráva|"
    r"Исходное сообщение|Оригинальное сообщение|原始邮件|元のメッセージ)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^[\s>*]*(?:-{2,}\s*)?(?:Begin forwarded message|Forwarded message|Weitergeleitete Nachricht|"
    r"Message transféré|Mensaje reenviado|Doorgestuurd bericht|Videresendt meddelelse|"
    r"Vidarebefordrat meddelande|Wiadomość przekazana|Přeposlaná zpráva|"
    r"Пересылаемое сообщение|Переслано|转发的邮件|転送されたメッセージ)\s*:?\s*(?:-{2,})?\s*$",
    re.IGNORECASE,
)
# Outlook's rule above its reply header: a line of underscores (or dashes, once converted).
_RULE_LINE = re.compile(r"^[\s>]*(?:_{20,}|-{20,}|─{10,})\s*$")

# Reply-header field names by meaning, across the languages mail clients localise them in.
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "from": (
        "from",
        "von",
        "de",
        "fra",
        "van",
        "od",
        "från",
        "от",
        "da",
        "lähettäjä",
        "kimden",
        "差出人",
        "发件人",
        "寄件者",
        "보낸 사람",
        "보낸사람",
        "feladó",
    ),
    "sent": (
        "sent",
        "date",
        "gesendet",
        "datum",
        "envoyé",
        "date d'envoi",
        "enviado",
        "fecha",
        "sendt",
        "dato",
        "verzonden",
        "wysłano",
        "data",
        "skickat",
        "отправлено",
        "дата",
        "inviato",
        "lähetetty",
        "tarih",
        "送信日時",
        "日付",
        "发送时间",
        "日期",
        "보낸 날짜",
        "odesláno",
        "küldve",
    ),
    "to": (
        "to",
        "an",
        "à",
        "para",
        "til",
        "aan",
        "do",
        "till",
        "кому",
        "a",
        "vastaanottaja",
        "kime",
        "宛先",
        "收件人",
        "받는 사람",
        "komu",
        "címzett",
    ),
    "subject": (
        "subject",
        "betreff",
        "objet",
        "asunto",
        "assunto",
        "emne",
        "onderwerp",
        "temat",
        "ämne",
        "тема",
        "oggetto",
        "aihe",
        "konu",
        "件名",
        "主题",
        "제목",
        "předmět",
        "tárgy",
    ),
    "cc": ("cc", "kopie", "kopi", "kopia", "копия", "抄送", "참조", "másolat"),
}
_HEADER_KIND = {name: kind for kind, names in _HEADER_NAMES.items() for name in names}
_HEADER_LINE = re.compile(r"^[\s>*]*([^\W\d_][\w' .-]{0,20}?)\s*\*?\s*[:：]", re.UNICODE)

_DATE_OR_TIME = re.compile(
    r"\d{1,2}:\d{2}|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{4}年|"
    r"\b\d{1,2}\.?\s+\w{3,}\.?\s+\d{4}\b|\b\w{3,}\.?\s+\d{1,2},?\s+\d{4}\b"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PARENTHESIS_LINK = re.compile(r"\(https?://|<https?://")

_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:Sent from my|Sent from|Sent with|Sent via|Get Outlook for|Envoyé de mon|"
    r"Envoyé depuis|Gesendet von meinem|Von meinem .* gesendet|Enviado desde mi|Enviado do meu|"
    r"Verzonden (?:vanaf|met) mijn|Skickat från min|Sendt fra min|Inviato da(?:l mio)?|"
    r"Wysłano z|Отправлено с|Отправлено из|Odesláno z)\b.{0,80}$"
    r"|^\s*\S.{0,40}(?:から送信|에서 보냄)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ExtractedReply:
    """`reply`: the message without quoted history (signature kept, as talon defines a reply).
    `new_text`: `reply` without its signature either: what an agent needs to read."""

    reply: str
    new_text: str


def _header_kind(line: str) -> str | None:
    if len(line) > _MAX_HEADER_LINE:
        return None
    match = _HEADER_LINE.match(line)
    if match is None:
        return None
    name = " ".join(match.group(1).replace("*", " ").split()).casefold()
    return _HEADER_KIND.get(name)


def _header_block_end(lines: list[str], start: int) -> int | None:
    """If a reply-header block ("From: ... Sent: ... To: ...") starts at `start`, its last line."""
    kinds: list[str] = []
    index = start
    last_header = start
    blanks = continuation = 0
    while index < len(lines) and index - start < 14:
        line = lines[index]
        kind = _header_kind(line)
        if kind is not None:
            if kind in kinds:
                break
            kinds.append(kind)
            last_header = index
            blanks = continuation = 0
        elif not line.strip():
            blanks += 1
            if blanks > 1:
                break
        else:
            continuation += 1
            if continuation > 2 or index == start:
                break
        index += 1
    if (
        kinds
        and kinds[0] in {"from", "sent", "subject"}
        and (("from" in kinds and len(kinds) >= 2) or len(kinds) >= 3)
    ):
        return last_header
    return None


def _is_wrote_line(text: str) -> bool:
    stripped = text.rstrip()
    if not stripped.endswith((":", "：")) or len(stripped) > _MAX_HEADER_LINE:
        return False
    if any(pattern.search(stripped) for pattern in _STRICT_WROTE):
        return True
    return bool(
        any(pattern.search(stripped) for pattern in _LOOSE_WROTE)
        and (_EMAIL.search(stripped) or _DATE_OR_TIME.search(stripped))
    )


def _looks_unfinished(previous: str, first: str) -> bool:
    """Whether `previous` is the first half of a reply header wrapped before `first`."""
    previous = previous.rstrip()
    if not previous:
        return False
    first = first.lstrip(" >")
    return previous.endswith(("<", ",", "(", "[", '"')) or first[:1].islower() or first[:1] in "<("


def _wrote_spans(lines: list[str]) -> list[tuple[int, int]]:
    """Every (possibly wrapped) "On <date>, <name> wrote:" header, as (first line, last line).

    Spans are found from their last line (the one ending in a colon) so that the shortest match
    wins and a preceding line of the reply is not swallowed; a wrapped first half is then added
    back when the split is evident ("... <" / "wrote:" starting in lower case).
    """
    spans: list[tuple[int, int]] = []
    floor = 0
    for end, line in enumerate(lines):
        if len(line) > _MAX_HEADER_LINE or not line.rstrip().endswith((":", "：")):
            continue
        for extra in range(3):
            start = end - extra
            if start < floor or not lines[start].strip():
                break
            joined = " ".join(part.strip() for part in lines[start : end + 1])
            if _is_wrote_line(joined):
                while (
                    start - 1 >= floor
                    and end - start < 3
                    and _looks_unfinished(lines[start - 1], lines[start])
                ):
                    start -= 1
                spans.append((start, end))
                floor = end + 1
                break
    return spans


def _attribution_end(lines: list[str], index: int, markers: list[str]) -> int | None:
    """A client's attribution line without a "wrote" word ("26.06.2014, 14:41, "Bob" <b@x>:"),
    recognised only when quoted lines follow it. It may be wrapped onto a second line."""
    end = index
    if not lines[index].rstrip().endswith((":", "：")):
        end = index + 1
        if end >= len(lines) or not _looks_unfinished(lines[index], lines[end]):
            return None
    joined = " ".join(line.strip() for line in lines[index : end + 1])
    if len(joined) > 400 or not joined.endswith((":", "：")):
        return None
    if not (_EMAIL.search(joined) or _DATE_OR_TIME.search(joined)):
        return None
    following = end + 1
    while following < len(lines) and not lines[following].strip():
        following += 1
    if following < len(lines) and markers[following] == "m":
        return end
    return None


def _mark(lines: list[str]) -> list[str]:
    markers = []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            markers.append("e")
        elif stripped == QUOTE_MARKER:
            markers.append("s")
        elif stripped.startswith(">"):
            markers.append("m")
        else:
            markers.append("t")
    for first, last in _wrote_spans(lines):
        for position in range(first, last + 1):
            markers[position] = "s"
    index = 0
    while index < len(lines):
        if markers[index] != "t":
            index += 1
            continue
        line = lines[index]
        end: int | None = None
        if len(line) > _MAX_HEADER_LINE:
            pass
        elif _FORWARD.match(line):
            markers[index] = "f"
        elif _ORIGINAL_MESSAGE.match(line):
            end = index
        elif _RULE_LINE.match(line):
            following = index + 1
            while following < len(lines) and not lines[following].strip():
                following += 1
            if following < len(lines) and _header_block_end(lines, following) is not None:
                end = index
        else:
            end = _header_block_end(lines, index)
            if end is None:
                end = _attribution_end(lines, index, markers)
        if end is None:
            index += 1
            continue
        for position in range(index, end + 1):
            markers[position] = "s"
        index = end + 1
    return markers


def _first_border(markers: str) -> int | None:
    """Where the first quotation starts: a splitter, or a run of two or more quoted lines."""
    first_splitter = markers.find("s")
    pair = re.search(r"me*m", markers)
    starts = [
        position for position in (first_splitter, pair.start() if pair else -1) if position >= 0
    ]
    return min(starts) if starts else None


def _strip_quotations(lines: list[str]) -> list[str]:
    markers = _mark(lines)
    # Rule 1: a forward before any quotation is the content itself.
    for marker in markers:
        if marker == "f":
            return lines
        if marker in {"s", "m"}:
            break
    joined = "".join(markers)
    # Rule 2: inline answers between quoted blocks: keep everything.
    for inline in re.finditer(r"(?<=m)e*(t[te]*)m", joined):
        answer = inline.start(1)
        if not (
            _PARENTHESIS_LINK.search(lines[answer - 1]) or _PARENTHESIS_LINK.match(lines[answer])
        ):
            return lines
    # Rule 3: a splitter followed by unquoted text: everything from the splitter is history.
    border = re.search(r"se*[tf]", joined)
    if border is not None:
        start = border.start()
        # Back up over the rest of the border (an "On ... wrote:" above an Outlook header block).
        while start > 0 and joined[start - 1] in {"s", "e"}:
            start -= 1
        # Text between an earlier quotation and this header is older history too (a thread
        # quoted several levels deep, each level with its own header), provided the reply
        # itself sits above that earlier quotation.
        earlier = _first_border(joined)
        if earlier is not None and 0 < earlier < start and "t" in joined[:earlier]:
            start = earlier
        return lines[:start]
    # Rule 4: a quotation (splitter or two quoted lines, up to the last quoted line) followed by
    # nothing but text: cut it out, keep what follows (bottom-posted replies).
    first = _first_border(joined)
    if first is None:
        return lines
    last_quoted = joined.rfind("m")
    if last_quoted >= first and not re.search(r"[sf]", joined[last_quoted:]):
        return lines[:first] + lines[last_quoted + 1 :]
    # Rule 5: a quotation border with nothing quoted after it.
    end = first
    while end < len(joined) and joined[end] in {"s", "e"}:
        end += 1
    return lines[:first] + lines[end:]


def strip_signature(text: str) -> str:
    """`text` without a trailing signature: from an RFC 3676 `-- ` line, or from a "Sent from my
    iPhone"-style line near the end. Returns `text` unchanged if nothing would remain."""
    lines = text.split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        if index > 0 and _SIGNATURE_DELIMITER.match(line):
            cut = index
            break
    content = [index for index, line in enumerate(lines[:cut]) if line.strip()]
    for index in content[-3:]:
        if index > 0 and _MOBILE_SIGNATURE.match(lines[index]):
            cut = index
            break
    result = "\n".join(lines[:cut]).strip()
    return result or text.strip()


def _cut_at_separator(text: str, separator: re.Pattern[str]) -> str:
    match = separator.search(text)
    if match is None:
        return text
    line_start = text.rfind("\n", 0, match.start()) + 1
    return text[:line_start]


def extract_reply(text: str, *, separator: str = REPLY_SEPARATOR) -> ExtractedReply:
    """Split a plain-text body into the reply and the new text. Never raises."""
    return _extract(text.replace("\x00", ""), separator)


def _extract(text: str, separator: str) -> ExtractedReply:
    pattern = _OWN_SEPARATOR if separator == REPLY_SEPARATOR else _separator_pattern(separator)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        body = _cut_at_separator(text, pattern)
        lines = body.split("\n")
        head, tail = lines[:_MAX_LINES], lines[_MAX_LINES:]
        kept = _strip_quotations(head)
        if len(kept) == len(head):
            kept = kept + tail
        reply = "\n".join(line for line in kept if line.strip() != QUOTE_MARKER).strip()
        reply = _BLANK_RUN.sub("\n\n", reply)  # where a quotation was cut out
    except RecursionError:  # pragma: no cover - the algorithm is iterative
        reply = text.strip()
    if not reply:
        # Nothing but quotation (or an empty message): show what there is rather than nothing.
        reply = "\n".join(line for line in text.split("\n") if line.strip() != QUOTE_MARKER).strip()
        if pattern.search(reply):
            reply = _cut_at_separator(reply, pattern).strip()
    return ExtractedReply(reply=reply, new_text=strip_signature(reply))


def extract_reply_from_html(html: str, *, separator: str = REPLY_SEPARATOR) -> ExtractedReply:
    """The same for an HTML-only body: blockquotes and clients' quote containers are history."""
    return _extract(html_to_text(html, mark_quotes=True), separator)
