"""Administrators see mail kept aside, turn filtered mail into tickets, retry quarantine; CLI import."""
import json
import mailbox
from email.message import EmailMessage

from sqlalchemy import func, select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.mail.export import held_sections
from helpdesk.tickets.export import write_json
from helpdesk.mail.intake import ingest
from helpdesk.tickets.models import Ticket
from helpdesk.mail.models import HeldMail
from tests import factories
from tests.pages import text
from tests.test_cli import run  # noqa: F401 (the fixture)


def automatic(subject="Fora de l'oficina"):
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = "marta@vic.cat", subject, f"<{subject[:4]}@vic.cat>"
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("Torno dilluns.")
    return message.as_bytes()


def test_filtered_mail_is_listed_downloadable_and_can_become_a_ticket(client, app):
    ingest(automatic(), "inbox")
    held_id = db.session.scalar(select(HeldMail.id))
    factories.user(Role.ADMIN, email="admin@example.org")
    client.login("admin@example.org", factories.PASSWORD)
    page = text(client.get("/admin/mail/filtered"))
    assert "Fora de l'oficina" in page and "Auto-Submitted: auto-replied" in page
    with client.get(f"/admin/mail/message/{held_id}.eml") as response:
        assert response.mimetype == "message/rfc822" and b"Torno dilluns." in response.data
    response = client.submit(f"/admin/mail/message/{held_id}/ticket")
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert ticket.subject == "Fora de l'oficina" and db.session.get(HeldMail, held_id).status == "ticketed"
    assert "Fora de l'oficina" not in text(client.get("/admin/mail/filtered"))


def test_only_administrators_see_held_mail(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    assert client.get("/admin/mail/filtered").status_code == 403


def test_export_lists_filtered_and_quarantined_mail(app):
    ingest(automatic(), "inbox")
    app.config["MAIL_MAX_BYTES"] = 1024
    ingest(automatic("x" * 20) + b"y" * 2000, "inbox")
    app.config["MAIL_MAX_BYTES"] = 25 * 1024 * 1024
    import io
    output = io.StringIO()
    write_json(output, held_sections())
    exported = json.loads(output.getvalue())
    assert [item["subject"] for item in exported["filtered"]] == ["Fora de l'oficina"]
    [quarantined] = exported["quarantine"]
    assert {"message_id", "from", "subject", "reason", "received_at"} <= set(quarantined)
    assert "larger than" in quarantined["reason"]


def test_cli_imports_eml_mbox_and_maildir_and_accounts_for_everything(app, tmp_path):
    from tests.test_cli import HELPDESK
    import os
    import subprocess
    from tests.conftest import SECRET_KEY

    def plain(number):
        message = EmailMessage()
        message["From"], message["Subject"] = f"p{number}@vic.cat", f"Consulta {number}"
        message["Message-ID"] = f"<c{number}@vic.cat>"
        message.set_content("Hola")
        return message

    (tmp_path / "one.eml").write_bytes(plain(1).as_bytes())
    box = mailbox.mbox(str(tmp_path / "box.mbox"))
    box.add(plain(2))
    box.add(plain(3))
    box.close()
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"))
    maildir.add(plain(4))
    maildir.add(plain(1))  # the same message again
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    environ.update(HELPDESK_INSTANCE_PATH=str(tmp_path / "instance"), HELPDESK_SECRET_KEY=SECRET_KEY,
                   HELPDESK_DATABASE_URL=app.config["DATABASE_URL"])
    result = subprocess.run([HELPDESK, "mail", "import", str(tmp_path / "one.eml"), str(tmp_path / "box.mbox"),
                             str(tmp_path / "Maildir")], capture_output=True, text=True, env=environ, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("5 messages: 4 new tickets, 0 follow-ups, 0 filtered, 0 quarantined, "
                                     "1 already had; 0 reused a Message-ID another message had (taken as messages of their own).\n"
                                     "new tickets: #1, #2, #3, #4.")
    db.session.remove()
    assert db.session.scalar(select(func.count(Ticket.id))) == 4


def test_cli_import_verbose_says_each_messages_outcome_and_ticket(run, tmp_path):
    def written(name, message_id, subject, body, reply_to=""):
        message = EmailMessage()
        message["From"], message["Subject"], message["Message-ID"] = "tecnica@vic.cat", subject, message_id
        if reply_to:
            message["In-Reply-To"] = reply_to
        message.set_content(body)
        (tmp_path / "mail").mkdir(exist_ok=True)
        (tmp_path / "mail" / name).write_bytes(message.as_bytes())

    written("1.eml", "<a@vic.cat>", "Logotip", "No canvia el logotip.")
    written("2.eml", "<b@vic.cat>", "Re: Logotip", "Encara no.", reply_to="<a@vic.cat>")
    written("3.eml", "<a@vic.cat>", "Convocatòria", "Un altre missatge amb el mateix identificador.")
    written("4.eml", "<a@vic.cat>", "Logotip", "No canvia el logotip.")  # the first one again
    result = run("mail", "import", "--verbose", str(tmp_path / "mail"))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "mail"
    assert result.stdout.splitlines() == [
        f"{folder / '1.eml'}: new_ticket #1", f"{folder / '2.eml'}: follow_up #1",
        f"{folder / '3.eml'}: new_ticket #2 (reused Message-ID)", f"{folder / '4.eml'}: duplicate #1 <a@vic.cat>",
        "4 messages: 2 new tickets, 1 follow-ups, 0 filtered, 0 quarantined, 1 already had; 1 reused a Message-ID "
        "another message had (taken as messages of their own).", "new tickets: #1, #2."]


def test_a_ticket_says_when_its_message_reused_another_ones_message_id(client, app):
    def written(subject, body):
        message = EmailMessage()
        message["From"], message["Subject"], message["Message-ID"] = "tecnica@vic.cat", subject, "<calendari@vic.cat>"
        message.set_content(body)
        return message.as_bytes()

    first = ingest(written("Reunió dijous", "Us convoquem dijous."), "inbox")
    second = ingest(written("Reunió canviada", "Passa a divendres."), "inbox")
    assert second.kind == "new_ticket" and second.is_message_id_reused and second.ticket_id != first.ticket_id
    factories.user(Role.AGENT, email="agent@example.org", language="en")
    client.login("agent@example.org", factories.PASSWORD)
    reused = text(client.get(f"/tickets/{second.ticket_id}"))
    assert "Another, different message had arrived with the same Message-ID (<calendari@vic.cat>)" in reused
    assert "Another, different message" not in text(client.get(f"/tickets/{first.ticket_id}"))
