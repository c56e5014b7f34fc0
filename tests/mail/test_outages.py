"""An outage is not the message's fault: when the database fails, `helpdesk mail import` records nothing of
the chunk in hand, stops with one line naming the file and how to resume, and a second run, once the
database works again, takes the rest and counts what it had as "already had". (The file store's outage is
in tests/core/test_storage_full.py; the fetcher's in tests/mail/test_idle.py.)"""
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from helpdesk.extensions import db
from helpdesk.mail.models import HeldMail, ReceivedMail
from helpdesk.tickets.models import Ticket
from tests.core.test_storage import tmpfs_mounts
from tests.test_cli import HELPDESK, run  # noqa: F401 (the fixture)

RESUME = ("(the database, the file store or the disk failed, not the message). 0 messages before it were taken "
          'in. Once the cause is fixed, run the same command again: what was taken in already is counted as '
          '"already had".')


@pytest.fixture
def tmpfs():
    yield from tmpfs_mounts()


def write_mail(folder: Path, numbers: range) -> None:
    folder.mkdir(exist_ok=True)
    for number in numbers:
        message = EmailMessage()
        message["From"], message["To"] = f"tecnica{number}@vic.cat", "suportparticipa311@diba.cat"
        message["Subject"], message["Message-ID"] = f"Consulta {number}", f"<outage{number}@vic.cat>"
        message.set_content(f"Bon dia, consulta número {number}. " + "Text. " * 200)
        (folder / f"{number:03d}.eml").write_bytes(message.as_bytes())


def test_a_full_disk_under_the_database_stops_the_import_and_the_next_run_takes_the_rest(run, tmp_path, tmpfs,
                                                                                         databases):
    if databases.kind != "sqlite":
        pytest.skip("the SQLite file on a full disk; PostgreSQL refusing connections is the next test")
    disk = tmpfs(tmp_path / "disk", size="16m")  # room for the migrated schema, its WAL and three messages
    url = f"sqlite:///{disk / 'desk.sqlite3'}"
    assert run("db", "upgrade", HELPDESK_DATABASE_URL=url).returncode == 0
    folder = tmp_path / "mail"
    write_mail(folder, range(3))
    first = run("mail", "import", str(folder), HELPDESK_DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    write_mail(folder, range(3, 40))
    filler = disk / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True, check=False)  # fills it
    stopped = run("mail", "import", str(folder), HELPDESK_DATABASE_URL=url)
    assert stopped.returncode == 1 and stopped.stdout == ""
    assert stopped.stderr.startswith(f"Error: the import stopped at {folder / '000.eml'}: ")
    assert "OperationalError" in stopped.stderr and RESUME in stopped.stderr
    filler.unlink()  # the disk has room again (the desk's connections set WAL mode, which writes)
    engine = create_engine(url)
    with engine.connect() as connection:  # nothing of the chunk was recorded: neither taken nor quarantined
        assert connection.execute(text("SELECT count(*) FROM received_mail")).scalar() == 3
        assert connection.execute(text("SELECT count(*) FROM held_mail")).scalar() == 0
    again = run("mail", "import", str(folder), HELPDESK_DATABASE_URL=url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("40 messages: 37 new tickets, 0 follow-ups, 0 filtered, 0 quarantined, "
                                   "3 already had;")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM tickets")).scalar() == 40
    engine.dispose()


def test_a_database_that_refuses_connections_stops_the_import_and_changes_nothing(app, run, tmp_path, databases):
    if databases.kind != "postgresql":
        pytest.skip("PostgreSQL refusing connections; a full disk under SQLite is the test above")
    name = make_url(app.config["DATABASE_URL"]).database
    folder = tmp_path / "mail"
    write_mail(folder, range(5))
    admin = create_engine(make_url(app.config["DATABASE_URL"]).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
    try:
        stopped = run("mail", "import", str(folder))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    assert stopped.returncode == 1 and stopped.stdout == ""
    assert stopped.stderr.startswith(f"Error: the import stopped at {folder / '000.eml'}: OperationalError")
    assert RESUME in stopped.stderr
    for model in (Ticket, ReceivedMail, HeldMail):
        assert db.session.scalar(select(func.count(model.id))) == 0
    again = run("mail", "import", str(folder))
    assert again.returncode == 0 and again.stdout.startswith("5 messages: 5 new tickets")
