"""A throw-away Dovecot IMAP server on a loopback port (configuration from ../shared/DOVECOT.md)."""
from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CONFIG = """protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/mail/%u
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
"""
USER, PASSWORD = "support@test", "secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dovecot-", dir="/tmp"))
        os.chmod(self.dir, 0o755)  # the login process runs as dovenull
        self.port = free_port()
        for name in ("mail", "state", "run"):
            (self.dir / name).mkdir()
        (self.dir / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (self.dir / "dovecot.conf").write_text(CONFIG.format(d=self.dir, port=self.port))
        shutil.chown(self.dir / "mail", "dovecot", "dovecot")

    def start(self) -> None:
        # Dovecot forks into the background: it must not keep a pipe of ours open.
        subprocess.run(["dovecot", "-c", str(self.dir / "dovecot.conf")], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not start: {(self.dir / 'log').read_text() if (self.dir / 'log').exists() else ''}")

    def stop(self) -> None:
        pid_file = self.dir / "run" / "master.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                    time.sleep(0.1)
                except ProcessLookupError:
                    break

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(USER, PASSWORD)
        return client

    def create(self, folder: str) -> None:
        client = self.client()
        client.create(folder)
        client.logout()

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        client.append(folder, None, None, raw)
        client.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        client = self.client()
        _, count = client.select(folder)
        data = client.fetch("1:*", "(FLAGS)")[1] if int(count[0] or 0) else []
        client.logout()
        return [item for item in data if item]

    def forget_uids(self) -> None:
        """Make the server start a new UIDVALIDITY for INBOX (as after a mailbox is rebuilt)."""
        self.stop()
        for path in (self.dir / "mail").rglob("dovecot*"):
            if path.is_file():
                path.unlink()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
