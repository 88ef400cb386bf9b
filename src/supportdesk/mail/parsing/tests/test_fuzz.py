"""Property tests: no input makes the parser or the classifiers raise."""

from __future__ import annotations

import re
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportdesk.mail.parsing import (
    automatic_reason,
    decode_bytes,
    detect_bounce,
    detect_feedback_report,
    extract_reply,
    extract_reply_from_html,
    html_to_text,
    parse_message,
    sanitise_filename,
    sanitise_html,
    should_auto_reply,
)
from supportdesk.mail.parsing.model import ParsedMail
from supportdesk.mail.parsing.tests.conftest import load_corpus

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# Fragments that steer random bytes into the parser's interesting corners.
MIME_TOKENS = [
    b"\r\n",
    b"\n\n",
    b"\r\n\r\n",
    b"--b\r\n",
    b"--b--",
    b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: message/delivery-status\r\n",
    b'Content-Type: text/html; charset="x-unknown"\r\n',
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; filename*=utf-8''%E2%80%AE..%2f\r\n",
    b"=?utf-8?b?8J+Sqdk=?=",
    b"=?x-bogus?q?=FF=FE?=",
    b"Final-Recipient: rfc822; a@b\r\nAction: failed\r\nStatus: 5.1.1\r\n",
    b"From: <>\r\n",
    b"Message-ID: <<<>>>\r\n",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"<script>",
    b"cid:",
    b"> ",
    b"On Mon, 1 Jan 2025, x@y wrote:\r\n",
]


@cache
def _seeds() -> list[bytes]:
    corpus = load_corpus()
    names = [name for name in corpus.files("rfc822") if not name.endswith("enclosed-endless.eml")]
    # Every 20th message: bounces, multiparts, charsets and plain mail, kept small for speed.
    return [corpus.read(name)[:20000] for name in names[::20]]


def _check(parsed: ParsedMail) -> None:
    assert isinstance(parsed.text, str)
    for text in (parsed.subject, parsed.text, parsed.new_text, parsed.html or ""):
        assert not _UNSTORABLE.search(text)
    for attachment in parsed.attachments:
        assert attachment.filename
        assert "/" not in attachment.filename
        assert "\\" not in attachment.filename
    detect_bounce(parsed)
    detect_feedback_report(parsed)
    automatic_reason(parsed, own_addresses=["support@example.com"])
    should_auto_reply(parsed, own_addresses=["support@example.com"])


@FUZZ
@given(st.binary(max_size=4000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    _check(parse_message(raw, cid_url=lambda cid: f"/a/{cid}"))


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(MIME_TOKENS), st.binary(max_size=40)), max_size=40))
def test_mime_shaped_noise_never_raises(pieces: list[bytes]) -> None:
    _check(parse_message(b"".join(pieces), cid_url=lambda cid: f"/a/{cid}"))


@st.composite
def mutated_corpus_message(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_seeds())))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        if not data:
            break
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        operation = draw(st.sampled_from(["flip", "cut", "insert", "duplicate", "truncate"]))
        if operation == "flip":
            data[position] = draw(st.integers(min_value=0, max_value=255))
        elif operation == "cut":
            del data[position : position + draw(st.integers(min_value=1, max_value=200))]
        elif operation == "insert":
            data[position:position] = draw(st.sampled_from(MIME_TOKENS))
        elif operation == "duplicate":
            data[position:position] = data[position : position + 300]
        else:
            del data[position:]
    return bytes(data)


@FUZZ
@given(mutated_corpus_message())
def test_mutated_corpus_messages_never_raise(raw: bytes) -> None:
    _check(parse_message(raw, cid_url=lambda cid: f"/a/{cid}"))


@FUZZ
@given(st.text(st.characters(codec=None), max_size=2000))  # lone surrogates included
def test_text_helpers_never_raise(text: str) -> None:
    reply = extract_reply(text)
    assert len(reply.new_text) <= len(reply.reply) + 1
    extract_reply_from_html(text)
    html_to_text(text)
    sanitise_html(text)
    name = sanitise_filename(text)
    assert name
    assert "/" not in name
    assert "\\" not in name
    assert len(name.encode()) <= 200


@FUZZ
@given(
    st.binary(max_size=2000), st.sampled_from([None, "utf-8", "ascii", "cp1252", "x-bad", "utf-16"])
)
def test_decode_bytes_never_raises(data: bytes, declared: str | None) -> None:
    decoded = decode_bytes(data, declared)
    assert isinstance(decoded.text, str)
