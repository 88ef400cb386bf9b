"""`supportdesk mail imap` against a real Dovecot on loopback: store first, then move."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from supportdesk.mail import imap
from supportdesk.mail.imap import ImapMailbox, poll_mailbox
from supportdesk.mail.inbound import store_inbound
from supportdesk.mail.models import InboundMessage
from supportdesk.mail.tests.dovecot import PASSWORD, Dovecot, dovecot_server
from supportdesk.mail.tests.transport_helpers import make_message
from supportdesk.tickets.models import Ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SUPPORT = "support@acme-support.test"
SALES = "sales@acme-support.test"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with dovecot_server(["support", "sales"]) as server:
        yield server


@pytest.fixture
def mailboxes(dovecot: Dovecot, settings: Any) -> Iterator[list[dict[str, Any]]]:
    settings.SUPPORTDESK_MAIL_ADDRESSES = [SUPPORT, SALES]
    entries = [
        {
            "address": address,
            "host": "127.0.0.1",
            "port": dovecot.port,
            "security": "none",
            "user": user,
            "password": PASSWORD,
            "processed_folder": "Processed",
        }
        for user, address in (("support", SUPPORT), ("sales", SALES))
    ]
    settings.SUPPORTDESK_IMAP_MAILBOXES = entries
    yield entries
    # Empty both mailboxes for the next test.
    for user in ("support", "sales"):
        client = dovecot.connect(user)
        for folder in ("INBOX", "Processed"):
            status, data = client.select(folder)
            if status == "OK" and int(data[0] or 0) > 0:
                client.store("1:*", "+FLAGS", "\\Deleted")
                client.expunge()
        client.logout()


def test_one_pass_stores_every_message_then_moves_it(dovecot, mailboxes, capsys):
    dovecot.append("support", make_message(message_id="<i1@acme.test>", subject="Printer on fire"))
    dovecot.append(
        "support",
        make_message(
            message_id="<i2@acme.test>",
            subject="Second",
            headers={"Delivered-To": "support+abc@acme-support.test"},
        ).replace(b"From: ", b"Return-Path: <bob@acme.test>\r\nFrom: ", 1),
    )
    dovecot.append("support", make_message(message_id="<i1@acme.test>", subject="Printer on fire"))
    dovecot.append("sales", make_message(message_id="<s1@acme.test>", subject="A quote please"))

    call_command("mail", "imap", "--once")

    out = capsys.readouterr().out
    server = f"127.0.0.1:{dovecot.port}"
    assert f"support@{server}/INBOX: 2 stored, 1 already stored, 3 moved, 0 failed" in out
    assert f"sales@{server}/INBOX: 1 stored, 0 already stored, 1 moved, 0 failed" in out
    assert dovecot.message_ids("support") == []
    assert dovecot.message_ids("support", "Processed") == [
        "<i1@acme.test>",
        "<i2@acme.test>",
        "<i1@acme.test>",
    ]
    assert dovecot.message_ids("sales", "Processed") == ["<s1@acme.test>"]
    stored = {m.message_id: m for m in InboundMessage.objects.all()}
    assert set(stored) == {"<i1@acme.test>", "<i2@acme.test>", "<s1@acme.test>"}
    first = stored["<i1@acme.test>"]
    assert (first.source, first.channel, first.mailbox) == ("imap", SUPPORT, "support/INBOX")
    assert first.uid == 1
    assert first.peer == f"127.0.0.1:{dovecot.port}"
    assert b"Printer on fire" in bytes(first.raw)
    second = stored["<i2@acme.test>"]
    assert second.envelope_from == "bob@acme.test"
    assert second.envelope_to == [SUPPORT, "support+abc@acme-support.test"]
    assert stored["<s1@acme.test>"].channel == SALES
    # Processed into tickets (the test settings run tasks at once).
    assert set(Ticket.objects.values_list("subject", flat=True)) >= {
        "Printer on fire",
        "Second",
        "A quote please",
    }


def test_a_message_that_cannot_be_stored_stays_on_the_server_until_it_can(
    dovecot, mailboxes, monkeypatch
):
    for n in (1, 2, 3):
        dovecot.append("support", make_message(message_id=f"<f{n}@acme.test>"))

    def store_failing_on_f2(raw: bytes, **kwargs: Any) -> tuple[InboundMessage, bool]:
        if b"<f2@acme.test>" in raw:
            raise ConnectionError("database went away")
        return store_inbound(raw, **kwargs)

    monkeypatch.setattr(imap, "store_inbound", store_failing_on_f2)
    support = ImapMailbox.from_setting(mailboxes[0])
    result = poll_mailbox(support, store=store_failing_on_f2)
    assert (result.stored, result.moved, result.failed) == (2, 2, 1)
    assert dovecot.message_ids("support") == ["<f2@acme.test>"]
    assert sorted(InboundMessage.objects.values_list("message_id", flat=True)) == [
        "<f1@acme.test>",
        "<f3@acme.test>",
    ]
    monkeypatch.undo()
    # The command reports the failure with its exit status...
    monkeypatch.setattr(imap, "store_inbound", store_failing_on_f2)
    with pytest.raises(CommandError, match="could not be fetched or stored"):
        call_command("mail", "imap", "--once")
    monkeypatch.undo()
    # ...and the next pass takes it.
    result = poll_mailbox(support)
    assert (result.stored, result.moved, result.failed) == (1, 1, 0)
    assert dovecot.message_ids("support") == []
    assert InboundMessage.objects.count() == 3


def test_a_message_stored_but_not_moved_is_moved_next_time_without_a_duplicate(
    dovecot, mailboxes, monkeypatch
):
    dovecot.append("support", make_message(message_id="<m1@acme.test>"))
    support = ImapMailbox.from_setting(mailboxes[0])

    def move_fails(*args: Any, **kwargs: Any) -> None:
        raise OSError("connection reset")

    monkeypatch.setattr("imap_tools.mailbox.BaseMailBox.move", move_fails)
    first = poll_mailbox(support)
    monkeypatch.undo()
    assert (first.stored, first.moved) == (1, 0)
    assert "connection reset" in first.error
    assert dovecot.message_ids("support") == ["<m1@acme.test>"]
    second = poll_mailbox(support)
    assert (second.stored, second.duplicates, second.moved) == (0, 1, 1)
    assert dovecot.message_ids("support") == []
    assert InboundMessage.objects.count() == 1


def test_too_large_messages_are_left_in_place(dovecot, mailboxes, settings):
    settings.SUPPORTDESK_MAIL_MAX_BYTES = 3000
    dovecot.append("support", make_message(message_id="<big@acme.test>", body="x" * 5000))
    dovecot.append("support", make_message(message_id="<small@acme.test>"))
    result = poll_mailbox(ImapMailbox.from_setting(mailboxes[0]))
    assert (result.stored, result.too_large) == (1, 1)
    assert dovecot.message_ids("support") == ["<big@acme.test>"]


def test_a_wrong_password_is_reported_and_touches_nothing(dovecot, mailboxes):
    dovecot.append("support", make_message(message_id="<pw@acme.test>"))
    wrong = ImapMailbox.from_setting({**mailboxes[0], "password": "nope"})
    result = poll_mailbox(wrong)
    assert result.error.startswith("connect:")
    assert dovecot.message_ids("support") == ["<pw@acme.test>"]
    assert not InboundMessage.objects.exists()


def test_without_mailboxes_the_command_says_what_to_configure(settings):
    settings.SUPPORTDESK_IMAP_MAILBOXES = []
    with pytest.raises(CommandError, match="SUPPORTDESK_IMAP_MAILBOXES"):
        call_command("mail", "imap", "--once")
