"""store_inbound: one committed row per channel and message, whatever the races."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from django.db import connection

from supportdesk.core.testing import run_concurrently
from supportdesk.mail import inbound
from supportdesk.mail.inbound import MessageTooLarge, header_message_id, store_inbound
from supportdesk.mail.models import InboundMessage
from supportdesk.mail.recipients import recipient_channel, strip_subaddress
from supportdesk.mail.tests.transport_helpers import make_message

CHANNEL = "support@acme-support.test"


def store(raw: bytes, channel: str = CHANNEL, **extra: Any) -> tuple[InboundMessage, bool]:
    return store_inbound(
        raw,
        source="lmtp",
        channel=channel,
        envelope_from="alice@acme.test",
        envelope_to=[channel],
        **extra,
    )


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids whose processing task was enqueued (with the message, so never for one that
    was rolled back)."""
    calls: list[int] = []
    monkeypatch.setattr(inbound, "_enqueue_processing", calls.extend)
    return calls


def test_header_message_id_reads_the_header_block_only():
    raw = b"Subject: x\r\nMessage-Id:\r\n  <abc@x.test>\r\n\r\nMessage-ID: <body@x.test>\r\n"
    assert header_message_id(raw) == "<abc@x.test>"
    assert header_message_id(b"Subject: x\r\n\r\nMessage-ID: <body@x.test>\r\n") is None
    assert header_message_id(b"Message-ID: bare@x.test\n\nbody") == "<bare@x.test>"


@pytest.mark.django_db
def test_a_new_message_is_committed_with_its_delivery_facts(after_commit, enqueued):
    raw = make_message()
    with after_commit():
        message, created = store(raw, peer="127.0.0.1:4000", mailbox="", uid=None)
    assert created
    message.refresh_from_db()
    assert bytes(message.raw) == raw
    assert message.channel == CHANNEL
    assert message.dedupe_key == message.message_id == "<m1@acme.test>"
    assert message.size == len(raw)
    assert message.sha256 == hashlib.sha256(raw).hexdigest()
    assert (message.envelope_from, message.envelope_to) == ("alice@acme.test", [CHANNEL])
    assert message.state == InboundMessage.State.RECEIVED
    assert enqueued == [message.pk]


@pytest.mark.django_db
def test_the_same_message_id_is_stored_once_per_channel(after_commit, enqueued):
    with after_commit():
        first, created = store(make_message(message_id="<same@acme.test>"))
    # Resent with other bytes (a relay added a header) and a differently written Message-ID.
    with after_commit():
        again, created_again = store(
            make_message(message_id="< same@acme.test >", subject="Our server is down (resent)")
        )
    assert created
    assert not created_again
    assert again.pk == first.pk
    with after_commit():
        other_channel, created_other = store(
            make_message(message_id="<same@acme.test>"), channel="sales@acme-support.test"
        )
    assert created_other
    assert other_channel.pk != first.pk
    assert InboundMessage.objects.count() == 2
    assert enqueued == [first.pk, other_channel.pk]  # not for the duplicate


@pytest.mark.django_db
def test_without_a_message_id_the_bytes_decide(after_commit, enqueued):
    raw = make_message(message_id=None)
    with after_commit():
        first, created = store(raw)
        same, created_same = store(raw)
        other, created_other = store(make_message(message_id=None, body="Another one.\n"))
    assert first.dedupe_key == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert first.message_id == ""
    assert (created, created_same, created_other) == (True, False, True)
    assert same.pk == first.pk != other.pk
    assert len(enqueued) == 2


@pytest.mark.django_db
def test_an_overlong_message_id_is_hashed_into_the_key(after_commit, enqueued):
    long_id = "<" + "x" * 400 + "@acme.test>"
    with after_commit():
        message, _ = store(make_message(message_id=long_id))
    assert message.message_id == long_id
    assert message.dedupe_key == "msgid-sha256:" + hashlib.sha256(long_id.encode()).hexdigest()
    assert store(make_message(message_id=long_id, body="again\n"))[1] is False


@pytest.mark.django_db
def test_a_message_over_the_size_limit_is_refused(settings, enqueued):
    settings.SUPPORTDESK_MAIL_MAX_BYTES = 1000
    with pytest.raises(MessageTooLarge):
        store(make_message(body="x" * 2000))
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_racing_deliveries_of_one_message_store_it_once(enqueued):
    raw = make_message(message_id="<race@acme.test>")
    results = run_concurrently(lambda: store(raw), workers=4)
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len({message.pk for message, _ in results}) == 1
    assert InboundMessage.objects.count() == 1
    assert len(enqueued) == 1


@pytest.mark.django_db(transaction=True)
def test_the_unique_constraint_settles_a_race_the_first_lookup_missed(monkeypatch, enqueued):
    """Both deliveries pass the lookup before either inserts: the loser's insert hits the unique
    constraint, its transaction rolls back, and it returns the winner's row."""
    raw = make_message(message_id="<late@acme.test>")
    winner, _ = store(raw)
    real_filter = InboundMessage.objects.filter

    class Missing:
        def order_by(self) -> Missing:
            return self

        def first(self) -> None:
            return None

    monkeypatch.setattr(InboundMessage.objects, "filter", lambda **kw: Missing())
    loser, created = store(raw)
    monkeypatch.setattr(InboundMessage.objects, "filter", real_filter)
    assert not created
    assert loser.pk == winner.pk
    assert InboundMessage.objects.count() == 1
    assert connection.in_atomic_block is False


def test_recipients_map_to_their_channel(settings):
    settings.SUPPORTDESK_MAIL_ADDRESSES = ["support@acme-support.test"]
    settings.SUPPORTDESK_MAIL_DOMAINS = ["help.acme.test"]
    settings.SUPPORTDESK_MAIL_REFUSE_UNKNOWN_RECIPIENTS = True
    assert strip_subaddress("Support+AbC123@Acme-Support.TEST") == "support@acme-support.test"
    assert recipient_channel("support+tok3n@acme-support.test") == "support@acme-support.test"
    assert recipient_channel("<SUPPORT@acme-support.test>") == "support@acme-support.test"
    assert recipient_channel("billing+x@help.acme.test") == "billing@help.acme.test"
    assert recipient_channel("someone@elsewhere.test") is None
    assert recipient_channel("support@acme-support.test.evil.test") is None
    assert recipient_channel("not-an-address") is None
    settings.SUPPORTDESK_MAIL_REFUSE_UNKNOWN_RECIPIENTS = False
    assert recipient_channel("Someone+x@Elsewhere.test") == "someone@elsewhere.test"


@pytest.fixture
def database_task_queue(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db
def test_with_the_database_task_queue_the_task_is_written_with_the_message(
    database_task_queue, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message, created = store(make_message(message_id="<queued@acme.test>"))
    assert created
    # One transaction: the task row is there before (and without) any after-commit callback.
    assert callbacks == []
    task_row = DBTaskResult.objects.get()
    assert task_row.task_path == "supportdesk.mail.tasks.process_inbound_task"
    assert task_row.args_kwargs == {"args": [message.pk], "kwargs": {}}
    # A duplicate delivery enqueues nothing more.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again, created_again = store(make_message(message_id="<queued@acme.test>"))
    assert (again.pk, created_again, callbacks) == (message.pk, False, [])
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
def test_a_failed_enqueue_in_the_transaction_still_stores_the_message(
    database_task_queue, monkeypatch
):
    from django_tasks_db.models import DBTaskResult

    from supportdesk.core import tasks

    def broken(task: Any, args_list: Any) -> None:
        DBTaskResult.objects.create(id=str(uuid.uuid4()))
        raise RuntimeError("queue table unavailable")

    monkeypatch.setattr(tasks, "_insert_task_rows", broken)
    message, created = store(make_message(message_id="<enqueue-fails@acme.test>"))
    assert created
    assert InboundMessage.objects.filter(pk=message.pk).exists()
    # The failed enqueue's writes were rolled back with its savepoint; the repair sweep
    # re-drives the RECEIVED message.
    assert not DBTaskResult.objects.exists()
