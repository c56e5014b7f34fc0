"""`helpdesk mail import` names the tickets it opened, so the operator can look them up; an archive that opens
thousands gets the first twenty, how many more and the last one."""
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.mail.summary import ticket_list
from helpdesk.tickets.models import Ticket
from tests.test_cli import run  # noqa: F401 (the fixture)


def write_mail(folder: Path, numbers: range, reply_to: str = "") -> None:
    folder.mkdir(exist_ok=True)
    for number in numbers:
        message = EmailMessage()
        message["From"], message["To"] = f"tecnica{number}@vic.cat", "suportparticipa311@diba.cat"
        message["Subject"], message["Message-ID"] = f"Consulta {number}", f"<summary{number}@vic.cat>"
        if reply_to:
            message["In-Reply-To"] = reply_to
        message.set_content(f"Bon dia, consulta número {number}.")
        (folder / f"{number:03d}.eml").write_bytes(message.as_bytes())


def test_the_import_lists_the_numbers_of_the_tickets_it_opened_and_shortens_a_long_list(run, tmp_path):
    write_mail(tmp_path / "mail", range(1, 26))
    result = run("mail", "import", "--jobs", "1", str(tmp_path / "mail"))
    assert result.returncode == 0, result.stderr
    opened = db.session.scalars(select(Ticket.id).order_by(Ticket.id)).all()
    assert len(opened) == 25
    first = ", ".join(f"#{number}" for number in opened[:20])
    assert result.stdout.splitlines()[-1] == f"new tickets: {first} and 5 more, up to #{opened[-1]}."


def test_follow_ups_and_mail_it_already_had_open_no_ticket_and_are_not_listed(run, tmp_path):
    write_mail(tmp_path / "first", range(1, 3))
    assert run("mail", "import", str(tmp_path / "first")).stdout.splitlines()[-1] == "new tickets: #1, #2."
    write_mail(tmp_path / "again", range(3, 5), reply_to="<summary1@vic.cat>")
    again = run("mail", "import", str(tmp_path / "first"), str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "4 messages: 0 new tickets, 2 follow-ups, 0 filtered, 0 quarantined, 2 already had; 0 reused a Message-ID "
        "another message had (taken as messages of their own)."]


def test_thousands_of_tickets_make_one_short_line():
    line = ticket_list(list(range(12, 3012)))
    assert line.startswith("new tickets: #12, #13, ") and line.endswith("#31 and 2980 more, up to #3011.")
    assert len(line) < 200
    assert ticket_list([]) == "" and ticket_list([7]) == "new tickets: #7."
