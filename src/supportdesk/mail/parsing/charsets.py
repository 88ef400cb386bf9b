"""Turning bytes into text when the declared charset is missing, unknown or wrong.

Mail in the wild declares charsets Python does not know (`ks_c_5601-1987`, `x-sjis`), declares
none at all, or declares one thing and sends another (UTF-8 bytes labelled ISO-8859-1). The rule:
trust a declaration when the bytes decode cleanly under it, except that a single-byte legacy
label on bytes that are valid multi-byte UTF-8 is taken to be wrong; otherwise ask
charset-normalizer; and never fail (the last resort replaces undecodable bytes with U+FFFD).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

# Labels seen in mail that Python's codec registry lacks, or for which a superset decodes more of
# what senders actually produce (the WHATWG encoding standard makes the same choices).
CHARSET_ALIASES: dict[str, str] = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ks_c_5601-1989": "cp949",
    "euc-kr": "cp949",
    "x-sjis": "cp932",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-euc-jp": "euc_jp",
    "iso-2022-jp": "iso2022_jp_ext",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}

# Labels that say nothing about the bytes.
_MEANINGLESS = {"unknown-8bit", "x-unknown", "unknown", "x-user-defined", "default", "none", ""}

# Bytes above this size are not fed whole to charset-normalizer (it samples anyway; this bounds the
# worst case on hostile input).
_DETECTION_LIMIT = 256 * 1024


@dataclass(frozen=True)
class DecodedText:
    text: str
    charset: str  # the codec actually used
    guessed: bool  # True when the declared charset was missing, unknown or wrong


def codec_for(label: str | None) -> str | None:
    """The Python codec name for a MIME charset label, or None when it names no usable codec."""
    if label is None:
        return None
    cleaned = label.strip().strip("\"'").casefold()
    if cleaned in _MEANINGLESS:
        return None
    cleaned = CHARSET_ALIASES.get(cleaned, cleaned)
    try:
        info = codecs.lookup(cleaned)
    except (LookupError, ValueError):
        return None
    # Codecs that are not text encodings (rot13, base64...) must not be reachable from a header.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _is_single_byte(codec: str) -> bool:
    return codec.startswith(("cp125", "iso8859", "latin", "koi8", "mac-", "cp874", "cp437", "cp85"))


def _detect(data: bytes) -> DecodedText | None:
    try:
        best = from_bytes(data[:_DETECTION_LIMIT]).best()
    except Exception:  # charset-normalizer must never take the parser down with it
        return None
    if best is None or best.encoding is None:
        return None
    codec = codec_for(best.encoding)
    if codec is None:
        return None
    return DecodedText(data.decode(codec, errors="replace"), codec, guessed=True)


def _lenient(data: bytes, codec: str, *, tolerance: int) -> str | None:
    """`data` decoded with replacement characters, if at most about 1 in `tolerance` characters
    needed replacing (a stray bad byte in otherwise good text); otherwise None."""
    try:
        text = data.decode(codec, errors="replace")
    except LookupError:
        return None
    bad = text.count("\ufffd")
    if codec == "utf-8":
        bad -= data.count("\ufffd".encode())  # replacement characters that were there already
    return text if bad <= max(1, len(text) // tolerance) else None


def decode_bytes(data: bytes, declared: str | None = None) -> DecodedText:
    """Decode `data`, trusting `declared` only as far as the bytes agree with it. Never raises."""
    codec = codec_for(declared)
    if data.isascii():
        # ASCII decodes identically under every charset mail uses (except UTF-16/32 and the
        # ISO-2022 family, whose escape sequences are themselves ASCII).
        if codec and (codec.startswith(("utf-16", "utf-32", "iso2022", "utf-7", "hz"))):
            try:
                return DecodedText(data.decode(codec), codec, guessed=False)
            except (UnicodeDecodeError, LookupError):
                pass
        return DecodedText(data.decode("ascii"), codec or "ascii", guessed=False)
    if codec is not None and codec != "ascii":
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            if _is_single_byte(codec):
                # A single-byte label always "decodes"; valid multi-byte UTF-8 means the label lies.
                try:
                    return DecodedText(data.decode("utf-8"), "utf-8", guessed=True)
                except UnicodeDecodeError:
                    pass
            return DecodedText(text, codec, guessed=False)
    try:
        return DecodedText(data.decode("utf-8"), "utf-8", guessed=codec != "utf-8")
    except UnicodeDecodeError:
        pass
    for candidate in (codec, "utf-8"):
        if candidate is not None and candidate != "ascii":
            lenient = _lenient(data, candidate, tolerance=200)
            if lenient is not None:
                return DecodedText(lenient, candidate, guessed=True)
    detected = _detect(data)
    if detected is not None:
        return detected
    if codec is not None:
        return DecodedText(data.decode(codec, errors="replace"), codec, guessed=True)
    return DecodedText(data.decode("utf-8", errors="replace"), "utf-8", guessed=True)


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def decode_header_bytes(data: bytes, hints: tuple[str, ...] = ()) -> str:
    """Decode raw 8-bit header bytes (RFC 6532 says UTF-8; older senders used their own charset).

    Headers are too short for statistical detection to be reliable, so: UTF-8, then the charsets
    the message declares elsewhere (`hints`: encoded words in other headers, then body parts),
    then UTF-8 with a stray bad byte, then detection for text that is mostly non-ASCII (Cyrillic,
    CJK), and Windows-1252 for text that is mostly ASCII (the Western European case).
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = (codec_for(hint) for hint in hints)
    codecs_to_try = [codec for codec in candidates if codec is not None and codec != "ascii"]
    for codec in dict.fromkeys(codecs_to_try):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    if _UTF8_MULTIBYTE.search(data):
        lenient = _lenient(data, "utf-8", tolerance=50)
        if lenient is not None:
            return lenient
    non_ascii = sum(byte > 0x7F for byte in data)
    if non_ascii * 10 >= len(data) * 3:
        detected = _detect(data)
        if detected is not None:
            return detected.text
    return data.decode("cp1252", errors="replace")
