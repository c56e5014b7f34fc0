"""A full or read-only file store, as the people using the desk meet it: a message next to the upload
field (or one line from the command), and nothing saved half-way."""
import io
import os
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.tickets.models import Attachment, Message, Ticket
from helpdesk.mail.models import HeldMail, ReceivedMail
from tests import factories
from tests.conftest import SECRET_KEY
from tests.core.test_storage import files_under, read_only, tmpfs_mounts
from tests.pages import error_after, text
from tests.test_cli import HELPDESK


@pytest.fixture
def tmpfs():
    yield from tmpfs_mounts()


FULL = "The server has no room left for files: nothing was saved. Tell an administrator, then try again."


def test_a_ticket_with_a_file_on_a_full_store_shows_why_next_to_the_field_and_opens_nothing(client, app, tmpfs):
    root = tmpfs(Path(app.instance_path) / "attachments", size="256k")
    vic = factories.council(name="Ajuntament de Vic")
    factories.instance(vic, url="https://vic.participa311.diba.cat")
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat", language="en")
    client.login("referent@vic.cat", factories.PASSWORD)
    client.get("/tickets/new")
    response = client.submit("/tickets/new", {
        "subject": "Acta del ple", "category": "usage", "body": "Adjuntem l'acta.",
        "attachments": (io.BytesIO(os.urandom(300_000)), "acta.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert error_after(page, "attachments") == FULL
    assert 'value="Acta del ple"' in page  # what was typed is still there, to send again
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    assert files_under(root) == []


def test_a_reply_with_a_file_on_a_full_store_adds_nothing_to_the_ticket(client, app, tmpfs):
    root = tmpfs(Path(app.instance_path) / "attachments", size="256k")
    vic = factories.council(name="Ajuntament de Vic")
    factories.user(Role.AGENT, email="agent@example.org", language="en")
    ticket = factories.ticket("Logotip", "No canvia", of=vic)
    number, messages = ticket.id, db.session.scalar(select(func.count(Message.id)))
    client.login("agent@example.org", factories.PASSWORD)
    client.get(f"/tickets/{number}")
    response = client.submit(f"/tickets/{number}/reply", {
        "reply-body": "Aquí el teniu", "reply-then": "",
        "reply-attachments": (io.BytesIO(os.urandom(300_000)), "logo.png")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert error_after(text(response), "reply-attachments") == FULL
    assert db.session.scalar(select(func.count(Message.id))) == messages
    assert files_under(root) == []


def test_mail_import_on_a_read_only_store_stops_with_one_line_and_takes_nothing_in(app, tmp_path, tmpfs):
    root = tmpfs(Path(app.instance_path) / "attachments")
    read_only(root)
    folder = tmp_path / "mail"
    folder.mkdir()
    for number in range(3):
        message = EmailMessage()
        message["From"], message["Subject"] = f"p{number}@vic.cat", f"Consulta {number}"
        message["Message-ID"] = f"<c{number}@vic.cat>"
        message.set_content("Hola")
        (folder / f"{number}.eml").write_bytes(message.as_bytes())
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    environ.update(HELPDESK_INSTANCE_PATH=app.instance_path, HELPDESK_SECRET_KEY=SECRET_KEY,
                   HELPDESK_DATABASE_URL=app.config["DATABASE_URL"])
    for jobs in ("1", "2"):  # read here, and in worker processes (the error crosses back whole)
        result = subprocess.run([HELPDESK, "mail", "import", "--jobs", jobs, str(folder)], capture_output=True,
                                text=True, env=environ, timeout=120, check=False)
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            (f"Error: the import stopped at {folder / '0.eml'}: the file store is read-only (Read-only file "
             f"system: {root}) (the database, the file store or the disk failed, not the message). 0 messages "
             "before it were taken in. Once the cause is fixed, run the same command again: what was taken in "
             'already is counted as "already had".')]
        assert result.stdout == ""
    db.session.remove()
    for model in (Ticket, ReceivedMail, HeldMail):  # nothing quarantined either: the mail is still to come
        assert db.session.scalar(select(func.count(model.id))) == 0
