"""Polling IMAP mailboxes: store first, then move the message to the processed folder.

Each configured mailbox maps to a support address (the channel). A pass takes every message in
the mailbox's folder by UID, commits it with `store_inbound`, and only then moves it (by UID) to
the processed folder. A message that cannot be stored stays where it is and is tried again on the
next pass; one stored whose move failed is found again, recognised as a duplicate, and moved.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted

from supportdesk.mail.inbound import MessageTooLarge, store_inbound
from supportdesk.mail.models import InboundMessage
from supportdesk.mail.recipients import strip_subaddress

logger = logging.getLogger(__name__)

_SECURITY_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
_FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class ImapMailbox:
    """One mailbox to poll, from an entry of SUPPORTDESK_IMAP_MAILBOXES."""

    address: str  # the support address (channel) its mail was sent to
    host: str
    user: str
    password: str = field(repr=False)
    port: int = 993
    security: str = "ssl"  # ssl | starttls | none
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    timeout: float = 60.0

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"

    @classmethod
    def from_setting(cls, entry: dict[str, Any]) -> ImapMailbox:
        missing = [key for key in ("address", "host", "user") if not entry.get(key)]
        if missing:
            raise ImproperlyConfigured(
                f"SUPPORTDESK_IMAP_MAILBOXES entry {entry.get('address', '?')!r} lacks {missing}"
            )
        security = str(entry.get("security", "ssl")).lower()
        if security not in _SECURITY_PORTS:
            raise ImproperlyConfigured(
                f"SUPPORTDESK_IMAP_MAILBOXES: security must be ssl, starttls or none, "
                f"not {security!r}"
            )
        password = entry.get("password")
        if password is None and entry.get("password_env"):
            password = os.environ.get(str(entry["password_env"]))
        if password is None:
            raise ImproperlyConfigured(
                f"SUPPORTDESK_IMAP_MAILBOXES entry {entry['address']!r}: set password or "
                "password_env (the name of an environment variable holding it)"
            )
        return cls(
            address=strip_subaddress(str(entry["address"])),
            host=str(entry["host"]),
            user=str(entry["user"]),
            password=str(password),
            port=int(entry.get("port") or _SECURITY_PORTS[security]),
            security=security,
            folder=str(entry.get("folder", "INBOX")),
            processed_folder=str(entry.get("processed_folder", "Processed")),
            timeout=float(entry.get("timeout", 60)),
        )


def configured_mailboxes() -> list[ImapMailbox]:
    return [ImapMailbox.from_setting(entry) for entry in settings.SUPPORTDESK_IMAP_MAILBOXES]


@dataclass
class PollResult:
    mailbox: str
    stored: int = 0
    duplicates: int = 0
    moved: int = 0
    failed: int = 0  # left in place, tried again next pass
    too_large: int = 0  # left in place; see docs/email.md
    error: str = ""

    def __str__(self) -> str:
        text = (
            f"{self.mailbox}: {self.stored} stored, {self.duplicates} already stored, "
            f"{self.moved} moved, {self.failed} failed, {self.too_large} too large"
        )
        return text + (f" ({self.error})" if self.error else "")


def _connect(mailbox: ImapMailbox) -> BaseMailBox:
    client: BaseMailBox
    if mailbox.security == "ssl":
        client = MailBox(
            mailbox.host,
            mailbox.port,
            timeout=mailbox.timeout,
            ssl_context=ssl.create_default_context(),
        )
    elif mailbox.security == "starttls":
        client = MailBoxStartTls(
            mailbox.host,
            mailbox.port,
            timeout=mailbox.timeout,
            ssl_context=ssl.create_default_context(),
        )
    else:
        client = MailBoxUnencrypted(mailbox.host, mailbox.port, timeout=mailbox.timeout)
    return client.login(mailbox.user, mailbox.password, initial_folder=mailbox.folder)


def _fetch_raw(client: BaseMailBox, uid: str) -> tuple[bytes, int] | None:
    """The message's bytes (without setting \\Seen) and its size, or None if it is gone."""
    status, data = client.client.uid("fetch", uid, "(RFC822.SIZE BODY.PEEK[])")
    if status != "OK":
        raise OSError(f"UID FETCH {uid} failed: {status} {data!r}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            size_match = _FETCH_SIZE.search(item[0])
            raw = bytes(item[1])
            return raw, int(size_match.group(1)) if size_match else len(raw)
    return None


def _header_values(raw: bytes, name: bytes) -> list[str]:
    end = _END_OF_HEADERS.search(raw)
    head = raw[: end.start()] if end else raw[:65536]
    pattern = re.compile(rb"^" + re.escape(name) + rb"[ \t]*:(.*)$", re.IGNORECASE | re.M)
    return [m.group(1).decode("utf-8", "replace").strip() for m in pattern.finditer(head)]


def poll_mailbox(
    mailbox: ImapMailbox,
    *,
    store: Callable[..., tuple[InboundMessage, bool]] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> PollResult:
    """One pass over one mailbox. Never raises for a server or database problem: the result
    says what happened and the next pass tries again."""
    store = store or store_inbound
    result = PollResult(mailbox=mailbox.label)
    try:
        client = _connect(mailbox)
    except Exception as exc:
        logger.warning("IMAP %s: cannot connect or log in: %s", mailbox.label, exc)
        result.error = f"connect: {exc}"
        return result
    try:
        if not client.folder.exists(mailbox.processed_folder):
            client.folder.create(mailbox.processed_folder)
        for uid in client.uids("ALL"):
            if should_stop():
                break
            fetched = _fetch_raw(client, uid)
            if fetched is None:
                continue
            raw, size = fetched
            if size > settings.SUPPORTDESK_MAIL_MAX_BYTES:
                logger.error(
                    "IMAP %s: UID %s is %d bytes, over SUPPORTDESK_MAIL_MAX_BYTES; left in place",
                    mailbox.label,
                    uid,
                    size,
                )
                result.too_large += 1
                continue
            return_path = _header_values(raw, b"Return-Path")
            delivered_to = _header_values(raw, b"Delivered-To") + _header_values(
                raw, b"X-Original-To"
            )
            envelope_to = list(
                dict.fromkeys([mailbox.address, *(a.strip("<>") for a in delivered_to)])
            )
            close_old_connections()
            try:
                _, created = store(
                    raw,
                    source=InboundMessage.Source.IMAP,
                    channel=mailbox.address,
                    envelope_from=return_path[0].strip("<> ") if return_path else "",
                    envelope_to=envelope_to,
                    peer=f"{mailbox.host}:{mailbox.port}",
                    mailbox=f"{mailbox.user}/{mailbox.folder}",
                    uid=int(uid),
                )
            except MessageTooLarge:
                result.too_large += 1
                continue
            except Exception:
                logger.exception(
                    "IMAP %s: could not store UID %s; left in place", mailbox.label, uid
                )
                result.failed += 1
                close_old_connections()
                continue
            if created:
                result.stored += 1
            else:
                result.duplicates += 1
            # Only now, with the message committed, is it moved off the server's to-do folder.
            client.move(uid, mailbox.processed_folder)
            result.moved += 1
    except Exception as exc:
        logger.warning("IMAP %s: pass interrupted: %s", mailbox.label, exc)
        result.error = str(exc)
    finally:
        close_old_connections()
        with contextlib.suppress(Exception):  # the connection may already be gone
            client.logout()
    return result


def poll_all(
    mailboxes: list[ImapMailbox] | None = None, *, should_stop: Callable[[], bool] = lambda: False
) -> list[PollResult]:
    return [
        poll_mailbox(mailbox, should_stop=should_stop)
        for mailbox in (configured_mailboxes() if mailboxes is None else mailboxes)
        if not should_stop()
    ]
