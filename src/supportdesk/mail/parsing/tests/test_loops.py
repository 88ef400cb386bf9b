"""Loop protection: automatic mail is recognised, human mail is not, we never answer ourselves."""

from __future__ import annotations

import pytest

from supportdesk.mail.parsing import (
    DEFAULT_LOOP_HEADER,
    AutomaticReason,
    automatic_reason,
    parse_message,
    should_auto_reply,
)
from supportdesk.mail.parsing.tests.conftest import (
    Corpus,
    Report,
    parsed_corpus_message,
)

OWN = ["support@example.com", "help@example.com"]

# Person-to-person mail of the corpus: talon's replies, django-helpdesk's tickets, sisimai's
# negatives and mikel-mail's RFC 2822 examples, charset and attachment samples.
HUMAN_FOLDERS = (
    "talon/",
    "django-helpdesk/",
    "sisimai/maildir/not/",
    "mikel-mail/emails/rfc2822/",
    "mikel-mail/emails/multi_charset/",
    "mikel-mail/emails/attachment_emails/",
)


def _message(headers: str, body: str = "Hello\n") -> bytes:
    base = "From: Anna <anna@customer.example>\nTo: support@example.com\nSubject: Help\n"
    return (base + headers + "\n" + body).encode()


def test_sisimai_vacation_replies_are_automatic(corpus: Corpus) -> None:
    vacations = [name for name, rows in corpus.expected.items() if rows[0]["reason"] == "vacation"]
    assert len(vacations) == 5
    for name in vacations:
        parsed = parsed_corpus_message(name)
        assert automatic_reason(parsed) is not None, name
        allowed, _ = should_auto_reply(parsed, own_addresses=OWN)
        assert not allowed, name


def test_every_sisimai_report_and_flanker_machine_message_is_automatic(
    corpus: Corpus, report: Report
) -> None:
    names = [
        name
        for name in corpus.files("rfc822")
        if name.startswith(("sisimai/maildir/bsd/", "flanker/messages/bounce/"))
        or name.startswith(("flanker/messages/complaints/", "flanker/messages/disposition"))
    ]
    reasons: dict[str, int] = {}
    missed = []
    for name in names:
        found = automatic_reason(parsed_corpus_message(name), own_addresses=OWN)
        if found is None:
            missed.append(name)
        else:
            reasons[str(found.reason)] = reasons.get(str(found.reason), 0) + 1
    report(
        f"loop protection: {len(names) - len(missed)}/{len(names)} sisimai and flanker machine "
        f"messages classified automatic; by first reason {dict(sorted(reasons.items()))}; "
        f"not: {', '.join(missed) or 'none'}"
    )
    # A person forwarding a bounce, and a mailing list's loop alert written like a letter.
    assert sorted(missed) == [
        "sisimai/maildir/bsd/lhost-fml-03.eml",
        "sisimai/maildir/bsd/lhost-sendmail-14.eml",
    ]


def test_human_mail_is_not_automatic(corpus: Corpus, report: Report) -> None:
    names = [name for name in corpus.files("rfc822") if name.startswith(HUMAN_FOLDERS)]
    flagged = {}
    for name in names:
        parsed = parsed_corpus_message(name)
        found = automatic_reason(parsed, own_addresses=OWN)
        if found is not None:
            flagged[name] = found
        elif parsed.from_address is not None and "@" in parsed.from_address.address:
            allowed, why = should_auto_reply(parsed, own_addresses=OWN)
            assert allowed, (name, why)
    report(f"loop protection: {len(names) - len(flagged)}/{len(names)} human messages human")
    assert flagged == {}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-replied\n", AutomaticReason.AUTO_SUBMITTED),
        ("Auto-Submitted: auto-generated (failure)\n", AutomaticReason.AUTO_SUBMITTED),
        ("Precedence: bulk\n", AutomaticReason.PRECEDENCE),
        ("Precedence: junk\n", AutomaticReason.PRECEDENCE),
        ("Precedence: list\n", AutomaticReason.PRECEDENCE),
        ("Precedence: auto_reply\n", AutomaticReason.PRECEDENCE),
        ("X-Precedence: bulk\n", AutomaticReason.PRECEDENCE),
        ("List-Id: <users.lists.example.org>\n", AutomaticReason.LIST),
        ("List-Unsubscribe: <mailto:leave@example.org>\n", AutomaticReason.LIST),
        ("List-Post: <mailto:users@example.org>\n", AutomaticReason.LIST),
        ("Return-Path: <>\n", AutomaticReason.NULL_RETURN_PATH),
        ("X-Autoreply: yes\n", AutomaticReason.AUTORESPONDER_HEADER),
        ("X-Autorespond: Out of office\n", AutomaticReason.AUTORESPONDER_HEADER),
        ("X-Auto-Response-Suppress: All\n", AutomaticReason.AUTORESPONDER_HEADER),
        ("X-Loop: anna@customer.example\n", AutomaticReason.AUTORESPONDER_HEADER),
        ("X-Apple-Action: VACATION\n", AutomaticReason.AUTORESPONDER_HEADER),
        (f"{DEFAULT_LOOP_HEADER}: 1\n", AutomaticReason.LOOP_HEADER),
        (
            "Content-Type: multipart/report; report-type=disposition-notification; boundary=b\n",
            AutomaticReason.REPORT,
        ),
    ],
)
def test_automatic_signals(headers: str, reason: AutomaticReason) -> None:
    parsed = parse_message(_message(headers))
    found = automatic_reason(parsed, own_addresses=OWN)
    assert found is not None
    assert found.reason == reason
    allowed, why = should_auto_reply(parsed, own_addresses=OWN)
    assert not allowed
    assert str(reason) in why


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: no\n",
        "Precedence: first-class\n",
        "X-Auto-Response-Suppress: DR, RN, NRN\n",  # Outlook puts this on ordinary mail
        "Return-Path: <anna@customer.example>\n",
        "X-Mailer: Microsoft Outlook 16.0\n",
    ],
)
def test_human_signals(headers: str) -> None:
    parsed = parse_message(_message(headers))
    assert automatic_reason(parsed, own_addresses=OWN) is None
    assert should_auto_reply(parsed, own_addresses=OWN) == (True, "human mail")


def test_suppression_request_is_honoured_for_human_mail() -> None:
    parsed = parse_message(_message("X-Auto-Response-Suppress: OOF, AutoReply\n"))
    assert automatic_reason(parsed, own_addresses=OWN) is None
    allowed, why = should_auto_reply(parsed, own_addresses=OWN)
    assert not allowed
    assert "X-Auto-Response-Suppress" in why


@pytest.mark.parametrize(
    "sender",
    ["MAILER-DAEMON@mx.example.net", "postmaster@example.net", "noreply@shop.example"],
)
def test_mail_system_and_no_reply_senders(sender: str) -> None:
    raw = f"From: {sender}\nTo: support@example.com\nSubject: Hi\n\nHello\n".encode()
    found = automatic_reason(parse_message(raw), own_addresses=OWN)
    assert found is not None
    assert found.reason == AutomaticReason.MAIL_SYSTEM_SENDER


@pytest.mark.parametrize(
    "subject", ["Automatic reply: Help", "Out of Office: Help", "Abwesenheitsnotiz: Hilfe"]
)
def test_auto_reply_subjects(subject: str) -> None:
    raw = f"From: anna@customer.example\nSubject: {subject}\n\nI am away.\n".encode()
    found = automatic_reason(parse_message(raw))
    assert found is not None
    assert found.reason == AutomaticReason.AUTO_REPLY_SUBJECT


def test_our_own_addresses_including_plus_tags_and_case() -> None:
    for sender in ("support@example.com", "Support+ab12cd@Example.COM", "help@example.com"):
        raw = f"From: {sender}\nTo: support@example.com\nSubject: x\n\nx\n".encode()
        found = automatic_reason(parse_message(raw), own_addresses=OWN)
        assert found is not None
        assert found.reason == AutomaticReason.OWN_ADDRESS
    other = parse_message(b"From: supporter@example.com\nSubject: x\n\nx\n")
    assert automatic_reason(other, own_addresses=OWN) is None


def test_loop_header_name_is_a_parameter() -> None:
    parsed = parse_message(_message("X-Acme-Loop: yes\n"))
    assert automatic_reason(parsed) is None
    found = automatic_reason(parsed, loop_header="X-Acme-Loop")
    assert found is not None
    assert found.reason == AutomaticReason.LOOP_HEADER


def test_reply_to_pointing_at_us_is_not_answered() -> None:
    parsed = parse_message(_message("Reply-To: support@example.com\n"))
    assert should_auto_reply(parsed, own_addresses=OWN) == (
        False,
        "the reply address is one of our own",
    )


def test_no_sender_address_no_answer() -> None:
    parsed = parse_message(b"Subject: x\n\nx\n")
    assert should_auto_reply(parsed, own_addresses=OWN) == (False, "no address to reply to")
