"""Subject references, reply prefixes and Message-IDs: what the threading code relies on."""

from __future__ import annotations

import re

import pytest

from supportdesk.mail.parsing import (
    format_ticket_reference,
    make_message_id,
    message_ids,
    normalise_message_id,
    strip_reply_prefixes,
    ticket_references,
)


@pytest.mark.parametrize(
    ("subject", "ids"),
    [
        ("[#1042] Printer on fire", (1042,)),
        ("Re: [#1042] Printer on fire", (1042,)),
        ("AW: [SD-1042] Drucker", (1042,)),
        ("[sd 7] lower case", (7,)),
        ("[SD#12] hash form", (12,)),
        ("[ #3 ] spaced", (3,)),
        ("Merged: [#1] and [#2] and [#1]", (1, 2)),
        ("Order #1042 is late", ()),
        ("[1042] no marker", ()),
        ("[#] empty", ()),
        ("[#12345678901234] too long", ()),
    ],
)
def test_ticket_references(subject: str, ids: tuple[int, ...]) -> None:
    assert ticket_references(subject) == ids


def test_reference_format_round_trips() -> None:
    assert format_ticket_reference(1042) == "[#1042]"
    assert ticket_references(f"Re: {format_ticket_reference(1042)} Hi") == (1042,)


def test_custom_prefix() -> None:
    assert ticket_references("[ACME-5] x", prefix="ACME") == (5,)
    assert ticket_references("[SD-5] x", prefix="ACME") == ()


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [
        ("Re: Printer", "Printer"),
        ("RE: Fwd: AW: WG: SV: VS: Printer", "Printer"),
        ("Re[2]: Printer", "Printer"),
        ("Re(3):Printer", "Printer"),
        ("Fw: TR: RV: Printer", "Printer"),
        ("回复：打印机", "打印机"),
        ("Report: quarterly", "Report: quarterly"),
        ("Reminder: renew", "Reminder: renew"),
        ("  Re:   spaced   out  ", "spaced out"),
        ("[#1042] Re: Printer", "[#1042] Re: Printer"),
    ],
)
def test_strip_reply_prefixes(subject: str, stripped: str) -> None:
    assert strip_reply_prefixes(subject) == stripped


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("<abc@example.com>", "<abc@example.com>"),
        ("  <abc@example.com> (comment)", "<abc@example.com>"),
        ("<abc@\r\n example.com>", "<abc@example.com>"),
        ("abc@example.com", "<abc@example.com>"),
        ("<a@b> <c@d>", "<a@b>"),
        ("<CaseKept@Example.com>", "<CaseKept@Example.com>"),
        ("no id here", None),
        ("", None),
        (None, None),
        ("<>", None),
    ],
)
def test_normalise_message_id(value: str | None, normalised: str | None) -> None:
    assert normalise_message_id(value) == normalised


def test_message_ids_in_references() -> None:
    refs = "<a@x>\r\n <b@x> <a@x>\t<c@x>"
    assert message_ids(refs) == ("<a@x>", "<b@x>", "<c@x>")
    assert message_ids("a@x, b@x") == ("<a@x>", "<b@x>")
    assert message_ids(None) == ()
    many = " ".join(f"<{n}@x>" for n in range(300))
    kept = message_ids(many)
    assert len(kept) == 100
    assert kept[0] == "<0@x>"
    assert kept[-1] == "<299@x>"


def test_make_message_id() -> None:
    first = make_message_id("Support.Example.com")
    assert re.fullmatch(r"<[0-9a-f]{32}@support\.example\.com>", first)
    assert make_message_id("support.example.com") != first
    assert normalise_message_id(first) == first
    with pytest.raises(ValueError, match="domain"):
        make_message_id("bad domain>")
