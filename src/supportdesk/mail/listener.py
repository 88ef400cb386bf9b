"""The LMTP (and plain SMTP) listener: store first, then answer.

A mail server (Postfix, Exim) delivers to it. Each message is committed before the listener
answers 250 — per recipient under LMTP, which answers DATA once for each accepted recipient.
Recipients that are not ours are refused at RCPT with 550; a message over the size limit gets
552; any other failure (database down, disk full, a bug) gets a temporary 451 so the sender keeps
the message and retries. Storing runs in a thread pool so the event loop keeps serving other
clients while a transaction waits for the database.

Group commit: messages whose DATA arrives while a transaction is being committed wait for it to
end, then are stored together in the next one (`deliver_group`). Each client is still answered
only after the commit that contains its message; if the transaction fails, every message of the
group gets the temporary 451 (none of it is stored). On SQLite, whose single write lock every
transaction takes, concurrent deliveries then queue for the lock once per group instead of once
per message.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from supportdesk.core.backends.sqlite3.base import WriterQueue
from supportdesk.mail.inbound import (
    MessageTooLarge,
    NewInbound,
    check_size,
    insert_inbounds,
    stored_inbound,
)
from supportdesk.mail.models import InboundMessage
from supportdesk.mail.recipients import recipient_channel

logger = logging.getLogger(__name__)

# Lines up to 1 MB are taken (RFC 5321 says 1000 octets, but refusing a long line is a permanent
# 500 that bounces a customer's mail; the mail server in front already enforces its own limit).
LINE_LENGTH_LIMIT = 1024 * 1024
SHUTDOWN_GRACE_SECONDS = 30.0
# At most this many messages per group (transaction).
GROUP_LIMIT = 50

InsertFunction = Callable[[Sequence[NewInbound]], list[InboundMessage]]
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure storing the message; try again later"


def parse_bind(value: str) -> tuple[str, int]:
    """'127.0.0.1:2525' / '[::1]:2525' / ':2525' -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - the operator asked for it


def _peer(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "")


def _envelope_sender(mail_from: str | None) -> str:
    return "" if not mail_from or mail_from == "<>" else mail_from


def with_return_path(raw: bytes, envelope_from: str) -> bytes:
    """Prepend the Return-Path header, as the final delivery agent does (RFC 5321 4.4): the
    parser reads the null path `<>` of bounces and auto-replies from it."""
    return b"Return-Path: <" + envelope_from.encode("utf-8", "replace") + b">\r\n" + raw


@dataclass(frozen=True)
class Delivery:
    """One message as the client sent it: DATA with its envelope."""

    raw: bytes
    mail_from: str
    recipients: list[str]
    peer: str


def deliver_group(
    deliveries: list[Delivery], *, source: str, insert: InsertFunction = insert_inbounds
) -> list[list[str]]:
    """Store `deliveries` in one transaction; return, for each, one reply line per recipient.

    Runs in a worker thread (database work). A message is stored once per channel of its
    recipients (support+a@x and support+b@x share one stored message and one answer). The group
    is written with one INSERT for the messages and one for their tasks; if that fails, each is
    written in its own savepoint: one already stored (delivered again) is rolled back alone and
    answered "already stored"; one that fails is rolled back alone and answered 451. If the
    transaction itself fails (the commit, the connection), every message of the group gets 451."""
    answers: list[dict[str, str]] = [{} for _ in deliveries]
    # (delivery index, the message for one channel, its recipients there)
    items: list[tuple[int, NewInbound, list[str]]] = []
    for index, delivery in enumerate(deliveries):
        envelope_from = _envelope_sender(delivery.mail_from)
        message = with_return_path(delivery.raw, envelope_from)
        for channel, channel_recipients in _channels(delivery.recipients).items():
            try:
                check_size(message)
            except MessageTooLarge as exc:
                for recipient in channel_recipients:
                    answers[index][recipient] = f"552 5.3.4 Message too big for this system ({exc})"
                continue
            new = NewInbound(
                raw=message,
                source=source,
                channel=channel,
                envelope_from=envelope_from,
                envelope_to=channel_recipients,
                peer=delivery.peer,
            )
            items.append((index, new, channel_recipients))
    _prepare_connections()
    # Per item: the row, None when stored before (a duplicate), or the failure's answer.
    stored: list[InboundMessage | str | None] = []
    try:
        with transaction.atomic(durable=True):
            stored = _insert_group([new for _, new, _ in items], insert)
    except Exception:
        logger.exception("could not store a group of %d messages", len(deliveries))
        stored = [TEMPORARY_FAILURE] * len(items)
    finally:
        _prepare_connections()
    for (index, new, channel_recipients), inbound in zip(items, stored, strict=True):
        answer = _stored_answer(inbound, new.raw, new.channel)
        for recipient in channel_recipients:
            answers[index][recipient] = answer
    return [
        [found.get(r, "451 4.3.0 Temporary failure; try again later") for r in delivery.recipients]
        for found, delivery in zip(answers, deliveries, strict=True)
    ]


def _insert_group(
    messages: list[NewInbound], insert: InsertFunction
) -> list[InboundMessage | str | None]:
    """All of `messages` at once; if that fails (one was stored before, or cannot be stored),
    one by one, each in a savepoint: the row, None for a duplicate, or 451."""
    if len(messages) > 1:
        try:
            with transaction.atomic():
                return list(insert(messages))
        except Exception:  # one by one below, which answers (and logs) each one's own failure
            logger.debug("storing a group of %d at once failed", len(messages), exc_info=True)
    results: list[InboundMessage | str | None] = []
    for new in messages:
        try:
            with transaction.atomic():
                results.append(insert([new])[0])
        except IntegrityError:
            results.append(None)
        except Exception:
            logger.exception("could not store a message for %s", new.channel)
            results.append(TEMPORARY_FAILURE)
    return results


def _channels(recipients: list[str]) -> dict[str, list[str]]:
    channels: dict[str, list[str]] = {}
    for recipient in recipients:
        channel = recipient_channel(recipient)
        if channel is not None:  # checked at RCPT; settings could change only by restart
            channels.setdefault(channel, []).append(recipient)
    return channels


def _stored_answer(inbound: InboundMessage | str | None, message: bytes, channel: str) -> str:
    """250 for a message committed now, or stored before (looked up: a failure to find it is a
    451, and the sender's retry finds it); a failure's answer as it is."""
    if isinstance(inbound, str):
        return inbound
    if inbound is not None:
        return f"250 2.0.0 stored as inbound message {inbound.pk}"
    try:
        existing = stored_inbound(message, channel=channel)
    except Exception:
        logger.exception("could not find the message already stored for %s", channel)
        _prepare_connections()
        return TEMPORARY_FAILURE
    return f"250 2.0.0 already stored as inbound message {existing.pk}"


def _prepare_connections() -> None:
    """Django's per-request connection hygiene for this storing thread: drop a connection that
    failed or outlived CONN_MAX_AGE (PostgreSQL), so the next message gets a working one. A
    healthy SQLite connection is kept although its CONN_MAX_AGE is 0: reopening the file for every
    message would cost more than storing it."""
    for conn in connections.all(initialized_only=True):
        if (
            conn.vendor == "sqlite"
            and conn.connection is not None
            and not conn.errors_occurred
            and conn.get_autocommit()
        ):
            continue
        conn.close_if_unusable_or_obsolete()


def _writer_queue(connection: BaseDatabaseWrapper) -> WriterQueue | None:
    """This thread's place in the queue of SQLite writers (core/backends/sqlite3), or None
    (PostgreSQL; an in-memory SQLite database)."""
    if connection.vendor != "sqlite":
        return None
    _prepare_connections()
    connection.ensure_connection()
    return getattr(connection, "writers", None)


@dataclass
class ListenerStats:
    sessions: int = 0
    messages: int = 0
    in_flight: int = 0
    open_protocols: set[SMTP] = field(default_factory=set)
    # The database connection of each storing thread (each thread has its own).
    connections: set[BaseDatabaseWrapper] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class MailHandler:
    """aiosmtpd handler: RCPT checks the recipient; DATA stores (grouped, in a thread), then
    answers."""

    def __init__(
        self,
        *,
        source: str,
        executor: ThreadPoolExecutor,
        stats: ListenerStats,
        insert: InsertFunction = insert_inbounds,
    ) -> None:
        self.source = source
        self.executor = executor
        self.stats = stats
        self.insert = insert
        # Deliveries waiting for the group being committed, and whether one is.
        # (Taken by the storing thread: guarded by a lock, not by the event loop, which may be
        # busy stopping while that thread waits for its turn at the database.)
        self._waiting: list[tuple[Delivery, asyncio.Future[list[str]]]] = []
        self._waiting_lock = threading.Lock()
        self._committing: asyncio.Task[None] | None = None

    def _in_thread(
        self,
    ) -> tuple[list[tuple[Delivery, asyncio.Future[list[str]]]], list[list[str]]]:
        """Take the next group and store it (deliver_group()); the group and its answers. Notes
        this thread's database connection so that stop() can close it.

        On SQLite the group is taken once this thread's turn at the write lock has come
        (core/backends/sqlite3): whatever arrived while it waited goes into the group."""
        connection = connections[DEFAULT_DB_ALIAS]
        with self.stats.lock:
            self.stats.connections.add(connection)
        writers = _writer_queue(connection)
        try:
            if writers is not None:
                writers.acquire()
            group = self._take_group()
            if not group:
                return group, []
            deliveries = [delivery for delivery, _ in group]
            try:
                return group, deliver_group(deliveries, source=self.source, insert=self.insert)
            except Exception:  # (deliver_group answers its own failures; a bug, then)
                logger.exception("delivery of a group of %d messages failed", len(group))
                return group, [[TEMPORARY_FAILURE] * len(d.recipients) for d in deliveries]
        finally:
            if writers is not None:
                writers.release()  # (the commit released it; not when nothing was stored)

    def _take_group(self) -> list[tuple[Delivery, asyncio.Future[list[str]]]]:
        with self._waiting_lock:
            group = self._waiting[:GROUP_LIMIT]
            del self._waiting[:GROUP_LIMIT]
            return group

    async def _store(self, delivery: Delivery) -> list[str]:
        """Store `delivery` with whatever else arrives meanwhile; its reply lines after the
        commit."""
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        with self._waiting_lock:
            self._waiting.append((delivery, future))
        if self._committing is None:
            self._committing = asyncio.create_task(self._commit_groups())
        return await future

    async def _commit_groups(self) -> None:
        """One group at a time: all that waits (up to GROUP_LIMIT) goes in the next one."""
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                try:
                    group, answers = await loop.run_in_executor(self.executor, self._in_thread)
                except Exception:  # the executor is shutting down, or storing itself failed
                    group = self._take_group()
                    logger.exception("delivery of a group of %d messages failed", len(group))
                    answers = [[TEMPORARY_FAILURE] * len(d.recipients) for d, _ in group]
                for (_, future), lines in zip(group, answers, strict=True):
                    if not future.done():  # the client may have gone
                        future.set_result(lines)
        finally:
            self._committing = None
            with self._waiting_lock:
                left, self._waiting[:] = list(self._waiting), []
            for _, future in left:  # cancelled while waiting: never stored
                if not future.done():
                    future.set_result(["451 4.3.0 Temporary failure; try again later"])

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if recipient_channel(address) is None:
            return f"550 5.1.1 <{address}>: not a support address here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        delivery = Delivery(
            raw=envelope.original_content or b"",
            mail_from=envelope.mail_from or "",
            recipients=list(envelope.rcpt_tos),
            peer=_peer(session),
        )
        self.stats.in_flight += 1
        try:
            answers = await self._store(delivery)
        except Exception:
            logger.exception("delivery from %s failed", delivery.peer)
            answers = ["451 4.3.0 Temporary failure; try again later"] * len(delivery.recipients)
        finally:
            self.stats.in_flight -= 1
        self.stats.messages += 1
        if self.source == InboundMessage.Source.LMTP:
            return "\r\n".join(answers)
        # SMTP answers once for all recipients: all stored, or (some) not -> retry the whole
        # message; those already stored are recognised as duplicates then.
        if all(a.startswith("250") for a in answers):
            return answers[0]
        if any(a.startswith("4") for a in answers):
            return "451 4.3.0 Temporary failure storing the message; try again later"
        return next(a for a in answers if a.startswith("5"))


def _protocol_class(base: type[SMTP], stats: ListenerStats) -> type[SMTP]:
    class Protocol(base):  # type: ignore[valid-type,misc]
        line_length_limit = LINE_LENGTH_LIMIT

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            if self not in stats.open_protocols:
                stats.sessions += 1
                stats.open_protocols.add(self)
            super().connection_made(transport)

        def connection_lost(self, error: Exception | None) -> None:
            stats.open_protocols.discard(self)
            super().connection_lost(error)

    return Protocol


class Listener:
    """One listening socket speaking LMTP (or SMTP), run on an asyncio event loop."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        smtp: bool = False,
        threads: int | None = None,
        insert: InsertFunction = insert_inbounds,
        hostname: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.source = InboundMessage.Source.SMTP if smtp else InboundMessage.Source.LMTP
        self.stats = ListenerStats()
        self.threads = threads or settings.SUPPORTDESK_MAIL_LISTENER_THREADS
        self.executor = ThreadPoolExecutor(
            max_workers=self.threads,
            thread_name_prefix="mail-store",
        )
        self.handler = MailHandler(
            source=self.source, executor=self.executor, stats=self.stats, insert=insert
        )
        self.hostname = hostname or socket.gethostname()
        self._protocol = _protocol_class(SMTP if smtp else LMTP, self.stats)
        self._server: asyncio.base_events.Server | None = None

    def _make_protocol(self) -> SMTP:
        return self._protocol(
            self.handler,
            data_size_limit=settings.SUPPORTDESK_MAIL_MAX_BYTES,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.hostname,
            ident="supportdesk",
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._make_protocol, host=self.host, port=self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop accepting connections, let messages being stored finish (up to `grace`
        seconds), then close the remaining connections; a client cut off mid-message never saw
        250 for it and retries."""
        if self._server is not None:
            self._server.close()
        deadline = asyncio.get_running_loop().time() + grace
        while self.stats.in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        for protocol in list(self.stats.open_protocols):
            if protocol.transport is not None:
                protocol.transport.close()
        await asyncio.sleep(0)
        self.executor.shutdown(wait=True)
        # Database calls are refused in the event loop's thread (Django's async safety).
        await asyncio.to_thread(self._close_connections)

    def _close_connections(self) -> None:
        """Close the storing threads' database connections (the threads have ended)."""
        with self.stats.lock:
            wrappers = list(self.stats.connections)
            self.stats.connections.clear()
        for wrapper in wrappers:
            wrapper.inc_thread_sharing()
            try:
                wrapper.close()
            finally:
                wrapper.dec_thread_sharing()

    async def serve(
        self, stop: asyncio.Event, ready: Callable[[Listener], Any] | None = None
    ) -> None:
        await self.start()
        if ready is not None:
            ready(self)
        await stop.wait()
        await self.stop()


@contextmanager
def listener_in_thread(
    host: str = "127.0.0.1", port: int = 0, **options: Any
) -> Iterator[Listener]:
    """Run a Listener on its own event loop in a background thread (tests, embedding)."""
    started = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stop = asyncio.Event()
        holder["loop"], holder["stop"] = loop, stop
        listener = Listener(host, port, **options)
        holder["listener"] = listener

        def ready(_: Listener) -> None:
            started.set()

        try:
            loop.run_until_complete(listener.serve(stop, ready))
        except BaseException as exc:  # reported to the caller
            holder["error"] = exc
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="mail-listener", daemon=True)
    thread.start()
    started.wait(30)
    if "error" in holder:
        raise holder["error"]
    try:
        yield holder["listener"]
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(60)
