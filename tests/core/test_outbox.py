"""Mail out through a real SMTP server (aiosmtpd on loopback): sent after commit over one session a run,
retried with back-off, never twice."""
import socket
import threading
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from helpdesk.core.models import utcnow
from helpdesk.core.outbox import (DeliveryRun, OutboxMessage, OutboxStatus, SmtpSettings, backoff, deliver_pending,
                                  queue_mail)
from helpdesk.extensions import db


class Inbox:
    """An aiosmtpd handler that keeps what it receives (with the client's address and port, one per
    connection), counts sessions by their EHLO, refuses nobody@ for good and busy@ for now, and answers
    a 421 (closing the session) to a message whose subject says so."""

    def __init__(self):
        self.received, self.sessions = [], 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("busy@"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content)
        if message["Subject"] == "421":
            return "421 4.3.2 shutting down"
        self.received.append((envelope.rcpt_tos, message, session.peer))
        return "250 Message accepted"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """aiosmtpd on a loopback port that can be stopped and started again (as a new controller)."""

    def __init__(self, **options):
        self.inbox, self.port, self.controller, self.options = Inbox(), free_port(), None, options

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class Unavailable:
    """A TCP server on loopback that greets every connection with 421 (a mail server in maintenance)
    and hangs up, counting the connections it was offered."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port, self.connections = self.listener.getsockname()[1], 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.connections += 1
            with connection:
                connection.sendall(b"421 4.3.2 mail.example.org service not available\r\n")

    def close(self):
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def smtp():
    server = Server()
    server.start()
    yield server.inbox, server, SmtpSettings(host="127.0.0.1", port=server.port, sender="suport@example.org",
                                             sender_name="Suport")
    server.stop()


def messages():
    db.session.remove()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def queue(*addresses, subject="Prova"):
    for address in addresses:
        queue_mail([address], subject, "Hola")
    db.session.commit()


def test_queued_mail_goes_out_after_commit_with_its_headers(app, smtp):
    inbox, _, settings = smtp
    queue_mail(["marta@vic.cat"], "Prova", "Hola, Marta", body_html="<p>Hola, Marta</p>",
               headers={"Auto-Submitted": "auto-replied"}, message_id="<1@example.org>")
    db.session.rollback()  # a rolled-back change sends nothing
    assert deliver_pending(settings).sent == 0
    queue_mail(["marta@vic.cat"], "Prova", "Hola, Marta", body_html="<p>Hola, Marta</p>",
               headers={"Auto-Submitted": "auto-replied"}, message_id="<2@example.org>")
    db.session.commit()
    assert deliver_pending(settings).sent == 1
    [(recipients, message, _peer)] = inbox.received
    assert recipients == ["marta@vic.cat"] and message["Message-ID"] == "<2@example.org>"
    assert message["From"] == "Suport <suport@example.org>" and message["Auto-Submitted"] == "auto-replied"
    assert [part.get_content_type() for part in message.walk()][1:] == ["text/plain", "text/html"]
    assert deliver_pending(settings).sent == 0  # never twice
    assert db.session.scalar(select(OutboxMessage)).status is OutboxStatus.SENT


def test_a_run_sends_every_due_message_over_one_session(app, smtp):
    inbox, _, settings = smtp
    queue("marta@vic.cat", "pere@vic.cat", "anna@vic.cat")
    run = deliver_pending(settings)
    assert (run.sent, run.deferred, run.server_error) == (3, 0, "")
    assert inbox.sessions == 1 and len({peer for _, _, peer in inbox.received}) == 1
    assert sorted(recipients[0] for recipients, _, _ in inbox.received) == ["anna@vic.cat", "marta@vic.cat",
                                                                           "pere@vic.cat"]
    assert deliver_pending(settings).sent == 0 and inbox.sessions == 1  # nothing due: no connection at all


def test_a_server_that_is_down_defers_the_whole_run_with_back_off_of_2_4_8_minutes(app, smtp):
    inbox, server, settings = smtp
    server.stop()  # nothing listens on the port
    queue("marta@vic.cat", "pere@vic.cat", "anna@vic.cat")
    now = utcnow()
    run = deliver_pending(settings, now)
    assert (run.sent, run.deferred) == (0, 3) and "ConnectionRefusedError" in run.server_error
    assert "the run was deferred: ConnectionRefusedError" in str(run)  # what the job run records
    for waited, attempts in ((timedelta(minutes=2), 1), (timedelta(minutes=4), 2), (timedelta(minutes=8), 3)):
        assert [(item.status, item.attempts, item.next_attempt_at) for item in messages()] == \
            [(OutboxStatus.PENDING, attempts, now + waited)] * 3
        assert "Connection refused" in messages()[0].last_error
        assert deliver_pending(settings, now + waited - timedelta(seconds=1)).deferred == 0  # backing off
        now += waited
        assert deliver_pending(settings, now).deferred == 3
    server.start()
    assert deliver_pending(settings, now + timedelta(minutes=15)).sent == 0  # 16 minutes after the 4th run
    assert deliver_pending(settings, now + timedelta(minutes=16)).sent == 3
    assert inbox.sessions == 1 and {item.status for item in messages()} == {OutboxStatus.SENT}


def test_the_back_off_doubles_from_2_minutes_up_to_an_hour():
    assert [backoff(attempts) for attempts in range(1, 9)] == [
        timedelta(minutes=minutes) for minutes in (2, 4, 8, 16, 32, 60, 60, 60)]
    assert backoff(10_000) == timedelta(hours=1)


def test_a_server_that_refuses_the_connection_is_tried_once_a_run(app):
    unavailable = Unavailable()
    try:
        queue("marta@vic.cat", "pere@vic.cat", "anna@vic.cat")
        run = deliver_pending(SmtpSettings(host="127.0.0.1", port=unavailable.port, sender="suport@example.org"))
        assert (run.sent, run.deferred) == (0, 3) and "421" in run.server_error
        assert unavailable.connections == 1
        assert [(item.status, item.attempts) for item in messages()] == [(OutboxStatus.PENDING, 1)] * 3
    finally:
        unavailable.close()


def test_a_login_the_server_refuses_defers_the_whole_run_after_one_session(app):
    server = Server(authenticator=lambda *args: AuthResult(success=False, handled=False), auth_require_tls=False)
    server.start()
    try:
        queue("marta@vic.cat", "pere@vic.cat", "anna@vic.cat")
        run = deliver_pending(SmtpSettings(host="127.0.0.1", port=server.port, sender="suport@example.org",
                                           username="desk", password="wrong"))
        assert (run.sent, run.deferred) == (0, 3) and "SMTPAuthenticationError" in run.server_error
        assert server.inbox.sessions == 1 and server.inbox.received == []
        assert [(item.status, item.attempts) for item in messages()] == [(OutboxStatus.PENDING, 1)] * 3
    finally:
        server.stop()


def test_a_session_the_server_closes_mid_run_defers_the_rest_of_the_run(app, smtp):
    inbox, _, settings = smtp
    queue("marta@vic.cat")
    queue("pere@vic.cat", subject="421")  # the server says 421 and smtplib hangs up
    queue("anna@vic.cat")
    now = utcnow()
    run = deliver_pending(settings, now)
    assert (run.sent, run.deferred) == (1, 2) and "421" in run.server_error
    assert inbox.sessions == 1 and [recipients for recipients, _, _ in inbox.received] == [["marta@vic.cat"]]
    assert [(item.status, item.attempts, item.next_attempt_at) for item in messages()[1:]] == \
        [(OutboxStatus.PENDING, 1, now + timedelta(minutes=2))] * 2


def test_a_refused_recipient_fails_for_good_with_the_reason_and_a_busy_one_waits(app, smtp):
    inbox, _, settings = smtp
    queue("nobody@vic.cat", "busy@vic.cat", "marta@vic.cat")
    run = deliver_pending(settings)
    assert (run.sent, run.failed, run.deferred) == (1, 1, 1)
    refused, busy, sent = messages()
    assert refused.status is OutboxStatus.FAILED and "550" in refused.last_error
    assert busy.status is OutboxStatus.PENDING and "450" in busy.last_error and busy.attempts == 1
    assert sent.status is OutboxStatus.SENT and inbox.sessions == 1  # the session went on after both


def test_a_message_left_sending_by_a_crash_is_flagged_not_resent(app, smtp):
    inbox, _, settings = smtp
    message = queue_mail(["marta@vic.cat"], "Prova", "Hola")
    message.status, message.next_attempt_at = OutboxStatus.SENDING, utcnow() - timedelta(hours=1)
    db.session.commit()
    assert deliver_pending(settings).uncertain == 1
    assert db.session.scalar(select(OutboxMessage)).status is OutboxStatus.UNCERTAIN and inbox.received == []
    assert inbox.sessions == 0


def test_without_a_server_configured_mail_waits(app):
    queue_mail(["marta@vic.cat"], "Prova", "Hola")
    db.session.commit()
    assert deliver_pending(SmtpSettings(host="")) == DeliveryRun()
    assert db.session.scalar(select(OutboxMessage)).status is OutboxStatus.PENDING
