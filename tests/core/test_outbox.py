"""Mail out through a real SMTP server (aiosmtpd on loopback): sent after commit, retried, never twice."""
import socket
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage, OutboxStatus, SmtpSettings, deliver_pending, queue_mail
from helpdesk.extensions import db


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses one address for good."""

    def __init__(self):
        self.received = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """aiosmtpd on a loopback port that can be stopped and started again (as a new controller)."""

    def __init__(self):
        self.inbox, self.port, self.controller = Inbox(), free_port(), None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = Server()
    server.start()
    yield server.inbox, server, SmtpSettings(host="127.0.0.1", port=server.port, sender="suport@example.org",
                                             sender_name="Suport")
    server.stop()


def test_queued_mail_goes_out_after_commit_with_its_headers(app, smtp):
    inbox, _, settings = smtp
    queue_mail(["marta@vic.cat"], "Prova", "Hola, Marta", body_html="<p>Hola, Marta</p>",
               headers={"Auto-Submitted": "auto-replied"}, message_id="<1@example.org>")
    db.session.rollback()  # a rolled-back change sends nothing
    assert deliver_pending(settings)["sent"] == 0
    queue_mail(["marta@vic.cat"], "Prova", "Hola, Marta", body_html="<p>Hola, Marta</p>",
               headers={"Auto-Submitted": "auto-replied"}, message_id="<2@example.org>")
    db.session.commit()
    assert deliver_pending(settings)["sent"] == 1
    [(recipients, message)] = inbox.received
    assert recipients == ["marta@vic.cat"] and message["Message-ID"] == "<2@example.org>"
    assert message["From"] == "Suport <suport@example.org>" and message["Auto-Submitted"] == "auto-replied"
    assert [part.get_content_type() for part in message.walk()][1:] == ["text/plain", "text/html"]
    assert deliver_pending(settings)["sent"] == 0  # never twice
    assert db.session.scalar(select(OutboxMessage)).status is OutboxStatus.SENT


def test_a_server_that_is_down_means_a_retry_later(app, smtp):
    inbox, server, settings = smtp
    server.stop()
    queue_mail(["marta@vic.cat"], "Prova", "Hola")
    db.session.commit()
    now = utcnow()
    assert deliver_pending(settings, now)["deferred"] == 1
    message = db.session.scalar(select(OutboxMessage))
    assert message.status is OutboxStatus.PENDING and message.attempts == 1 and "Connection" in message.last_error
    server.start()
    assert deliver_pending(settings, now + timedelta(seconds=30))["sent"] == 0  # backing off
    assert deliver_pending(settings, now + timedelta(minutes=2))["sent"] == 1
    assert len(inbox.received) == 1


def test_a_refused_recipient_fails_for_good_with_the_reason(app, smtp):
    _, _, settings = smtp
    queue_mail(["nobody@vic.cat"], "Prova", "Hola")
    db.session.commit()
    assert deliver_pending(settings)["failed"] == 1
    message = db.session.scalar(select(OutboxMessage))
    assert message.status is OutboxStatus.FAILED and "550" in message.last_error


def test_a_message_left_sending_by_a_crash_is_flagged_not_resent(app, smtp):
    inbox, _, settings = smtp
    message = queue_mail(["marta@vic.cat"], "Prova", "Hola")
    message.status, message.next_attempt_at = OutboxStatus.SENDING, utcnow() - timedelta(hours=1)
    db.session.commit()
    assert deliver_pending(settings)["uncertain"] == 1
    assert db.session.scalar(select(OutboxMessage)).status is OutboxStatus.UNCERTAIN and inbox.received == []


def test_without_a_server_configured_mail_waits(app):
    queue_mail(["marta@vic.cat"], "Prova", "Hola")
    db.session.commit()
    assert deliver_pending(SmtpSettings(host="")) == {"sent": 0, "deferred": 0, "failed": 0, "uncertain": 0}
    assert db.session.scalar(select(OutboxMessage)).status is OutboxStatus.PENDING
