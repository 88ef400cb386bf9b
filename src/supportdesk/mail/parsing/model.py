"""The values `parse_message` returns: plain frozen dataclasses, no behaviour beyond lookups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Address:
    """One mailbox from an address header. `address` is the addr-spec as sent (may be empty)."""

    name: str
    address: str

    @property
    def normalised(self) -> str:
        """The address for comparisons: stripped and case-folded (local parts are case-blind in
        practice, and some MTAs lowercase them)."""
        return self.address.strip().casefold()


@dataclass(frozen=True)
class Attachment:
    """A non-body MIME part. `filename` is always safe to use as a single path component."""

    filename: str
    content_type: str
    content: bytes = field(repr=False)
    content_id: str | None = None  # without the angle brackets
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class MimePart:
    """One part of the MIME tree, flattened in document order.

    `text` holds the decoded content of textual parts (text/*, message/delivery-status,
    message/feedback-report, text/rfc822-headers) and, for message/rfc822 parts, the header block
    of the enclosed message. `embedded` is true for parts inside an enclosed message/rfc822.
    """

    content_type: str
    depth: int
    embedded: bool
    disposition: str | None = None
    filename: str | None = None
    charset: str | None = None
    text: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ParsedMail:
    """Everything the help desk needs from one raw message.

    Header values are decoded to text. `return_path` is "" for the null reverse-path `<>` and None
    when the header is absent. `headers` keeps every top-level header (decoded, in order) so that
    loop detection can look at any of them, including a configurable loop header.
    """

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_address: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    return_path: str | None
    headers: tuple[tuple[str, str], ...]
    content_type: str
    report_type: str | None  # the report-type parameter of a multipart/report
    text: str
    html: str | None
    reply_text: str
    new_text: str
    attachments: tuple[Attachment, ...]
    parts: tuple[MimePart, ...]
    charsets: tuple[str, ...]
    defects: tuple[str, ...]

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.casefold()
        for key, value in self.headers:
            if key.casefold() == wanted:
                return value
        return None

    def header_values(self, name: str) -> tuple[str, ...]:
        """Every value of header `name` (case-insensitive), in message order."""
        wanted = name.casefold()
        return tuple(value for key, value in self.headers if key.casefold() == wanted)

    def has_header(self, name: str) -> bool:
        return self.header(name) is not None
