"""Quarantine (retry, discard), hostile input, outgoing headers and retries, concurrency."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core import mail as django_mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend

from supportdesk.accounts.models import User
from supportdesk.core.testing import run_concurrently
from supportdesk.mail import services
from supportdesk.mail.inbound import store_inbound
from supportdesk.mail.models import InboundMessage, OutboundMail
from supportdesk.mail.outbound import outbound_redrive, outbound_send, reply_to_address
from supportdesk.mail.parsing import REPLY_SEPARATOR, verify_reply_token
from supportdesk.mail.parsing.tokens import token_from_address
from supportdesk.mail.processing import process_inbound
from supportdesk.mail.services import inbound_redrive
from supportdesk.mail.tests.conftest import SUPPORT, build_mail, store
from supportdesk.tickets.models import Message, Ticket
from supportdesk.tickets.services import ticket_reply_add

REPO_ROOT = Path(__file__).resolve().parents[4]
CORPUS = REPO_ROOT / "testdata" / "email-corpus"


@pytest.mark.django_db
def test_unprocessable_mail_is_quarantined_then_retried(
    deliver: Any, after_commit: Any, contact: User
) -> None:
    contact.is_active = False
    contact.save()
    inbound = deliver(build_mail())
    assert inbound.state == InboundMessage.State.QUARANTINED
    assert inbound.attempts == 1
    assert "deactivated" in inbound.error
    assert inbound.ticket is None
    assert not Ticket.objects.exists()

    contact.is_active = True
    contact.save()
    with after_commit():
        services.inbound_retry(actor=contact_agent(), inbound=inbound)
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.PROCESSED
    assert inbound.ticket is not None
    assert inbound.error == ""
    assert inbound.attempts == 2


def contact_agent() -> User:
    from supportdesk.accounts.models import Role
    from supportdesk.core.testing import make_user

    return make_user(Role.AGENT)


@pytest.mark.django_db
def test_quarantined_mail_can_be_discarded_not_retried_twice(deliver: Any) -> None:
    inbound = deliver(b"Subject: no sender at all\r\n\r\nhello\r\n", envelope_from="")
    assert inbound.state == InboundMessage.State.QUARANTINED
    assert "sender" in inbound.error
    agent = contact_agent()
    services.inbound_discard(actor=agent, inbound=inbound)
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.DISCARDED
    assert bytes(inbound.raw).startswith(b"Subject: no sender")  # the raw is kept
    with pytest.raises(ValidationError):
        services.inbound_retry(actor=agent, inbound=inbound)


def _malformed_corpus_files() -> list[str]:
    with (CORPUS / "index.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        row["file"]
        for row in rows
        if "malformed" in row["expected"] or row["file"].startswith("cpython/data/msg_")
    ]


@pytest.mark.django_db
def test_hostile_and_malformed_corpus_mail_never_escapes(deliver: Any) -> None:
    """Every malformed message of the corpus (and CPython's email test messages) ends processed
    or quarantined with a reason — never an exception, never left received."""
    files = _malformed_corpus_files()
    assert len(files) > 30, "the corpus is missing (testdata/email-corpus)"
    states: dict[str, int] = {}
    for name in files:
        raw = (CORPUS / name).read_bytes()
        inbound = deliver(raw, envelope_from="", dedupe_key=name)
        states[inbound.state] = states.get(inbound.state, 0) + 1
        assert inbound.state in (
            InboundMessage.State.PROCESSED,
            InboundMessage.State.QUARANTINED,
        ), name
        if inbound.state == InboundMessage.State.QUARANTINED:
            assert inbound.error, name
        elif inbound.ticket_message is not None:
            assert inbound.ticket_message.body_text or inbound.ticket_message.body_html
    assert states.get(InboundMessage.State.PROCESSED, 0) > len(files) // 2


class RecordingBackend(BaseEmailBackend):
    """Records, at the moment of sending, what the database holds about each mail."""

    seen: ClassVar[list[tuple[str, str | None]]] = []
    fail = False

    def send_messages(self, email_messages: Any) -> int:
        for message in email_messages:
            message_id = message.extra_headers["Message-ID"]
            state = (
                OutboundMail.objects.filter(message_id=message_id)
                .values_list("state", flat=True)
                .first()
            )
            RecordingBackend.seen.append((message_id, state))
            if RecordingBackend.fail:
                raise ConnectionRefusedError("smtp down")
            django_mail.outbox.append(message)
        return len(email_messages)


@pytest.mark.django_db(transaction=True)
def test_outgoing_reply_headers_and_message_id_stored_before_sending(
    settings: Any, contact: User, agent: User
) -> None:
    settings.EMAIL_BACKEND = "supportdesk.mail.tests.test_quarantine_and_outgoing.RecordingBackend"
    RecordingBackend.seen = []
    first = store(build_mail(message_id="<first@mail.example>"))
    process_inbound(first.pk)
    first.refresh_from_db()
    ticket = first.ticket
    assert ticket is not None
    ack = OutboundMail.objects.get(ticket=ticket)
    ticket_reply_add(actor=agent, ticket=ticket, status_part="Fixed in 4.2.1", body="Hello")
    reply = OutboundMail.objects.get(ticket=ticket, kind="reply")
    # committed before the SMTP call: the backend saw the row, claimed for sending
    assert (reply.message_id, "sending") in RecordingBackend.seen
    assert reply.state == OutboundMail.State.SENT
    sent = django_mail.outbox[-1]
    headers = sent.extra_headers
    assert headers["Message-ID"] == reply.message_id
    assert reply.message_id.endswith("@supportdesk.test>")
    assert headers["In-Reply-To"] == ack.message_id
    assert headers["References"].split() == ["<first@mail.example>", ack.message_id]
    assert "Auto-Submitted" not in headers  # a person's reply
    assert headers["X-Supportdesk-Loop"]
    token = token_from_address(sent.reply_to[0])
    assert token is not None
    from supportdesk.mail import conf

    assert verify_reply_token(token, conf.reply_token_keys()[0]) == ticket.pk
    assert sent.body.startswith(REPLY_SEPARATOR)
    assert "Fixed in 4.2.1" in sent.body
    assert sent.subject == f"Re: [#{ticket.number}] Search is down"
    html = sent.alternatives[0][0]
    assert REPLY_SEPARATOR in html
    assert "Fixed in 4.2.1" in html


@pytest.mark.django_db
def test_failed_sends_are_retried_with_backoff(
    settings: Any, after_commit: Any, contact: User, agent: User
) -> None:
    import datetime as dt

    from django.utils import timezone

    settings.EMAIL_BACKEND = "supportdesk.mail.tests.test_quarantine_and_outgoing.RecordingBackend"
    RecordingBackend.fail = True
    try:
        with after_commit():
            inbound = store(build_mail())
            process_inbound(inbound.pk)
        ack = OutboundMail.objects.get()
        assert ack.state == OutboundMail.State.QUEUED
        assert ack.attempts == 1
        assert "smtp down" in ack.last_error
        assert ack.next_attempt_at > timezone.now()
        assert outbound_send(ack.pk) is False  # not due yet: nothing happens
        RecordingBackend.fail = False
        later = timezone.now() + dt.timedelta(minutes=2)
        assert outbound_redrive(now=later) == 1
        ack.refresh_from_db()
        assert ack.state == OutboundMail.State.QUEUED  # the redrive enqueued with now()…
        assert outbound_send(ack.pk, now=later) is True
        ack.refresh_from_db()
        assert ack.state == OutboundMail.State.SENT
        assert ack.attempts == 2
        assert outbound_send(ack.pk, now=later) is False  # safe twice
    finally:
        RecordingBackend.fail = False


@pytest.mark.django_db
def test_the_repair_sweep_redrives_old_received_mail(contact: User) -> None:
    import datetime as dt

    from django.utils import timezone

    inbound = store(build_mail())
    assert inbound_redrive() == 0  # too young: the after-commit task is on its way
    InboundMessage.objects.filter(pk=inbound.pk).update(
        received_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert inbound_redrive() == 1  # the immediate task backend processes it right away
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.PROCESSED


@pytest.mark.django_db
def test_the_repair_sweep_leaves_queued_tasks_to_the_queue_and_redrives_orphans(
    settings: Any, contact: User, agent: User
) -> None:
    """With the database task queue: behind a backlog a message is RECEIVED (or its
    acknowledgement QUEUED) for minutes while its task waits; the sweep does not add a second
    task then. A task left RUNNING by a killed worker never runs again: that one is redriven."""
    import datetime as dt

    from django.utils import timezone
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    processing = DBTaskResult.objects.filter(
        task_path="supportdesk.mail.tasks.process_inbound_task"
    )
    inbound, _ = store_inbound(  # as the listener stores: with its processing task
        build_mail(),
        source=InboundMessage.Source.LMTP,
        channel=SUPPORT,
        envelope_from="alice@acme.test",
        envelope_to=[SUPPORT],
    )
    InboundMessage.objects.filter(pk=inbound.pk).update(
        received_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert inbound_redrive() == 0  # its processing task is waiting in the queue
    assert processing.count() == 1
    processing.update(status=TaskResultStatus.RUNNING)  # claimed by a worker that was killed
    assert inbound_redrive() == 1
    assert processing.filter(status=TaskResultStatus.READY).count() == 1

    process_inbound(inbound.pk)
    ack = OutboundMail.objects.get()
    # The acknowledgement has no task: the processing task claimed it to send after its commit,
    # which did not happen here (as if that worker died). An agent's reply has its send task.
    assert ack.ticket is not None
    assert ack.state == OutboundMail.State.SENDING
    ticket_reply_add(actor=agent, ticket=ack.ticket, body="Looking into it.")
    reply = OutboundMail.objects.exclude(pk=ack.pk).get()
    sending = DBTaskResult.objects.filter(task_path="supportdesk.mail.tasks.outbound_send_task")
    assert [r.args_kwargs["args"] for r in sending.all()] == [[reply.pk]]
    assert outbound_redrive() == 0  # the acknowledgement's claim has not run out yet
    later = timezone.now() + dt.timedelta(minutes=6)  # past the claim (5 minutes)
    assert outbound_redrive(now=later) == 1  # the acknowledgement; the reply's task is queued
    assert sorted(r.args_kwargs["args"][0] for r in sending.all()) == sorted([ack.pk, reply.pk])
    sending.filter(args_kwargs__args__0=reply.pk).update(status=TaskResultStatus.RUNNING)
    assert outbound_redrive(now=later) == 1  # the reply, whose worker was killed
    assert sending.filter(status=TaskResultStatus.READY).count() == 2


@pytest.mark.django_db
def test_the_processing_task_sends_the_acknowledgement_after_its_commit(
    settings: Any, contact: User, django_capture_on_commit_callbacks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    inbound = store(build_mail())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        process_inbound(inbound.pk)
    ack = OutboundMail.objects.get()
    # Stored first, in the processing transaction, claimed for this task to send after commit.
    assert ack.state == OutboundMail.State.SENDING
    assert ack.claimed_until is not None
    assert ack.attempts == 1
    assert not DBTaskResult.objects.exists()  # no second task
    assert django_mail.outbox == []
    for callback in callbacks:  # the commit
        callback()
    ack.refresh_from_db()
    assert ack.state == OutboundMail.State.SENT
    assert [m.extra_headers["Message-ID"] for m in django_mail.outbox] == [ack.message_id]


@pytest.mark.django_db(transaction=True)
def test_concurrent_processing_makes_one_message(contact: User) -> None:
    inbound = store(build_mail())
    results = run_concurrently(lambda: process_inbound(inbound.pk).state)
    assert results == ["processed"] * 4
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1
    assert OutboundMail.objects.count() == 1


@pytest.mark.django_db
def test_token_of_a_forged_ticket_id_is_ignored(deliver: Any, contact: User) -> None:
    ticket = deliver(build_mail()).ticket
    genuine = reply_to_address(ticket)
    forged = genuine.replace("+" + genuine.split("+")[1][:1], "+z", 1)
    inbound = deliver(build_mail(to=forged, subject="hi", body="x"), envelope_to=[forged])
    assert inbound.ticket != ticket


@pytest.mark.slow
@pytest.mark.django_db
def test_the_whole_corpus_is_processed_or_quarantined(deliver: Any, org: Any) -> None:
    """All 891 corpus messages through processing: none escapes as an exception or stays
    received; bounces are never answered; nothing but human mail is acknowledged."""
    with (CORPUS / "index.csv").open(newline="", encoding="utf-8") as handle:
        files = [row["file"] for row in csv.DictReader(handle)]
    assert len(files) > 800
    kinds: dict[str, int] = {}
    for name in files:
        inbound = deliver((CORPUS / name).read_bytes(), envelope_from="", dedupe_key=name)
        assert inbound.state in ("processed", "quarantined"), name
        kinds[inbound.kind or inbound.state] = kinds.get(inbound.kind or inbound.state, 0) + 1
        if inbound.kind != "human" and inbound.outcome.startswith("New ticket"):
            # automatic mail opened a ticket: it was not acknowledged
            assert not OutboundMail.objects.filter(ticket=inbound.ticket).exists(), name
    assert kinds.get("bounce", 0) > 500
    assert kinds.get("human", 0) > 150
