"""Attachment filenames that are safe to show and to use as one path component."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from email.header import decode_header, make_header

# Control characters, the Unicode format characters used to disguise extensions
# ("invoice\u202egpj.exe" renders as "invoiceexe.jpg": bidi overrides, isolates, zero-widths),
# and lone surrogates, which no file system can store.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_RESERVED = re.compile(r'[<>:"|?*]')
_WINDOWS_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_ENCODED_WORD = re.compile(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=")

MAX_FILENAME_BYTES = 200
DEFAULT_STEM = "attachment"


def _decode_encoded_words(name: str) -> str:
    # RFC 2047 forbids encoded words in parameters, yet many clients send them there.
    if not _ENCODED_WORD.search(name):
        return name
    try:
        return str(make_header(decode_header(name)))
    except Exception:
        return name


def _truncate(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    budget = limit - len(suffix.encode("utf-8"))
    encoded = stem.encode("utf-8")[:budget]
    return encoded.decode("utf-8", errors="ignore").rstrip(". ") + suffix


def sanitise_filename(name: str | None, content_type: str = "application/octet-stream") -> str:
    """A display- and filesystem-safe version of an attachment's filename. Never empty.

    Directory parts are dropped (`../../etc/passwd` becomes `passwd`), control and bidi characters
    removed, characters Windows reserves replaced, device names defused, leading dots stripped and
    the length bounded, keeping the extension. A missing name becomes `attachment` plus an
    extension guessed from the content type.
    """
    cleaned = _decode_encoded_words(name or "")
    cleaned = unicodedata.normalize("NFC", cleaned)
    cleaned = _INVISIBLE.sub("", cleaned)
    cleaned = cleaned.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _RESERVED.sub("_", cleaned)
    cleaned = cleaned.strip().lstrip(".").strip()
    cleaned = cleaned.rstrip(". ")  # Windows drops trailing dots and spaces silently
    if _WINDOWS_DEVICE.match(cleaned):
        cleaned = f"_{cleaned}"
    if not cleaned:
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip().lower()) or ""
        if extension == ".bin" or content_type.startswith("application/octet-stream"):
            extension = ".bin"
        cleaned = f"{DEFAULT_STEM}{extension}"
    return _truncate(cleaned, MAX_FILENAME_BYTES)
