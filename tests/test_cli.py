"""The `helpdesk` console script, run as an operator would, in a subprocess."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpdesk.auth.models import User
from helpdesk.core.audit import AuditEvent
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from tests.conftest import SECRET_KEY

HELPDESK = str(Path(sys.executable).parent / "helpdesk")


@pytest.fixture
def run(app, tmp_path):
    """Run `helpdesk …` against the test's database, with its settings in the environment."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    environ.update(HELPDESK_INSTANCE_PATH=str(tmp_path / "cli-instance"), HELPDESK_SECRET_KEY=SECRET_KEY,
                   HELPDESK_DATABASE_URL=app.config["DATABASE_URL"])

    def run(*arguments, input=None, **extra):
        result = subprocess.run([HELPDESK, *arguments], capture_output=True, text=True, input=input, timeout=120,
                                env={**environ, **extra})
        db.session.remove()
        return result
    return run


def test_a_bad_database_url_stops_the_command_with_one_line(run):
    result = run("db", "upgrade", HELPDESK_DATABASE_URL="postgresql+mysql://nowhere")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: configuration: HELPDESK_DATABASE_URL: unsupported database 'postgresql+mysql': "
        "use sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME"]


def test_a_missing_secret_key_stops_start_up_with_one_line(run):
    result = run("run", HELPDESK_SECRET_KEY="")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "HELPDESK_SECRET_KEY: not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_line_too(run):
    result = run("db", "upgrade", HELPDESK_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error: the database cannot be reached")
    assert "Traceback" not in result.stderr


def test_flask_commands_are_there(run):
    result = run("routes")
    assert result.returncode == 0, result.stderr
    assert "/councils/<int:council_id>" in result.stdout
    assert run("db", "current").returncode == 0


def test_demo_seeds_once_and_is_safe_to_rerun(run, app):
    first = run("demo")
    assert first.returncode == 0, first.stderr
    assert "admin@demo.participa311.cat" in first.stdout and "Admin-Demo-311" in first.stdout
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    second = run("demo")
    assert second.returncode == 0
    assert second.stdout.splitlines()[0] == first.stdout.splitlines()[0]  # same counts
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events  # nothing changed
    assert "already has users" in run("demo", "--if-empty").stdout


def test_the_demo_council_user_sees_their_platforms_history_maintenance_and_dossier(run, app, client):
    from helpdesk import demo
    assert run("demo").returncode == 0
    vic = db.session.scalar(select(Council).where(Council.ine_code == "08298"))
    email, password = demo.DEMO_USERS[-1][:2]
    client.login(email, password)
    status = client.get(f"/councils/{vic.id}/status").get_data(as_text=True)
    chart = status.split('class="uptime-bars"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<rect") == 90
    assert "99,97 %" in status and "40 minuts" in status  # 90 days watched, one outage of 40 minutes (in Catalan)
    assert demo.MAINTENANCE[-1] in status  # planned in the coming days
    dossier = client.get(f"/dossier/councils/{vic.id}").get_data(as_text=True)
    assert "Adaptació del disseny" in dossier  # the accompaniment session held
    assert "bones: 1; no bones: 1" in dossier  # the two rated tickets
    assert "Decidim 0.27.6" in dossier and "Decidim 0.28.5" in dossier  # the upgrade
    rated = db.session.scalar(select(Ticket.id).where(Ticket.subject == demo.RATED_TICKETS[1][0]))
    assert "encara es veu tallat" in client.get(f"/tickets/{rated}").get_data(as_text=True)  # its comment


def test_user_create_and_set_password(run, app):
    run("demo")
    created = run("user", "create", "--email", "nova@example.org", "--name", "Nova Agent", "--role", "agent",
                  "--password", "Nova-Password-1")
    assert created.returncode == 0, created.stderr
    council_user = run("user", "create", "--email", "x@vic.cat", "--name", "X", "--role", "council_user",
                       "--council", "08298", "--password", "Vic-Password-77")
    assert council_user.returncode == 0, council_user.stderr
    refused = run("user", "create", "--email", "nova@example.org", "--name", "Again", "--role", "agent",
                  "--password", "Nova-Password-1")
    assert refused.returncode == 1 and "Ja hi ha un usuari" in refused.stderr
    before = db.session.scalar(select(User.password_hash).where(User.email == "nova@example.org"))
    changed = run("user", "set-password", "nova@example.org", input="Another-Pass-99\nAnother-Pass-99\n")
    assert changed.returncode == 0, changed.stderr
    assert db.session.scalar(select(User.password_hash).where(User.email == "nova@example.org")) != before
    assert run("user", "set-password", "nobody@example.org", "--password", "Whatever-123").returncode == 1


def test_councils_import_good_bad_and_again(run, app, tmp_path):
    good = tmp_path / "councils.csv"
    good.write_text("ine_code,name,kind,email_domains,phones\n08298,Ajuntament de Vic,town_council,vic.cat,"
                    "938862100\n08113,Ajuntament de Manresa,town_council,ajmanresa.cat,\n")
    result = run("councils", "import", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{good}: 2 created, 0 updated, 0 unchanged; 0 contacts added."
    assert run("councils", "import", str(good)).stdout.strip() == f"{good}: 0 created, 0 updated, 2 unchanged; 0 contacts added."
    bad = tmp_path / "bad.csv"
    bad.write_text("ine_code,name,kind\n08205,Sant Cugat,town_council\n123,Curt,town_council\n")
    result = run("councils", "import", str(bad))
    assert result.returncode == 1
    assert f"{bad}:3: El codi INE ha de tenir de 5 a 10 xifres" in result.stderr
    assert "nothing was imported" in result.stderr
    assert sorted(db.session.scalars(select(Council.ine_code))) == ["08113", "08298"]


def test_tickets_export_writes_json_and_csv_files(run, app, tmp_path):
    run("demo")
    output = tmp_path / "tickets.json"
    result = run("tickets", "export", "--format", "json", "--output", str(output))
    assert result.returncode == 0, result.stderr
    tickets = json.loads(output.read_text())["tickets"]
    assert len(tickets) == 7 and all(ticket["messages"] for ticket in tickets)
    result = run("tickets", "export", "--format", "csv")
    assert result.stdout.splitlines()[0].startswith("number,subject,status")
    assert len(result.stdout.splitlines()) == 8


def test_poll_once_says_which_mailbox_could_not_be_reached_without_a_traceback(run):
    import socket
    with socket.socket() as closed:  # a port nothing listens on: the connection is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run("db", "upgrade")
    assert result.returncode == 0, result.stderr
    result = run("mail", "poll", "--once", HELPDESK_IMAP_HOST="127.0.0.1", HELPDESK_IMAP_PORT=str(port),
                 HELPDESK_IMAP_SECURITY="none", HELPDESK_IMAP_USERNAME="suport", HELPDESK_IMAP_PASSWORD="x")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: suport@127.0.0.1/INBOX: ") and "Connection refused" in result.stderr
