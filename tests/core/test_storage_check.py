"""`helpdesk storage check`: the files no row names, the rows whose file is missing, temporary files left
by a writer that died (removed when older than an hour, when asked), and a status other than 0 for any."""
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk import cli
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import queue_mail
from helpdesk.extensions import db
from helpdesk.tickets.models import Attachment
from helpdesk.mail.models import HeldMail, ReceivedMail
from helpdesk.tickets.services import Upload, add_message, blob_store
from helpdesk.tickets.states import MessageKind
from tests import factories


@pytest.fixture
def storage_check(app, monkeypatch):
    monkeypatch.setattr(cli, "REFERENCE_BATCH", 2)  # more rows than a batch, as in a real desk

    def run(*options):
        result = app.test_cli_runner().invoke(args=["storage", "check", *options])
        db.session.remove()
        return result
    return run


def desk_with_files():
    """Files named by every kind of row: attachments, held mail, the received-mail ledger, e-mail waiting."""
    agent = factories.user(email="agent@example.org")
    ticket = factories.ticket("Acta", "Adjunto l'acta", of=factories.council(name="Ajuntament de Vic"))
    add_message(agent, ticket, MessageKind.REPLY, "Rebuda", utcnow(),
                [Upload(f"acta-{number}.pdf", f"acta {number}".encode()) for number in range(5)])
    store = blob_store()
    db.session.add(HeldMail(kind="filtered", mailbox="import", reason="auto_reply", size=3,
                            raw_sha256=store.put(b"Auto-Submitted: auto-replied\r\n\r\nFora")))
    db.session.add(ReceivedMail(mailbox="import", message_id="<a@vic.cat>", size=3, outcome="new_ticket",
                                raw_sha256=store.put(b"From: a@vic.cat\r\n\r\nHola")))
    queue_mail(["a@vic.cat"], "Sessió", "Invitació", attachments=[
        {"filename": "invite.ics", "content_type": "text/calendar", "sha256": store.put(b"BEGIN:VCALENDAR")}])
    db.session.commit()
    return store


def aged(path: Path, hours: float) -> Path:
    moment = (utcnow() - timedelta(hours=hours)).timestamp()
    os.utime(path, (moment, moment))
    return path


def test_a_store_whose_every_file_has_a_row_passes(app, storage_check):
    store = desk_with_files()
    result = storage_check()
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{store.root}: 8 stored files, 0 file(s) with no row, 0 row(s) with no file, 0 temporary file(s)."]


def test_files_with_no_row_rows_with_no_file_and_temporary_files_are_listed_and_fail_the_check(app, storage_check):
    store = desk_with_files()
    orphan = store.path(store.put(b"un fitxer que cap fila no nomena"))
    lost = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()[3]
    store.path(lost.sha256).unlink()
    left = orphan.parent / f".{'c' * 64}.4242.1"
    left.write_bytes(b"mig")
    aged(left, hours=5)
    result = storage_check()
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"file with no row: {orphan}",
        f"row with no file: {lost.sha256} (attachment {lost.id})",
        f"temporary file: {left} (5 h 0 min old)",
        (f"{store.root}: 8 stored files, 1 file(s) with no row, 1 row(s) with no file, 1 temporary file(s) "
         "(--remove-temporary removes those older than an hour).")]
    assert left.exists()  # listed, not removed


def test_remove_temporary_removes_only_those_older_than_an_hour_and_says_so(app, storage_check):
    store = desk_with_files()
    folder = next(path for path in store.root.iterdir() if path.is_dir())
    left = folder / f".{'d' * 64}.4242.1"
    live = folder / f".{'e' * 64}.4343.1"
    for path, hours in ((left, 2), (live, 0.25)):
        path.write_bytes(b"mig")
        aged(path, hours)
    result = storage_check("--remove-temporary")
    assert result.exit_code == 1  # a writer's file is still there
    assert result.output.splitlines() == [
        f"temporary file: {live} (15 min old, kept: it may be being written)",
        f"removed temporary file: {left} (2 h 0 min old)",
        (f"{store.root}: 8 stored files, 0 file(s) with no row, 0 row(s) with no file, 1 temporary file(s), "
         "1 temporary file(s) removed.")]
    assert live.exists() and not left.exists()
    live.unlink()  # its writer finished (or died, and an hour went by)
    assert storage_check("--remove-temporary").exit_code == 0


def test_a_file_named_only_by_rows_of_several_kinds_is_missing_for_each(app, storage_check):
    store = desk_with_files()
    sha256 = store.put(b"el mateix correu")
    db.session.add(HeldMail(kind="quarantined", mailbox="import", reason="?", size=3, raw_sha256=sha256))
    db.session.add(ReceivedMail(mailbox="import", message_id="<b@vic.cat>", size=3, outcome="quarantined",
                                raw_sha256=sha256))
    db.session.commit()
    held, received = db.session.scalar(select(HeldMail.id).where(HeldMail.raw_sha256 == sha256)), \
        db.session.scalar(select(ReceivedMail.id).where(ReceivedMail.raw_sha256 == sha256))
    store.path(sha256).unlink()
    result = storage_check()
    assert result.exit_code == 1
    assert f"row with no file: {sha256} (held mail {held}, received mail {received})" in result.output.splitlines()


def test_held_mail_with_attachments_leaves_no_file_without_a_row(app, storage_check):
    """Mail held aside keeps its files (they become a ticket's if an administrator makes one of it)."""
    from email.message import EmailMessage

    from helpdesk.mail.intake import ingest

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@vic.cat", "suport@diba.cat", "Fora de l'oficina"
    message["Auto-Submitted"], message["Message-ID"] = "auto-replied", "<auto.1@vic.cat>"
    message.set_content("Torno dilluns.")
    message.add_attachment(b"%PDF-1.4 calendari", maintype="application", subtype="pdf", filename="calendari.pdf")
    assert ingest(message.as_bytes(), "import").kind == "filtered"
    result = storage_check()
    assert result.exit_code == 0, result.output
    assert "2 stored files, 0 file(s) with no row" in result.output
