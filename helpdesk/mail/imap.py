"""Talking IMAP: log in over verified TLS, list new UIDs, fetch a message, flag or move it once taken."""
from __future__ import annotations

import re
import socket
import ssl
import threading
from typing import TYPE_CHECKING, Any

import imaplib2
from flask_babel import gettext as _

from helpdesk.core import oauth2
from helpdesk.mail.models import MailboxSettings


class ImapError(Exception):
    """The server refused something or the connection broke."""


# The mixins below are put before imaplib2's classes: a type checker reads them as its IMAP4, whose methods they
# override and call (super()), while at run time they derive from object alone.
if TYPE_CHECKING:
    _IMAP4 = imaplib2.IMAP4
else:
    _IMAP4 = object


class _Verified(_IMAP4):
    """imaplib2 checks no certificate unless given a CA file, and never the host name: wrap the socket
    with the standard library's default context instead (chain and host name checked). imaplib2 also
    reads and writes from two threads at once, which a TLS connection does not bear (OpenSSL reports an
    "internal error" now and then): reads and writes take turns."""

    tls_turns: threading.Lock | None = None  # none before STARTTLS

    def ssl_wrap_socket(self) -> None:
        context = ssl.create_default_context(cafile=self.ca_certs)
        try:
            self.sock = context.wrap_socket(self.sock, server_hostname=self.host)
        except (OSError, ValueError):
            self.sock.close()  # a certificate refused: imaplib2 would leave the socket open
            raise
        self.read_fd = self.sock.fileno()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # as imaplib2 does
        self.tls_turns = threading.Lock()

    def read(self, size: int) -> bytes:
        turns = self.tls_turns
        if turns is None:
            return super().read(size)
        with turns:  # without waiting: what woke the reader may be a TLS record with no data (a session ticket)
            timeout = self.sock.gettimeout()
            self.sock.setblocking(False)
            try:
                return super().read(size)
            except ssl.SSLWantReadError:
                return b""  # imaplib2 waits a moment and reads again
            finally:
                self.sock.settimeout(timeout)

    def send(self, data: bytes) -> None:
        turns = self.tls_turns
        if turns is None:
            super().send(data)
            return
        with turns:
            super().send(data)


class _IdleStart(imaplib2.imaplib2._IdleCont):
    def process(self, data: bytes, request: imaplib2.imaplib2.Request) -> None:
        super().process(data, request)  # from now on, the reader thread ends the IDLE on any change
        if self.parent._get_untagged_response("EXISTS", leave=True) is not None:
            self.parent._end_idle()  # announced before that: the reader thread did not end it
        return None


class _PromptIdle(_IMAP4):
    """imaplib2's ``idle()`` misses an announcement that comes right after the server's "+ idling" (Dovecot
    tells of mail that came since the last command there): its reader thread handles that line before the
    command's thread has noted that the connection idles, and the IDLE lasts until its timeout. Here the
    command's thread, once it has noted it, ends the IDLE itself if an EXISTS came meanwhile; an EXISTS
    the caller has not taken (``response("EXISTS")``) ends it at once too, as news the caller has not seen."""

    def idle(self, timeout: float | None = None, **kw: Any) -> tuple[str, list[Any]]:
        self.literal = _IdleStart(self, timeout).process
        try:
            return self._simple_command("IDLE", **kw)
        finally:
            self._release_state_change()


class Connection(_Verified, _PromptIdle):
    """What ``connect`` hands out: an imaplib2 connection (verified TLS, prompt IDLE) with its folder selected."""

    selected_uidvalidity: int  # read when the folder was selected (see connect)


class _VerifiedIMAP4(Connection, imaplib2.IMAP4):
    pass


class _VerifiedIMAP4_SSL(Connection, imaplib2.IMAP4_SSL):
    pass


def connect(settings: MailboxSettings) -> Connection:
    """Log in (over TLS unless told otherwise) and select the folder."""
    connection: Connection | None = None
    try:
        if settings.security == "ssl":
            connection = _VerifiedIMAP4_SSL(settings.host, settings.port, ca_certs=settings.ca_file,
                                            timeout=settings.timeout)
        else:
            connection = _VerifiedIMAP4(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                connection.starttls(ca_certs=settings.ca_file)
        if settings.oauth2 is not None:
            _sign_in_with_oauth2(connection, settings, settings.oauth2)
        else:
            connection.login(settings.username, settings.password)
        # Servers tell more after login (MOVE, UIDPLUS…) than in their greeting.
        _, data = connection.capability()
        connection.capabilities = tuple((data[0] or b"").decode().upper().split()) or connection.capabilities
        kind, _ = connection.select(_quoted(settings.folder))
        if kind != "OK":
            raise ImapError(f"cannot open folder {settings.folder}")
        # imaplib2 hands an untagged response out only once: keep it for the whole connection.
        connection.selected_uidvalidity = uidvalidity(connection)
        return connection
    except (OSError, ssl.SSLError, imaplib2.IMAP4.error, imaplib2.IMAP4.abort, ImapError,
            oauth2.OAuth2Error) as error:
        if connection is not None:  # refused login or folder: do not leave the session open
            try:
                connection.logout()
            except Exception:  # noqa: BLE001
                connection.sock.close()
        raise error if isinstance(error, ImapError) else ImapError(str(error)) from error


def _sign_in_with_oauth2(connection: imaplib2.IMAP4, settings: MailboxSettings, grant: oauth2.OAuth2Grant) -> None:
    """AUTHENTICATE with an access token: XOAUTH2 (Microsoft 365, Google), else OAUTHBEARER (RFC 7628)."""
    offered = set(connection.capabilities)
    mechanism = next((name for name in ("XOAUTH2", "OAUTHBEARER") if f"AUTH={name}" in offered), None)
    if mechanism is None:
        raise ImapError(_("The server does not offer OAuth2 sign-in (AUTH=XOAUTH2 or AUTH=OAUTHBEARER): check "
                          "the server name, or sign in with a password."))
    token = oauth2.access_token(grant)
    refusal = _authenticate(connection, mechanism, settings, token.value)
    if refusal and token.from_cache:  # revoked, or expired early: one more try with a new token
        refusal = _authenticate(connection, mechanism, settings, oauth2.access_token(grant, renew=True).value)
    if refusal:
        raise ImapError(_("The mail server refused the access token for %(user)s (%(refusal)s): check that the "
                          "application may open this mailbox (Microsoft 365: the IMAP.AccessAsApp permission "
                          "with admin consent and the mailbox shared with the application; Google Workspace: "
                          "the scope https://mail.google.com/) and that the user name is the mailbox's address.",
                          user=settings.username, refusal=refusal))


def _authenticate(connection: imaplib2.IMAP4, mechanism: str, settings: MailboxSettings, token: str) -> str:
    """One AUTHENTICATE; the server's refusal (empty when it let us in)."""
    initial = (oauth2.xoauth2(settings.username, token) if mechanism == "XOAUTH2"
               else oauth2.oauthbearer(settings.username, token, settings.host, settings.port))
    answers = iter([initial])

    def respond(challenge: bytes) -> bytes:
        # imaplib2 sends what this returns to each "+" continuation: the initial response first; a second
        # continuation carries the server's error (JSON), to which SASL wants an empty line before its NO.
        return next(answers, b"")
    try:
        connection.authenticate(mechanism, respond)
    except imaplib2.IMAP4.error as error:
        reason = error.args[0] if error.args else ""
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason) or mechanism
    return ""


def uidvalidity(connection: imaplib2.IMAP4) -> int:
    _, values = connection.response("UIDVALIDITY")
    return int(values[0]) if values and values[0] else 0


def new_uids(connection: imaplib2.IMAP4, after: int) -> list[int]:
    kind, data = connection.uid("SEARCH", None, "UID", f"{after + 1}:*")
    if kind != "OK":
        raise ImapError(f"UID SEARCH failed: {data}")
    uids = [int(uid) for uid in (data[0] or b"").split()]
    return sorted(uid for uid in uids if uid > after)  # "n:*" always matches the last message


def fetch(connection: imaplib2.IMAP4, uid: int) -> bytes | None:
    kind, data = connection.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if kind != "OK":
        raise ImapError(f"UID FETCH {uid} failed: {data}")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            message: bytes = item[1]  # (header, literal): the literal is the message
            return message
    return None


def mark_processed(connection: imaplib2.IMAP4, uid: int, processed_folder: str) -> None:
    """Move the message to the processed folder, or flag it as seen when there is none."""
    if not processed_folder:
        connection.uid("STORE", str(uid), "+FLAGS", r"(\Seen)")
        return
    if "MOVE" in connection.capabilities:
        kind, data = connection.uid("MOVE", str(uid), _quoted(processed_folder))
    else:
        kind, data = connection.uid("COPY", str(uid), _quoted(processed_folder))
        if kind == "OK":
            connection.uid("STORE", str(uid), "+FLAGS", r"(\Deleted)")
            connection.expunge()
    if kind != "OK":
        raise ImapError(f"cannot move message {uid} to {processed_folder}: {data}")


def message_count(connection: imaplib2.IMAP4, folder: str) -> int | None:
    """How many messages ``folder`` holds; None when there is no such folder."""
    kind, data = connection.status(_quoted(folder), "(MESSAGES)")
    if kind != "OK":
        return None
    match = re.search(rb"MESSAGES (\d+)", data[0] or b"")
    return int(match.group(1)) if match else None


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
