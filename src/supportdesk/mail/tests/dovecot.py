"""A real Dovecot IMAP server for the tests: Debian's `dovecot-imapd`, started on loopback on a
free port as an unprivileged process, with its own configuration directory, a passwd-file of
users and Maildir storage. Never the system's Dovecot."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from supportdesk.mail.tests.transport_helpers import free_port

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "imap-test-password"

CONFIG = """\
instance_name = supportdesk-test-{port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {user}
default_internal_user = {user}
default_internal_group = {group}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
mail_uid = {user}
mail_gid = {group}
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = {user}
}}
service stats {{
  user = {user}
}}
"""


@dataclass
class Dovecot:
    port: int
    root: Path

    def connect(self, user: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        client.login(user, PASSWORD)
        return client

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        client = self.connect(user)
        try:
            status, data = client.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
            assert status == "OK", data
        finally:
            client.logout()

    def message_ids(self, user: str, folder: str = "INBOX") -> list[str]:
        """The Message-ID header of each message in `folder` (UID order)."""
        client = self.connect(user)
        try:
            status, _ = client.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            _, data = client.uid("search", "ALL")
            found = []
            for uid in data[0].split():
                _, fetched = client.uid("fetch", uid, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                header = fetched[0][1].decode().strip()
                found.append(header.partition(":")[2].strip())
            return found
        finally:
            client.logout()


@contextmanager
def dovecot_server(users: list[str]) -> Iterator[Dovecot]:
    if not Path(DOVECOT).exists():
        pytest.fail(
            f"{DOVECOT} is missing: the IMAP tests need Debian's dovecot-imapd "
            "(`make test` installs it; or `apt-get install dovecot-imapd`)"
        )
    # Unprivileged: as ourselves, or as `nobody` when the tests run as root.
    as_root = os.getuid() == 0
    account = pwd.getpwnam("nobody") if as_root else pwd.getpwuid(os.getuid())
    group = grp.getgrgid(account.pw_gid).gr_name
    root = Path(tempfile.mkdtemp(prefix="supportdesk-dovecot-"))
    port = free_port()
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    (root / "dovecot.conf").write_text(
        CONFIG.format(root=root, port=port, user=account.pw_name, group=group)
    )
    (root / "users").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in users))
    if as_root:
        for path in (root, *root.rglob("*")):
            os.chown(path, account.pw_uid, account.pw_gid)
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        user=account.pw_uid if as_root else None,
        group=account.pw_gid if as_root else None,
        extra_groups=[] if as_root else None,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                imaplib.IMAP4("127.0.0.1", port, timeout=5).logout()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (
                        (root / "dovecot.log").read_text()
                        if (root / "dovecot.log").exists()
                        else ""
                    )
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"Dovecot did not start:\n{output}\n{log}")
                time.sleep(0.1)
        yield Dovecot(port=port, root=root)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
