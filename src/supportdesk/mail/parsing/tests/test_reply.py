"""Reply extraction: talon's fixtures, our own separator, and the cases that must not be cut."""

from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage

import pytest

from supportdesk.mail.parsing import (
    REPLY_SEPARATOR,
    extract_reply,
    extract_reply_from_html,
    parse_message,
    strip_signature,
)
from supportdesk.mail.parsing.tests.conftest import Corpus, Report, load_corpus

TALON_HTML_REPLY = "Hi. I am fine.\n\nThanks,\nAlex"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _first_plain_part(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_content())
    raise AssertionError("no text/plain part")


def _talon_standard() -> list[str]:
    return sorted(
        name for name in load_corpus().files("rfc822") if name.startswith("talon/standard_replies/")
    )


def _talon_html() -> list[str]:
    return sorted(
        name for name in load_corpus().files("html-body") if name.startswith("talon/html_replies/")
    )


def test_talon_fixtures_are_all_there(corpus: Corpus) -> None:
    assert len(_talon_standard()) == 12
    assert len(_talon_html()) == 9


@pytest.mark.parametrize("name", _talon_standard())
def test_talon_standard_replies(corpus: Corpus, name: str) -> None:
    expected_file = corpus.path(name.removesuffix(".eml") + "_reply_text")
    expected = expected_file.read_text() if expected_file.exists() else "Hello"
    result = extract_reply(_first_plain_part(corpus.read(name)))
    assert result.reply.strip() == expected.strip()
    # The new text also drops the signatures talon keeps ("Sent from my iPhone", "-- \nxxx").
    assert result.new_text == "Hello"


@pytest.mark.parametrize("name", _talon_html())
def test_talon_html_replies(corpus: Corpus, name: str) -> None:
    html = corpus.read(name).decode("utf-8")
    result = extract_reply_from_html(html)
    assert _squash(result.reply) == _squash(TALON_HTML_REPLY)
    assert _squash(result.new_text) == _squash(TALON_HTML_REPLY)


def test_talon_fixtures_through_parse_message(corpus: Corpus, report: Report) -> None:
    """The same fixtures as whole messages: parse_message picks the body and strips it."""
    for name in _talon_standard():
        parsed = parse_message(corpus.read(name))
        assert parsed.new_text == "Hello", name
    for name in _talon_html():
        raw = (
            b"From: a@example.com\r\nSubject: Re: Test\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/html; charset=utf-8\r\n\r\n" + corpus.read(name)
        )
        parsed = parse_message(raw)
        assert _squash(parsed.new_text) == _squash(TALON_HTML_REPLY), name
    report(
        f"reply stripping: talon {len(_talon_standard())} standard + {len(_talon_html())} "
        "HTML replies pass (also through parse_message)"
    )


def test_talon_outlook_source_section_and_shared_block(corpus: Corpus) -> None:
    olk = extract_reply_from_html(corpus.read("talon/OLK_SRC_BODY_SECTION.html").decode())
    assert olk.reply == "Reply"
    shared = _first_plain_part(corpus.read("talon/reply-quotations-share-block.eml"))
    reply = extract_reply(shared).reply
    assert reply
    assert "From" not in reply
    assert reply.endswith("Joe XXX")


def test_talon_hr_separated_reply_keeps_the_signature_name(corpus: Corpus) -> None:
    # talon drops the whole <div> holding the <hr>, and with it the name "Bob" above the rule;
    # we cut at the header block below the rule, so "Bob" stays. The quoted part goes in both.
    html = corpus.read("talon/reply-separated-by-hr.html").decode()
    reply = extract_reply_from_html(html).reply
    assert reply.split() == ["Hi", "there", "Bob"]


# Our own separator ------------------------------------------------------------------------------


def test_our_separator_cuts_the_quoted_notification() -> None:
    text = (
        "Thanks, that fixed it.\n\n"
        "On Mon, 1 Sep 2025 at 10:00, Example Support <support+ab12@example.com> wrote:\n"
        f"> {REPLY_SEPARATOR}\n"
        ">\n"
        "> Your ticket [#1042] was updated.\n"
    )
    assert extract_reply(text).reply == "Thanks, that fixed it."


def test_our_separator_cuts_even_without_quote_markers() -> None:
    text = f"Yes, please close it.\n\n{REPLY_SEPARATOR}\nAgent Smith wrote: ...\n"
    assert extract_reply(text).reply == "Yes, please close it."


def test_our_separator_survives_rewrapping_and_case() -> None:
    text = "Done.\n\n##- please type your\n  reply above this line -##\n\nold stuff\n"
    assert extract_reply(text).reply == "Done."


def test_our_separator_in_a_quoted_html_reply() -> None:
    html = (
        "<div>Works now, thank you!</div>"
        '<div class="gmail_quote"><div>On Tue, Support wrote:</div>'
        f"<blockquote><p>{REPLY_SEPARATOR}</p><p>Ticket updated</p></blockquote></div>"
    )
    assert extract_reply_from_html(html).reply == "Works now, thank you!"


def test_a_custom_separator() -> None:
    text = "Fine.\n--- reply above ---\nold"
    assert extract_reply(text, separator="--- reply above ---").reply == "Fine."


# What must not be cut ---------------------------------------------------------------------------


def test_plain_message_is_kept_whole() -> None:
    text = "Hello,\n\nthe export fails with error 42.\nSteps: click Export.\n\nRegards,\nAnna"
    assert extract_reply(text).reply == text


def test_forwarded_message_is_content() -> None:
    text = (
        "FYI, see below.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Bob <bob@example.com>\n"
        "Date: Mon, 1 Sep 2025\n"
        "Subject: Outage\n"
        "To: Anna <anna@example.com>\n\n"
        "The server is down.\n"
    )
    assert "The server is down." in extract_reply(text).reply


def test_inline_answers_between_quotes_are_kept() -> None:
    text = (
        "On Mon, Support <support@example.com> wrote:\n"
        "> Which version do you run?\n"
        "4.2\n"
        "> And which database?\n"
        "PostgreSQL 16\n"
    )
    reply = extract_reply(text).reply
    assert "4.2" in reply
    assert "PostgreSQL 16" in reply


def test_bottom_posted_reply_is_found() -> None:
    text = "On 04/02/2012 06:26 PM, Support wrote:\n> Hi\n> there\nHello back"
    assert extract_reply(text).reply == "Hello back"


def test_sentence_ending_in_wrote_is_not_a_reply_header() -> None:
    text = "My colleague wrote:\nThe import takes hours since the update.\nCan you help?"
    assert extract_reply(text).reply == text


def test_a_message_that_is_only_a_quote_is_shown_rather_than_emptied() -> None:
    text = "> quoted\n> only"
    assert extract_reply(text).reply == text


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("Hallo\n\nAm 01.09.2025 um 10:00 schrieb Support <s@example.com>:\n> Frage", "Hallo"),
        ("Bonjour\n\nLe 1 sept. 2025 à 10:00, Support <s@example.com> a écrit :\n> Q", "Bonjour"),
        ("Hoi\n\nOp 1 sep. 2025 om 10:00 schreef Support <s@example.com>:\n> Vraag", "Hoi"),
        ("Hej\n\nDen 1 sep. 2025 kl. 10.00 skrev Support <s@example.com>:\n> Fråga", "Hej"),
        (
            "Danke\n\nVon: Support <s@example.com>\nGesendet: Montag, 1. September 2025\n"
            "An: Anna\nBetreff: Frage\n\nAlter Text",
            "Danke",
        ),
        (
            "Спасибо\n\nОт: Support <s@example.com>\nОтправлено: 1 сентября 2025 г.\n"
            "Кому: Anna\nТема: Вопрос\n\nстарый текст",
            "Спасибо",
        ),
        ("OK\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nold", "OK"),
    ],
)
def test_reply_headers_in_other_languages(text: str, reply: str) -> None:
    assert extract_reply(text).reply == reply


def test_mail_parser_reply_language_samples(corpus: Corpus) -> None:
    danish = extract_reply(corpus.read("mail-parser-reply/emails/email_danish_1.txt").decode())
    assert danish.reply.startswith("Hej Peter")
    assert "Hvordan går det" not in danish.reply
    multiline = corpus.read("mail-parser-reply/emails/multiline_on_de.txt").decode()
    assert extract_reply(multiline).reply == "Am heutigen Tage"


def test_thread_quoted_under_several_headers_is_cut_at_the_first(corpus: Corpus) -> None:
    text = corpus.read("mail-parser-reply/emails/email_3_1.txt").decode()
    assert extract_reply(text).reply == (
        "First reply.\n\nThis is fairly common; nothing too hard here!"
    )


def test_outlook_rule_of_dashes_above_the_header_block(corpus: Corpus) -> None:
    text = corpus.read("email_reply_parser/emails/email_2_1.txt").decode()
    assert extract_reply(text).reply == "Outlook with a reply"


def test_text_below_a_single_quote_is_kept() -> None:
    text = "See below.\n\nOn Mon, Support <s@example.com> wrote:\n> Which version?\n\n4.2"
    assert extract_reply(text).reply == "See below.\n\n4.2"


def test_the_pathological_long_quote_is_fast(corpus: Corpus) -> None:
    text = corpus.read("email_reply_parser/emails/email_long_quote.txt").decode()
    result = extract_reply(text)
    assert result.reply.startswith("Hi folks")


# Signatures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks!\n-- \nAnna\nACME Corp", "Thanks!"),
        ("Thanks!\n--\nAnna", "Thanks!"),
        ("Sure.\n\nSent from my iPhone", "Sure."),
        ("Sure.\n\nGesendet von meinem iPad", "Sure."),
        ("Sure.\n\nGet Outlook for Android", "Sure."),
        (
            "Sent from my laptop is what I tried first.\nIt failed.",
            "Sent from my laptop is what I tried first.\nIt failed.",
        ),
        ("-- \nonly a signature", "-- \nonly a signature"),
        ("a -- b in the middle of a line", "a -- b in the middle of a line"),
    ],
)
def test_signature_stripping(text: str, expected: str) -> None:
    assert strip_signature(text) == expected
