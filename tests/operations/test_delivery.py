"""Check delivery: messages the sender was cut off while sending (uncertain) are listed for an administrator,
on the screen and by `helpdesk mail outbox`, to mark as sent or send again; a real aiosmtpd server shows
what then goes out."""
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.core.templating import short_datetime
from helpdesk.core.audit import AuditEvent
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage, OutboxStatus, SmtpSettings, deliver_pending, queue_mail
from helpdesk.extensions import db
from tests import factories
from tests.conftest import SECRET_KEY
from tests.core.test_outbox import Server
from tests.pages import text
from tests.test_pagination import check_walk

HELPDESK = str(Path(sys.executable).parent / "helpdesk")


def left_uncertain(*subjects, related=None, to="marta@vic.cat"):
    """Messages the sender claimed and then stopped on (a crash mid-send), flagged as the next run does."""
    claimed = utcnow() - timedelta(hours=1)
    queued = [queue_mail([to], subject, "Hola", related=related) for subject in subjects]
    db.session.flush()
    for number, message in enumerate(queued):  # claimed one minute apart, the first the longest ago
        message.status, message.attempts = OutboxStatus.SENDING, 1
        message.next_attempt_at = claimed + timedelta(minutes=number)
    db.session.commit()
    assert deliver_pending(SmtpSettings(host="")).uncertain == len(subjects)
    return [message.id for message in queued]


def outbox_message(message_id):
    db.session.remove()
    return db.session.get(OutboxMessage, message_id)


def events(message_id):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "outbox",
                                                       AuditEvent.object_id == message_id)).all()


def sign_in(client, role=Role.ADMIN):
    person = factories.user(role, of=factories.council() if role is Role.COUNCIL_USER else None, language="en")
    client.login(person.email, factories.PASSWORD)
    return person


@pytest.fixture
def smtp():
    server = Server()
    server.start()
    yield server.inbox, SmtpSettings(host="127.0.0.1", port=server.port, sender="suport@example.org")
    server.stop()


def test_the_screen_pages_through_uncertain_messages_only(client, app):
    app.config["PAGE_SIZE"] = 5
    subjects = [f"Resposta incerta {number:02d}" for number in range(1, 18)]
    left_uncertain(*subjects)
    queue_mail(["pere@vic.cat"], "Encara a la cua", "Hola")  # pending: not for a person to check
    db.session.commit()
    sign_in(client)
    # Most recently tried first; 17 rows over 4 pages.
    check_walk(client, "/admin/status/delivery", subjects[::-1], 5, hidden=["Encara a la cua"])


def test_each_row_says_who_what_where_when_and_why(client, app):
    vic = factories.council("Ajuntament de Vic")
    ticket = factories.ticket("No puc pujar el logo", of=vic)
    number = ticket.id
    left_uncertain("Re: No puc pujar el logo", related=ticket.messages[0])
    left_uncertain("Avís de la incidència", related=ticket, to="pere@vic.cat")
    [reply] = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.related_type == "messages")).all()
    left_uncertain("Sense expedient", to="anna@vic.cat")
    message = outbox_message(reply)
    with force_locale("en"):  # the administrator's language
        queued, tried = short_datetime(message.created_at), short_datetime(message.next_attempt_at)
    sign_in(client)
    page = text(client.get("/admin/status/delivery"))
    assert "marta@vic.cat" in page and "Re: No puc pujar el logo" in page
    assert page.count(f'<a href="/tickets/{number}">Ticket #{number}</a>') == 2  # the reply's and the notice's
    assert "Sense expedient" in page and "anna@vic.cat" in page
    assert "the sender stopped while sending: check whether it arrived before resending" in page
    assert queued in page and tried in page
    assert page.count("Mark as sent") == 3 and page.count("Send again") == 3


def test_mark_as_sent_records_it_and_it_never_goes_out(client, app, smtp):
    inbox, settings = smtp
    [message_id] = left_uncertain("Re: Logo")
    tried = outbox_message(message_id).next_attempt_at
    admin = sign_in(client)
    client.get("/admin/status/delivery")
    response = client.submit(f"/admin/status/delivery/{message_id}/sent", follow_redirects=True)
    assert response.status_code == 200
    assert "Marked as sent: it will not go out again." in text(response)
    message = outbox_message(message_id)
    assert message.status is OutboxStatus.SENT and message.sent_at == tried and message.last_error == ""
    [event] = events(message_id)
    assert (event.actor_id, event.action) == (admin.id, "marked_sent")
    assert event.changes["status"] == {"before": "uncertain", "after": "sent"}
    assert deliver_pending(settings).sent == 0 and inbox.received == []
    assert "Re: Logo" not in text(client.get("/admin/status/delivery"))


def test_send_again_puts_it_back_in_the_queue_due_now(client, app, smtp):
    inbox, settings = smtp
    [message_id] = left_uncertain("Re: Logo")
    message_header = outbox_message(message_id).message_id
    admin = sign_in(client)
    client.get("/admin/status/delivery")
    before = utcnow()
    response = client.submit(f"/admin/status/delivery/{message_id}/again", follow_redirects=True)
    assert "Back in the queue: it goes out with the next delivery round." in text(response)
    message = outbox_message(message_id)
    assert message.status is OutboxStatus.PENDING and before <= message.next_attempt_at <= utcnow()
    [event] = events(message_id)
    assert (event.actor_id, event.action) == (admin.id, "sent_again")
    assert deliver_pending(settings).sent == 1
    [(recipients, sent, _peer)] = inbox.received
    assert recipients == ["marta@vic.cat"] and sent["Message-ID"] == message_header  # the same message


def test_a_message_that_is_not_uncertain_is_refused_and_left_alone(client, app):
    [message_id] = left_uncertain("Re: Logo")
    pending = queue_mail(["pere@vic.cat"], "A la cua", "Hola")
    db.session.commit()
    pending = pending.id
    sign_in(client)
    client.get("/admin/status/delivery")
    client.submit(f"/admin/status/delivery/{message_id}/sent")
    for url in (f"/admin/status/delivery/{message_id}/again", f"/admin/status/delivery/{pending}/sent"):
        response = client.submit(url, follow_redirects=True)
        assert response.status_code == 200
        assert "is not waiting for a check" in text(response) and "nothing was changed" in text(response)
    assert outbox_message(message_id).status is OutboxStatus.SENT
    assert outbox_message(pending).status is OutboxStatus.PENDING and events(pending) == []
    assert len(events(message_id)) == 1


def test_unknown_ids_other_actions_and_missing_tokens(client, app):
    [message_id] = left_uncertain("Re: Logo")
    sign_in(client)
    client.get("/admin/status/delivery")
    assert client.submit("/admin/status/delivery/999999/sent").status_code == 404
    assert client.submit("/admin/status/delivery/99999999999/sent").status_code == 404
    assert client.submit(f"/admin/status/delivery/{message_id}/delete").status_code == 404
    assert client.post(f"/admin/status/delivery/{message_id}/sent").status_code == 400  # no CSRF token
    assert client.get("/admin/status/delivery?page=abc").status_code == 200
    assert outbox_message(message_id).status is OutboxStatus.UNCERTAIN


@pytest.mark.parametrize("role", [Role.AGENT, Role.TECHNICIAN, Role.COUNCIL_USER])
def test_only_administrators_check_delivery(client, app, role):
    [message_id] = left_uncertain("Re: Logo")
    sign_in(client, role)
    assert client.get("/admin/status/delivery").status_code == 403
    client.get("/")
    assert client.submit(f"/admin/status/delivery/{message_id}/sent").status_code == 403
    assert client.submit(f"/admin/status/delivery/{message_id}/again").status_code == 403
    assert outbox_message(message_id).status is OutboxStatus.UNCERTAIN and events(message_id) == []


def test_the_status_page_and_the_mail_screens_link_to_it(client, app):
    sign_in(client)
    assert 'href="/admin/status/delivery"' in text(client.get("/admin/status"))
    assert 'href="/admin/status/delivery"' in text(client.get("/admin/mail/mailboxes"))


# --- helpdesk mail outbox ----------------------------------------------------------------------------------

@pytest.fixture
def run(app, tmp_path):
    """Run `helpdesk mail outbox …` against the test's database, as an operator would."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    environ.update(HELPDESK_INSTANCE_PATH=str(tmp_path / "cli-instance"), HELPDESK_SECRET_KEY=SECRET_KEY,
                   HELPDESK_DATABASE_URL=app.config["DATABASE_URL"])

    def run(*arguments):
        db.session.remove()
        result = subprocess.run([HELPDESK, "mail", "outbox", *arguments], capture_output=True, text=True,
                                timeout=120, env=environ, check=False)
        db.session.remove()
        return result
    return run


def test_the_command_lists_uncertain_messages_and_with_all_the_others(run, app):
    ticket = factories.ticket("No puc pujar el logo", of=factories.council())
    number = ticket.id
    [reply] = left_uncertain("Re: No puc pujar el logo", related=ticket.messages[0])
    [loose] = left_uncertain("Sense expedient", to="anna@vic.cat")
    failed = queue_mail(["nobody@vic.cat"], "Rebutjat", "Hola")
    deferred = queue_mail(["pere@vic.cat"], "Ajornat", "Hola")
    queue_mail(["jordi@vic.cat"], "A la cua", "Hola")  # never tried: not listed, even with --all
    db.session.flush()
    failed.status, failed.last_error = OutboxStatus.FAILED, "nobody@vic.cat: 550 no such user"
    deferred.attempts, deferred.last_error = 2, "ConnectionRefusedError: [Errno 111] Connection refused"
    db.session.commit()
    failed, deferred = failed.id, deferred.id
    queued = outbox_message(reply).created_at

    result = run()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and result.stderr.strip().startswith("2 uncertain message(s).")
    assert lines[1].startswith(f"{reply}\tuncertain\tmarta@vic.cat\tRe: No puc pujar el logo\t"
                               f"Ticket #{number}\tqueued {queued:%Y-%m-%d %H:%M} UTC\t")
    assert lines[0].startswith(f"{loose}\tuncertain\tanna@vic.cat\tSense expedient\t-\t")

    everything = run("--all")
    assert everything.returncode == 0, everything.stderr
    states = {line.split("\t")[0]: line.split("\t")[1] for line in everything.stdout.splitlines()}
    assert states == {str(reply): "uncertain", str(loose): "uncertain", str(failed): "failed",
                      str(deferred): "deferred"}
    assert "550 no such user" in everything.stdout


def test_the_command_marks_sent_and_sends_again_audited_as_the_system(run, app, smtp):
    inbox, settings = smtp
    first, second = left_uncertain("Re: Logo", "Re: URL")
    result = run("--mark-sent", str(first))
    assert result.returncode == 0, result.stderr
    assert "marked as sent" in result.stdout
    result = run("--send-again", str(second))
    assert result.returncode == 0, result.stderr
    assert "back in the queue" in result.stdout
    assert outbox_message(first).status is OutboxStatus.SENT
    assert outbox_message(second).status is OutboxStatus.PENDING
    assert [(event.actor_id, event.actor_label, event.action) for event in events(first) + events(second)] == [
        (None, "system", "marked_sent"), (None, "system", "sent_again")]
    assert deliver_pending(settings).sent == 1 and [sent["Subject"] for _, sent, _ in inbox.received] == ["Re: URL"]
    assert run().stdout == ""


def test_the_command_refuses_unknown_ids_and_messages_that_are_not_uncertain(run, app):
    [message_id] = left_uncertain("Re: Logo")
    pending = queue_mail(["pere@vic.cat"], "A la cua", "Hola")
    db.session.commit()
    pending = pending.id
    unknown = run("--mark-sent", "999999")
    assert unknown.returncode != 0 and "no outgoing message has the id 999999" in unknown.stderr
    refused = run("--send-again", str(pending))
    assert refused.returncode != 0
    assert f"Message {pending} is not waiting for a check (it is queued): nothing was changed." in refused.stderr
    both = run("--mark-sent", str(message_id), "--send-again", str(message_id))
    assert both.returncode != 0 and "not both" in both.stderr
    junk = run("--mark-sent", "abc")
    assert junk.returncode == 2 and "Traceback" not in junk.stderr
    assert "Traceback" not in unknown.stderr + refused.stderr
    assert outbox_message(message_id).status is OutboxStatus.UNCERTAIN
    assert outbox_message(pending).status is OutboxStatus.PENDING
    assert events(message_id) == events(pending) == []
