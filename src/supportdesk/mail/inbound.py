"""Store first: the raw bytes of an incoming message and its delivery facts, committed in one
transaction before the listener answers 250 or the IMAP poller moves the message on the server.

Processing (parse, thread, ticket) runs afterwards in `process_inbound_task`, enqueued in the same
transaction when the task queue is this database (django-tasks-db), else after the commit; it can
be re-run. A message is stored once per channel (support address): the same
Message-ID, or without one the same bytes, delivered again returns the row already stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction

from supportdesk.core.tasks import enqueue_each_with_transaction
from supportdesk.mail.models import InboundMessage
from supportdesk.mail.parsing import normalise_message_id

logger = logging.getLogger(__name__)

# The header block ends at the first empty line; Message-ID is one (possibly folded) field of it.
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID_FIELD = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.M)
_DEDUPE_KEY_MAX = 255  # InboundMessage.dedupe_key


class MessageTooLarge(ValueError):
    """The message is bigger than SUPPORTDESK_MAIL_MAX_BYTES: refuse it for good (552)."""


def header_message_id(raw: bytes) -> str | None:
    """The normalised Message-ID of the raw message's header block, or None."""
    end = _END_OF_HEADERS.search(raw)
    head = raw[: end.start()] if end else raw[:65536]
    match = _MESSAGE_ID_FIELD.search(head)
    if match is None:
        return None
    return normalise_message_id(match.group(1).decode("utf-8", "replace"))


def dedupe_key_for(raw: bytes, message_id: str | None) -> str:
    """The normalised Message-ID; "sha256:<hex of the bytes>" without one; an overlong one is
    hashed ("msgid-sha256:<hex>") to fit the column."""
    if message_id is None:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(message_id) > _DEDUPE_KEY_MAX:
        return "msgid-sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
    return message_id


def check_size(raw: bytes) -> None:
    """Raise MessageTooLarge above SUPPORTDESK_MAIL_MAX_BYTES."""
    if len(raw) > settings.SUPPORTDESK_MAIL_MAX_BYTES:
        raise MessageTooLarge(
            f"{len(raw)} bytes is more than the limit of {settings.SUPPORTDESK_MAIL_MAX_BYTES}"
        )


@dataclasses.dataclass(frozen=True)
class NewInbound:
    """One delivered message for one channel, with its delivery facts, to be stored."""

    raw: bytes
    source: str
    channel: str
    envelope_from: str
    envelope_to: list[str]
    peer: str = ""
    mailbox: str = ""
    uid: int | None = None


def store_inbound(
    raw: bytes,
    *,
    source: str,
    channel: str,
    envelope_from: str,
    envelope_to: list[str],
    peer: str = "",
    mailbox: str = "",
    uid: int | None = None,
) -> tuple[InboundMessage, bool]:
    """Commit one delivered message for `channel`; return it and whether it is new.

    Raises MessageTooLarge above SUPPORTDESK_MAIL_MAX_BYTES, and database errors as they come:
    the caller answers with a temporary error then, so that the sender retries. The row is
    committed when this returns (its own, durable transaction). (The LMTP listener commits
    concurrent deliveries together: `listener.deliver_group`.)"""
    check_size(raw)
    new = NewInbound(raw, source, channel, envelope_from, envelope_to, peer, mailbox, uid)
    try:
        # No lookup first: a message delivered again (rare) breaks the unique constraint on
        # channel + dedupe key, and the transaction is rolled back with its task.
        with transaction.atomic(durable=True):
            (inbound,) = insert_inbounds([new])
    except IntegrityError:
        # The same message was stored before, or by a concurrent delivery that committed first
        # (the unique constraint on channel + dedupe key decides): it is stored once.
        return stored_inbound(raw, channel=channel), False
    return inbound, True


def insert_inbounds(messages: Sequence[NewInbound]) -> list[InboundMessage]:
    """Write delivered messages in the current transaction, with one INSERT, and their
    processing tasks (one more INSERT when the task queue is this database, else enqueued after
    the commit). Raises IntegrityError when one of them is stored already (same channel and
    dedupe key): the caller rolls back (a savepoint at least) and stores them one by one."""
    rows = []
    for new in messages:
        message_id = header_message_id(new.raw)
        rows.append(
            InboundMessage(
                channel=new.channel,
                dedupe_key=dedupe_key_for(new.raw, message_id),
                message_id=(message_id or "")[:998],
                source=new.source,
                envelope_from=new.envelope_from[:998],
                envelope_to=list(new.envelope_to),
                mailbox=new.mailbox[:200],
                uid=new.uid,
                peer=new.peer[:200],
                raw=new.raw,
                size=len(new.raw),
                sha256=hashlib.sha256(new.raw).hexdigest(),
            )
        )
    stored = InboundMessage.objects.bulk_create(rows)
    _enqueue_processing([inbound.pk for inbound in stored])
    return stored


def _enqueue_processing(inbound_ids: list[int]) -> None:
    # Robust: once committed the messages are safe; an enqueue failure must not turn the 250
    # into a retry (the mail repair sweep re-drives what stays unprocessed). With the database
    # task queue the task rows are written in this transaction (one commit, not two).
    from supportdesk.mail.tasks import process_inbound_task

    enqueue_each_with_transaction(
        process_inbound_task,
        [(inbound_id,) for inbound_id in inbound_ids],
        robust=True,
        description=f"the processing of inbound messages {inbound_ids}",
    )


def stored_inbound(raw: bytes, *, channel: str) -> InboundMessage:
    """The message already stored for `channel` with the dedupe key of `raw`."""
    key = dedupe_key_for(raw, header_message_id(raw))
    return InboundMessage.objects.get(channel=channel, dedupe_key=key)
