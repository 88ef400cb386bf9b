"""The LMTP/SMTP listener on a real socket on 127.0.0.1, with Python's smtplib as the client."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction

from supportdesk.mail import inbound
from supportdesk.mail.inbound import NewInbound, insert_inbounds
from supportdesk.mail.listener import Listener, listener_in_thread
from supportdesk.mail.models import InboundMessage
from supportdesk.mail.tests.transport_helpers import lmtp_client, lmtp_deliver, make_message

pytestmark = pytest.mark.django_db(transaction=True)

SUPPORT = "support@acme-support.test"
SALES = "sales@acme-support.test"


@pytest.fixture(autouse=True)
def _support_addresses(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.SUPPORTDESK_MAIL_ADDRESSES = [SUPPORT, SALES]
    settings.SUPPORTDESK_MAIL_DOMAINS = ["help.acme.test"]
    settings.SUPPORTDESK_MAIL_REFUSE_UNKNOWN_RECIPIENTS = True


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listener_in_thread(threads=2) as running:
        yield running


def test_each_lmtp_recipient_gets_its_own_answer_after_its_message_is_stored(listener):
    raw = make_message(to=f"{SUPPORT}, {SALES}")
    with lmtp_client(listener.port) as client:
        answers = lmtp_deliver(
            client,
            "alice@acme.test",
            ["support+tok3n@acme-support.test", "mallory@elsewhere.test", SALES, SUPPORT],
            raw,
        )
    assert answers["mallory@elsewhere.test"][0] == 550
    assert "not a support address" in answers["mallory@elsewhere.test"][1]
    # support+tok3n and support are one channel: stored once, both answered 250.
    assert {r: code for r, (code, _) in answers.items() if code != 550} == {
        "support+tok3n@acme-support.test": 250,
        SALES: 250,
        SUPPORT: 250,
    }
    stored = {m.channel: m for m in InboundMessage.objects.all()}
    assert set(stored) == {SUPPORT, SALES}
    assert stored[SUPPORT].envelope_to == ["support+tok3n@acme-support.test", SUPPORT]
    assert stored[SALES].envelope_to == [SALES]
    for message in stored.values():
        assert message.source == "lmtp"
        assert message.envelope_from == "alice@acme.test"
        assert message.peer.startswith("127.0.0.1:")
        # The delivery agent's Return-Path, then the bytes exactly as sent.
        assert bytes(message.raw) == b"Return-Path: <alice@acme.test>\r\n" + raw
        assert f"inbound message {message.pk}" in answers[message.channel][1]


def test_the_same_message_delivered_twice_is_stored_once(listener):
    raw = make_message(message_id="<twice@acme.test>")
    with lmtp_client(listener.port) as client:
        first = lmtp_deliver(client, "alice@acme.test", [SUPPORT], raw)
        second = lmtp_deliver(client, "alice@acme.test", [SUPPORT], raw)
    assert first[SUPPORT][0] == second[SUPPORT][0] == 250
    assert "already stored" in second[SUPPORT][1]
    assert InboundMessage.objects.count() == 1


def test_a_bounce_has_the_null_return_path(listener):
    with lmtp_client(listener.port) as client:
        answers = lmtp_deliver(client, "<>", [SUPPORT], make_message(sender="MAILER-DAEMON@x"))
    assert answers[SUPPORT][0] == 250
    message = InboundMessage.objects.get()
    assert message.envelope_from == ""
    assert bytes(message.raw).startswith(b"Return-Path: <>\r\n")


def test_foreign_recipients_are_refused_at_rcpt_and_nothing_is_stored(listener):
    with lmtp_client(listener.port) as client:
        answers = lmtp_deliver(
            client, "spammer@x.test", ["root@acme-support.test", "a@b.test"], make_message()
        )
    assert {code for code, _ in answers.values()} == {550}
    assert not InboundMessage.objects.exists()


def test_any_address_of_a_support_domain_is_accepted(listener):
    with lmtp_client(listener.port) as client:
        answers = lmtp_deliver(client, "a@acme.test", ["billing+x@help.acme.test"], make_message())
    assert answers["billing+x@help.acme.test"][0] == 250
    assert InboundMessage.objects.get().channel == "billing@help.acme.test"


def test_refusing_unknown_recipients_can_be_turned_off(listener, settings):
    settings.SUPPORTDESK_MAIL_REFUSE_UNKNOWN_RECIPIENTS = False
    with lmtp_client(listener.port) as client:
        answers = lmtp_deliver(client, "a@acme.test", ["Anyone+t@Other.test"], make_message())
    assert answers["Anyone+t@Other.test"][0] == 250
    assert InboundMessage.objects.get().channel == "anyone@other.test"


def test_a_message_over_the_size_limit_is_refused_for_good(listener, settings):
    settings.SUPPORTDESK_MAIL_MAX_BYTES = 2000
    with lmtp_client(listener.port) as client:
        big = lmtp_deliver(client, "a@acme.test", [SUPPORT], make_message(body="x" * 5000))
        # Announced with SIZE=: refused at MAIL FROM, before the data is sent.
        client.ehlo_or_helo_if_needed()
        announced = client.mail("a@acme.test", ["SIZE=5000"])
        client.rset()
        small = lmtp_deliver(client, "a@acme.test", [SUPPORT], make_message())
    assert big[SUPPORT][0] == 552
    assert announced[0] == 552
    assert small[SUPPORT][0] == 250
    assert InboundMessage.objects.count() == 1


def test_a_storage_failure_is_a_temporary_451_and_leaves_nothing_behind(monkeypatch):
    """The row is written, then the transaction fails: rolled back, answered 451 — the sender
    keeps the message and retries."""

    def failing_insert(messages: Sequence[NewInbound]) -> list[InboundMessage]:
        with transaction.atomic():
            for new in messages:
                InboundMessage.objects.create(
                    raw=new.raw,
                    size=len(new.raw),
                    sha256="0" * 64,
                    dedupe_key=f"k-{new.channel}",
                    channel=new.channel,
                    source=new.source,
                )
            raise OSError("disk full")

    with (
        listener_in_thread(insert=failing_insert) as listener,
        lmtp_client(listener.port) as client,
    ):
        answers = lmtp_deliver(client, "a@acme.test", [SUPPORT, SALES], make_message())
    assert [code for code, _ in answers.values()] == [451, 451]
    assert all(reply.startswith("4.3.0") for _, reply in answers.values())
    assert not InboundMessage.objects.exists()


def test_when_one_channel_fails_the_others_are_still_answered_250():
    def insert_failing_for_sales(messages: Sequence[NewInbound]) -> list[InboundMessage]:
        if any(new.channel == SALES for new in messages):
            raise ConnectionError("database went away")
        return insert_inbounds(messages)

    with (
        listener_in_thread(insert=insert_failing_for_sales) as listener,
        lmtp_client(listener.port) as client,
    ):
        answers = lmtp_deliver(client, "a@acme.test", [SALES, SUPPORT], make_message())
    assert answers[SALES][0] == 451
    assert answers[SUPPORT][0] == 250
    assert list(InboundMessage.objects.values_list("channel", flat=True)) == [SUPPORT]


@pytest.fixture
def group_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each group the listener stores (each deliver_group call), in order."""
    from supportdesk.mail import listener as listener_module

    sizes: list[int] = []
    deliver_group = listener_module.deliver_group

    def recording_group(deliveries: list[Any], **kwargs: Any) -> list[list[str]]:
        sizes.append(len(deliveries))
        return deliver_group(deliveries, **kwargs)

    monkeypatch.setattr(listener_module, "deliver_group", recording_group)
    return sizes


def test_deliveries_that_arrive_during_a_commit_are_committed_together(group_sizes):
    """Group commit: while one transaction is being committed, the messages of the other
    clients wait and go into the next transaction together; each client is answered after it."""
    first_insert_done = threading.Event()

    def slow_first_insert(messages: Sequence[NewInbound]) -> list[InboundMessage]:
        stored = insert_inbounds(messages)
        if not first_insert_done.is_set():
            first_insert_done.set()
            time.sleep(1.5)  # the other clients' DATA arrives meanwhile
        return stored

    answers: dict[int, dict[str, tuple[int, str]]] = {}

    def client(n: int) -> None:
        if n:
            first_insert_done.wait(10)
        with lmtp_client(running.port) as lmtp:
            raw = make_message(message_id=f"<group-{n}@acme.test>")
            answers[n] = lmtp_deliver(lmtp, "a@acme.test", [SUPPORT], raw)

    with listener_in_thread(insert=slow_first_insert, threads=4) as running:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert [answers[n][SUPPORT][0] for n in range(4)] == [250] * 4
    assert group_sizes == [1, 3]
    stored = {m.message_id: m.pk for m in InboundMessage.objects.all()}
    assert len(stored) == 4
    for n in range(4):
        assert f"inbound message {stored[f'<group-{n}@acme.test>']}" in answers[n][SUPPORT][1]


def test_on_sqlite_a_group_is_taken_when_its_turn_at_the_write_lock_comes(monkeypatch, group_sizes):
    """Deliveries that arrive while the storing thread waits for SQLite's write lock (a worker
    writing) go into the same commit as the one that started the wait."""
    from supportdesk.mail import listener as listener_module

    turn = threading.Event()
    waiting = threading.Event()

    class Queue:  # another process holds the lock until `turn` is set
        def acquire(self) -> None:
            waiting.set()
            turn.wait(10)

        def release(self) -> None:
            pass

    monkeypatch.setattr(listener_module, "_writer_queue", lambda connection: Queue())
    answers: dict[int, dict[str, tuple[int, str]]] = {}

    def client(n: int) -> None:
        with lmtp_client(running.port) as lmtp:
            raw = make_message(message_id=f"<turn-{n}@acme.test>")
            answers[n] = lmtp_deliver(lmtp, "a@acme.test", [SUPPORT], raw)

    with listener_in_thread(threads=4) as running:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(3)]
        threads[0].start()
        assert waiting.wait(10)  # the first delivery's thread waits for the lock
        for thread in threads[1:]:
            thread.start()
        deadline = time.monotonic() + 10
        while len(running.handler._waiting) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)  # all three wait: the first (not taken yet) and the other two
        turn.set()
        for thread in threads:
            thread.join(30)
    assert [answers[n][SUPPORT][0] for n in range(3)] == [250] * 3
    assert group_sizes == [3]  # one commit for all three


def test_a_group_stores_a_message_once_and_answers_each_delivery(settings):
    """In one group: a new message, the same message again (another client), one stored before,
    and one too large. A message that fails is rolled back alone; a transaction that fails
    (the commit) leaves none of the group stored, and each is answered 451."""
    from supportdesk.mail.listener import Delivery, deliver_group

    settings.SUPPORTDESK_MAIL_MAX_BYTES = 4000
    before = deliver_group(
        [Delivery(make_message(message_id="<old@x>"), "a@acme.test", [SUPPORT], "p")],
        source="lmtp",
    )
    assert before[0][0].startswith("250 2.0.0 stored")
    group = [
        Delivery(make_message(message_id="<new@x>"), "a@acme.test", [SUPPORT, SALES], "p"),
        Delivery(make_message(message_id="<new@x>"), "a@acme.test", [SUPPORT], "p"),
        Delivery(make_message(message_id="<old@x>"), "a@acme.test", [SUPPORT], "p"),
        Delivery(make_message(body="x" * 5000), "a@acme.test", [SUPPORT], "p"),
    ]
    answers = deliver_group(group, source="lmtp")
    rows = {(m.channel, m.message_id): m.pk for m in InboundMessage.objects.all()}
    assert len(rows) == 3
    assert answers[0] == [
        f"250 2.0.0 stored as inbound message {rows[(SUPPORT, '<new@x>')]}",
        f"250 2.0.0 stored as inbound message {rows[(SALES, '<new@x>')]}",
    ]
    assert answers[1] == [
        f"250 2.0.0 already stored as inbound message {rows[(SUPPORT, '<new@x>')]}"
    ]
    assert answers[2] == [
        f"250 2.0.0 already stored as inbound message {rows[(SUPPORT, '<old@x>')]}"
    ]
    assert answers[3][0].startswith("552 ")

    def failing_second(messages: Sequence[NewInbound]) -> list[InboundMessage]:
        if any(b"<b@x>" in new.raw for new in messages):
            raise OSError("disk full")
        return insert_inbounds(messages)

    one_failed = deliver_group(
        [
            Delivery(make_message(message_id="<a@x>"), "a@acme.test", [SUPPORT], "p"),
            Delivery(make_message(message_id="<b@x>"), "a@acme.test", [SUPPORT], "p"),
        ],
        source="lmtp",
        insert=failing_second,
    )
    assert [lines[0][:3] for lines in one_failed] == ["250", "451"]
    assert InboundMessage.objects.filter(message_id="<b@x>").count() == 0

    def failing_commit() -> None:
        raise OperationalError("disk I/O error")

    connection.commit = failing_commit  # type: ignore[method-assign]
    try:
        all_failed = deliver_group(
            [
                Delivery(make_message(message_id="<c@x>"), "a@acme.test", [SUPPORT], "p"),
                Delivery(make_message(message_id="<d@x>"), "a@acme.test", [SUPPORT], "p"),
            ],
            source="lmtp",
        )
    finally:
        del connection.commit
    assert [lines[0][:3] for lines in all_failed] == ["451", "451"]
    assert InboundMessage.objects.count() == 4  # old, new twice, a


def test_a_group_of_new_messages_is_written_with_one_insert_and_its_tasks_with_another(settings):
    """With the database task queue: four new messages, two INSERT statements in all, and each
    message has its processing task in the queue when the transaction commits."""
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.models import DBTaskResult

    from supportdesk.mail.listener import Delivery, deliver_group

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    group = [
        Delivery(make_message(message_id=f"<bulk-{n}@x>"), "a@acme.test", [SUPPORT], "p")
        for n in range(4)
    ]
    with CaptureQueriesContext(connection) as queries:
        answers = deliver_group(group, source="lmtp")
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2
    stored = list(InboundMessage.objects.order_by("pk"))
    assert [m.message_id for m in stored] == [f"<bulk-{n}@x>" for n in range(4)]
    assert answers == [[f"250 2.0.0 stored as inbound message {m.pk}"] for m in stored]
    tasks = DBTaskResult.objects.all()
    assert sorted(t.args_kwargs["args"][0] for t in tasks) == [m.pk for m in stored]
    assert {t.task_path for t in tasks} == {"supportdesk.mail.tasks.process_inbound_task"}
    assert all(t.status == "READY" and t.task_result.is_finished is False for t in tasks)
    # What the worker claims: the bulk rows are ready now, like those `enqueue` writes.
    assert DBTaskResult.objects.ready().count() == 4


def test_plain_smtp_answers_once_for_all_recipients(monkeypatch):
    enqueued: list[int] = []
    monkeypatch.setattr(inbound, "_enqueue_processing", enqueued.extend)
    with (
        listener_in_thread(smtp=True) as listener,
        smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as client,
    ):
        refused = client.sendmail(
            "alice@acme.test", [SUPPORT, SALES, "x@elsewhere.test"], make_message()
        )
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("alice@acme.test", ["x@elsewhere.test"], make_message())
    assert set(refused) == {"x@elsewhere.test"}
    assert refused["x@elsewhere.test"][0] == 550
    stored = InboundMessage.objects.order_by("channel")
    assert [(m.channel, m.source) for m in stored] == [(SALES, "smtp"), (SUPPORT, "smtp")]
    assert sorted(enqueued) == sorted(m.pk for m in stored)


def test_lmtp_refuses_helo_and_smtp_refuses_lhlo(listener):
    with lmtp_client(listener.port) as client:
        assert client.docmd("HELO", "x")[0] == 500
        assert client.docmd("LHLO", "x")[0] == 250
    with (
        listener_in_thread(smtp=True) as smtp_listener,
        smtplib.SMTP("127.0.0.1", smtp_listener.port, timeout=30) as client,
    ):
        assert client.docmd("LHLO", "x")[0] == 500


def test_several_clients_are_served_at_once(listener):
    """A client that holds its session open (between transactions) blocks no one."""
    with lmtp_client(listener.port) as idle, lmtp_client(listener.port) as busy:
        idle.ehlo_or_helo_if_needed()
        idle.mail("slow@acme.test")
        for n in range(5):
            answers = lmtp_deliver(
                busy, "a@acme.test", [SUPPORT], make_message(message_id=f"<n{n}@acme.test>")
            )
            assert answers[SUPPORT][0] == 250
        idle.rcpt(SUPPORT)
        code, _ = idle.data(make_message(message_id="<slow@acme.test>"))
    assert code == 250
    assert InboundMessage.objects.count() == 6
    assert listener.stats.sessions == 2
