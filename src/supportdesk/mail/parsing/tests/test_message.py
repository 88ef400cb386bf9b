"""parse_message: headers, charsets, bodies, attachments and the fallbacks for hostile input."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime, timedelta, timezone
from email.message import Message
from email.parser import BytesParser
from email.policy import Policy

import pytest

from supportdesk.mail.parsing import (
    Address,
    decode_bytes,
    parse_message,
    sanitise_filename,
)
from supportdesk.mail.parsing import message as message_module
from supportdesk.mail.parsing.tests.conftest import Corpus

HEADERS = b"""\
Return-Path: <anna@customer.example>
Message-ID:  <abc.123@customer.example> (from Anna's laptop)
In-Reply-To: <4b0e5c1e@support.example.com>
References: <first@support.example.com>
 <4b0e5c1e@support.example.com>
From: =?utf-8?q?Anna_M=C3=BCller?= <anna@customer.example>
Reply-To: "Anna (home)" <anna@home.example>
To: Support <support@example.com>, bob@customer.example
To: late@customer.example
Cc: =?iso-8859-1?q?J=F6rg?= <joerg@customer.example>, undisclosed-recipients:;
Subject: =?utf-8?b?UmU6IFsjMTA0Ml0gRHJ1Y2tlciBicmVubnQg8J+UpQ==?=
Date: Mon, 01 Sep 2025 10:00:00 +0200
X-Custom: kept

Body
"""


def test_headers() -> None:
    parsed = parse_message(HEADERS)
    assert parsed.message_id == "<abc.123@customer.example>"
    assert parsed.in_reply_to == "<4b0e5c1e@support.example.com>"
    assert parsed.references == ("<first@support.example.com>", "<4b0e5c1e@support.example.com>")
    assert parsed.subject == "Re: [#1042] Drucker brennt 🔥"
    assert parsed.from_address == Address("Anna Müller", "anna@customer.example")
    assert parsed.reply_to == (Address("Anna (home)", "anna@home.example"),)
    assert [a.address for a in parsed.to] == [
        "support@example.com",
        "bob@customer.example",
        "late@customer.example",
    ]
    assert parsed.cc == (Address("Jörg", "joerg@customer.example"),)
    assert parsed.date == datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
    assert parsed.date is not None
    assert parsed.date.utcoffset() == timedelta(hours=2)
    assert parsed.return_path == "anna@customer.example"
    assert parsed.header("x-custom") == "kept"
    assert parsed.header_values("TO") == (
        "Support <support@example.com>, bob@customer.example",
        "late@customer.example",
    )
    assert parsed.text == "Body"
    assert parsed.defects == ()


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Mon, 01 Sep 2025 10:00:00 -0000", datetime(2025, 9, 1, 10, 0, tzinfo=UTC)),
        ("1 Sep 2025 10:00 EST", datetime(2025, 9, 1, 10, 0, tzinfo=timezone(timedelta(hours=-5)))),
        ("yesterday", None),
        ("Mon, 99 Foo 2025 99:99:99 +0000", None),
        ("", None),
    ],
)
def test_dates_are_aware_or_none(date: str, expected: datetime | None) -> None:
    parsed = parse_message(f"Date: {date}\n\nx".encode())
    assert parsed.date == expected


def test_null_and_missing_return_path() -> None:
    assert parse_message(b"Return-Path: <>\n\nx").return_path == ""
    assert parse_message(b"Return-Path: < >\n\nx").return_path == ""
    assert parse_message(b"Subject: x\n\nx").return_path is None


def test_raw_8bit_headers_are_decoded_with_the_senders_charset(corpus: Corpus) -> None:
    # The Subject is raw Windows-1252; the From header's encoded word says so.
    parsed = parse_message(
        corpus.read("mikel-mail/emails/error_emails/invalid_subject_characters.eml")
    )
    assert parsed.subject.startswith("Formação FrenetikPolis")
    assert parsed.subject.endswith("Final Verão | Cursos de Setembro")
    flanker = parse_message(corpus.read("flanker/messages/from-encoding.eml"))
    assert flanker.from_address is not None
    assert flanker.from_address.name == "Ingo Lütkebohle"


@pytest.mark.parametrize(
    ("name", "subject", "text"),
    [
        ("mikel-mail/emails/multi_charset/japanese.eml", "まみむめも", "かきくえこ"),
        ("mikel-mail/emails/multi_charset/japanese_iso_2022.eml", "まみむめも", "すみません。"),
        ("mikel-mail/emails/multi_charset/japanese_shift_jis.eml", "test", "あいうえお"),
        ("mikel-mail/emails/multi_charset/ks_c_5601-1987.eml", "test", "스티해"),
        (
            "django-helpdesk/test_files/utf-nondecodable.eml",
            "Fwd: Cyklozaměstnavatel - změna vyhodnocení",
            "Cyklozaměstnavatel",
        ),
        ("django-helpdesk/test_files/all-special-chars.eml", "Testovácí email", "íářčšáíéřášč"),
        ("django-helpdesk/test_files/quoted_printable.eml", "Český test", "českých písmen"),
        ("sisimai/maildir/bsd/lhost-kddi-01.eml", "メールエラー通知", "メールボックスが一杯"),
        ("mikel-mail/emails/plain_emails/raw_email5.eml", "", "Envoyé par le service"),
    ],
)
def test_charsets(corpus: Corpus, name: str, subject: str, text: str) -> None:
    parsed = parse_message(corpus.read(name))
    assert parsed.subject == subject
    assert text in parsed.text
    assert "\ufffd" not in parsed.text


def test_wrong_declared_charset_is_overruled() -> None:
    body = "Grüße aus Köln, wir haben ein Problem mit der Anmeldung.".encode()
    raw = b"Subject: x\nContent-Type: text/plain; charset=iso-8859-1\n\n" + body
    parsed = parse_message(raw)
    assert parsed.text == "Grüße aus Köln, wir haben ein Problem mit der Anmeldung."
    assert any("did not fit" in defect for defect in parsed.defects)


def test_undeclared_legacy_charset_is_detected() -> None:
    text = (
        "Здравствуйте! У нас не работает вход в систему после обновления. "
        "Пожалуйста, помогите как можно скорее, спасибо."
    )
    raw = b"Subject: x\nContent-Type: text/plain\n\n" + text.encode("cp1251")
    assert parse_message(raw).text == text


def test_unknown_charset_label_falls_back() -> None:
    raw = b"Subject: x\nContent-Type: text/plain; charset=x-no-such-charset\n\n" + "café".encode()
    assert parse_message(raw).text == "café"


@pytest.mark.parametrize(
    ("data", "declared", "text"),
    [
        (b"plain", None, "plain"),
        ("naïve".encode(), "utf-8", "naïve"),
        ("naïve".encode("latin-1"), "latin-1", "naïve"),
        ("€".encode("cp1252"), "iso-8859-1", "€"),  # Windows-1252 is what "Latin-1" means in mail
        ("한국어".encode("cp949"), "ks_c_5601-1987", "한국어"),
        ("スキー".encode("cp932"), "x-sjis", "スキー"),
        ("ok\xff".encode("latin-1") + "ä".encode() * 300, "utf-8", "ok\ufffd" + "ä" * 300),
    ],
)
def test_decode_bytes(data: bytes, declared: str | None, text: str) -> None:
    assert decode_bytes(data, declared).text == text


ATTACHMENTS = b"""\
From: a@customer.example
Subject: files
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="M"

--M
Content-Type: text/plain; charset=utf-8

See attached.
--M
Content-Type: application/pdf
Content-Disposition: attachment; filename="../../etc/passwd"

%PDF
--M
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rates.pdf

%PDF
--M
Content-Type: application/octet-stream; name="=?utf-8?b?aW52b2ljZeKArmZkcC5leGU=?="
Content-Disposition: attachment

MZ
--M
Content-Type: text/plain
Content-Disposition: attachment; filename="CON.txt"

x
--M
Content-Type: application/pdf
Content-Disposition: attachment

%PDF
--M
Content-Type: message/rfc822

From: b@x.example
Subject: Original
Message-ID: <orig@x.example>

Forwarded body
--M--
"""


def test_attachments() -> None:
    parsed = parse_message(ATTACHMENTS)
    assert parsed.text == "See attached."
    names = [a.filename for a in parsed.attachments]
    assert names == [
        "passwd",
        "€ rates.pdf",
        "invoicefdp.exe",  # the right-to-left override that disguised ".exe" is gone
        "_CON.txt",
        "attachment.pdf",
        "Original.eml",
    ]
    assert parsed.attachments[0].content.startswith(b"%PDF")
    assert parsed.attachments[0].size == len(parsed.attachments[0].content)
    forwarded = parsed.attachments[-1]
    assert forwarded.content_type == "message/rfc822"
    assert b"Message-ID: <orig@x.example>" in forwarded.content
    assert "Forwarded body" not in parsed.text


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
        ("/etc/shadow", "shadow"),
        ("..", "attachment.bin"),
        (".htaccess", "htaccess"),
        ("a\x00b\r\nc.txt", "abc.txt"),
        ('what?*:"<>|.txt', "what_______.txt"),
        ("trailing dots... ", "trailing dots"),
        ("nul.tar.gz", "_nul.tar.gz"),
        ("=?iso-8859-1?q?r=E9sum=E9.doc?=", "résumé.doc"),
        (None, "attachment.bin"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
        ("é" * 150 + ".txt", "é" * 98 + ".txt"),
    ],
)
def test_sanitise_filename(name: str | None, safe: str) -> None:
    assert sanitise_filename(name) == safe


def test_filenames_from_the_corpus(corpus: Corpus) -> None:
    long_name = parse_message(
        corpus.read("mikel-mail/emails/multi_charset/japanese_attachment_long_name.eml")
    )
    assert [a.filename for a in long_name.attachments] == ["かきくけこ" * 5 + ".txt"]
    nonascii = parse_message(
        corpus.read("mikel-mail/emails/attachment_emails/attachment_nonascii_filename.eml")
    )
    assert [a.filename for a in nonascii.attachments] == ["ciële.txt"]


def test_blank_body_with_attachment(corpus: Corpus) -> None:
    parsed = parse_message(corpus.read("django-helpdesk/test_files/blank-body-with-attachment.eml"))
    assert parsed.text == ""
    assert len(parsed.attachments) == 1


def test_alternative_prefers_plain_text_and_keeps_html() -> None:
    raw = b"""\
Subject: x
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="A"

--A
Content-Type: text/plain

Plain version
--A
Content-Type: text/html

<p>HTML <b>version</b></p>
--A--
"""
    parsed = parse_message(raw)
    assert parsed.text == "Plain version"
    assert parsed.html == "<p>HTML <b>version</b></p>"


def test_nul_bytes_never_reach_the_result() -> None:
    parsed = parse_message(b"Subject: a\x00b\n\nbody\x00with NUL")
    assert parsed.subject == "a b"
    assert parsed.text == "bodywith NUL"


def test_empty_and_garbage_input() -> None:
    assert parse_message(b"").text == ""
    garbage = parse_message(bytes(range(256)) * 4)
    assert isinstance(garbage.text, str)


class _FailingParser:
    """Stands in for the stdlib parser, failing for the policies listed."""

    failing: tuple[str, ...] = ()

    def __init__(self, *, policy: Policy[Message]) -> None:
        self.policy = policy

    def parsebytes(self, data: bytes) -> Message:
        name = "compat32" if self.policy is email.policy.compat32 else "default"
        if name in self.failing:
            raise RecursionError("maximum recursion depth exceeded")
        parsed: Message = BytesParser(policy=self.policy).parsebytes(data)
        return parsed


@pytest.mark.parametrize(
    ("failing", "expected_defects"),
    [
        (("default",), ["parser (default policy) raised RecursionError"]),
        (
            ("default", "compat32"),
            [
                "parser (default policy) raised RecursionError",
                "parser (compat32 policy) raised RecursionError",
                "best-effort fallback",
            ],
        ),
    ],
)
def test_parser_failures_fall_back_and_are_recorded(
    monkeypatch: pytest.MonkeyPatch, failing: tuple[str, ...], expected_defects: list[str]
) -> None:
    monkeypatch.setattr(_FailingParser, "failing", failing)
    monkeypatch.setattr(message_module, "BytesParser", _FailingParser)
    parsed = parse_message(HEADERS)
    for expected in expected_defects:
        assert any(expected in defect for defect in parsed.defects), parsed.defects
    assert parsed.subject == "Re: [#1042] Drucker brennt 🔥"
    assert parsed.message_id == "<abc.123@customer.example>"
    assert parsed.from_address == Address("Anna Müller", "anna@customer.example")
    assert parsed.text == "Body"
