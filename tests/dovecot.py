"""A throw-away Dovecot IMAP server on a loopback port (configuration from ../shared/DOVECOT.md), with
OAuth2 sign-in (XOAUTH2, OAUTHBEARER) checked by a token introspection endpoint when asked for."""
from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CONFIG = """protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
{oauth2_passdb}userdb {{
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
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
"""
# Dovecot 2.3's oauth2 passdb: each XOAUTH2/OAUTHBEARER login asks the introspection endpoint (RFC 7662,
# POST token=…) whether the token is active and whose it is; a token of another user is refused too.
OAUTH2_PASSDB = """passdb {{
  driver = oauth2
  mechanisms = {mechanisms}
  args = {d}/oauth2.conf
}}
"""
OAUTH2_CONFIG = """introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
"""
# A password no page would show by chance (labels such as "Client secret" hold the common words).
USER, PASSWORD = "support@test", "imap-pass-4821"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by itself: (certificate, key) as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1")),
                                                               x509.DNSName("localhost")]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Dovecot:
    """``tls``: also IMAPS on ``tls_port`` and STARTTLS on ``port``, with a self-signed certificate
    (``certificate``, to give the client as its CA). ``oauth2_introspection_url``: also OAuth2 sign-in
    by ``oauth2_mechanisms``, each token checked there (the password still works, for the helpers below)."""

    def __init__(self, tls: bool = False, oauth2_introspection_url: str = "",
                 oauth2_mechanisms: tuple[str, ...] = ("xoauth2", "oauthbearer")) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dovecot-", dir="/tmp"))
        os.chmod(self.dir, 0o755)  # the login process runs as dovenull
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        for name in ("mail", "state", "run"):
            (self.dir / name).mkdir()
        (self.dir / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        ssl = "ssl = no"
        if tls:
            self.certificate, key = self_signed_certificate(self.dir)
            ssl = f"ssl = yes\nssl_cert = <{self.certificate}\nssl_key = <{key}"
        mechanisms, oauth2_passdb = "plain login", ""
        if oauth2_introspection_url:
            mechanisms = " ".join(("plain", "login", *oauth2_mechanisms))
            oauth2_passdb = OAUTH2_PASSDB.format(d=self.dir, mechanisms=" ".join(oauth2_mechanisms))
            (self.dir / "oauth2.conf").write_text(OAUTH2_CONFIG.format(url=oauth2_introspection_url))
        (self.dir / "dovecot.conf").write_text(CONFIG.format(d=self.dir, port=self.port, tls_port=self.tls_port,
                                                             ssl=ssl, mechanisms=mechanisms,
                                                             oauth2_passdb=oauth2_passdb))
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
        client.create(f'"{folder}"')  # the standard library's imaplib does not quote
        client.logout()

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        client.append(folder, None, None, raw)
        client.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        client = self.client()
        _, count = client.select(f'"{folder}"')
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
