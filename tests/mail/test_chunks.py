"""Mail taken in chunks (``ingest_many``) leaves the database exactly as taking each message on its own (a
chunk of one, as the fetcher does) does: the same tickets, messages, files, SLA clocks, acknowledgements and
outbox, audit trail, search index, ledger and held mail; and a message that fails is held on its own."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select, text
from sqlalchemy import event

from helpdesk.extensions import db
from helpdesk.mail import intake
from helpdesk.mail.intake import arrive, ingest_many
from helpdesk.tickets.models import Message, Ticket
from helpdesk.mail.models import ReceivedMail
from helpdesk.tickets.services import change_status
from helpdesk.tickets.states import TicketStatus
from tests import factories
from tests.mail.test_corpus import CORPUS, index

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # a Monday morning, inside support hours
TABLES = ("tickets", "ticket_pauses", "messages", "attachments", "audit_events", "outbox", "received_mail",
          "held_mail")
_OUR_TOKEN = re.compile(r"(<p311\.\d+\.)[0-9a-f]+@")


def mail(number: int, sender: str = "tecnica@vic.cat", subject: str = "", reply_to: str = "", **headers) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "suportparticipa311@diba.cat"
    message["Subject"] = subject or f"Consulta número {number} sobre la plataforma"
    message["Message-ID"] = f"<m{number}@example.cat>"
    if reply_to:
        message["In-Reply-To"] = reply_to
        message["References"] = reply_to
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(f"Bon dia, missatge {number}. Gràcies.")
    message.add_alternative(f"<p>Bon dia, missatge <b>{number}</b>.</p>", subtype="html")
    if number % 4 == 0:
        message.add_attachment(b"%PDF-1.4 " + bytes([number]) * 300, maintype="application", subtype="pdf",
                               filename=f"acta {number}.pdf")
    return message.as_bytes()


def inline_image() -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "web@vic.cat", "suportparticipa311@diba.cat", "Captura"
    message["Message-ID"] = "<inline@vic.cat>"
    message.set_content("Vegeu la captura.")
    message.add_alternative('<p>Vegeu: <img src="cid:shot@vic"></p>', subtype="html")
    message.get_payload()[1].add_related(b"\x89PNG\r\n\x1a\n" + b"0" * 64, maintype="image", subtype="png",
                                          cid="<shot@vic>")
    return message.as_bytes()


def setting() -> None:
    """What the desk holds before the mail arrives: a council with a contact, a ticket waiting on the
    council and one in progress, each with a message that mail can answer."""
    vic = factories.council("Ajuntament de Vic", domains=["vic.cat"])
    factories.contact(vic, "Marta Puig", email="marta@vic.cat")
    earlier = NOW - timedelta(hours=1)
    waiting = factories.ticket(subject="Esperant resposta", of=vic, now=earlier)
    in_progress = factories.ticket(subject="En curs", of=vic, now=earlier)
    waiting.messages[0].message_id, in_progress.messages[0].message_id = "<waiting@vic.cat>", "<doing@vic.cat>"
    change_status(None, waiting, TicketStatus.PENDING, earlier)
    change_status(None, in_progress, TicketStatus.OPEN, earlier)
    db.session.commit()


def messages() -> list[bytes]:
    raws = [mail(1), mail(2, reply_to="<m1@example.cat>"), mail(3, reply_to="<m2@example.cat>"),
            mail(4), None, mail(5, sender="marta@vic.cat"), mail(6, sender="algu@gmail.com"),
            mail(7, reply_to="<m1@example.cat>", Auto_Submitted="auto-replied", subject="Fora de l'oficina"),
            mail(8, subject="[#1] Més informació"), mail(9, reply_to="<waiting@vic.cat>"),
            mail(10, reply_to="<doing@vic.cat>"), inline_image(), mail(11, sender="suportparticipa311@diba.cat"),
            mail(12, reply_to="<m6@example.cat>", sender="algu@gmail.com")]
    raws[4] = raws[0]  # the same message again
    raws += [mail(number, sender=f"persona{number % 3}@manresa.cat",
                  reply_to=f"<m{number - 5}@example.cat>" if number % 3 == 0 else "") for number in range(20, 60)]
    if (CORPUS / "index.json").exists():
        raws += [(CORPUS / entry["file"]).read_bytes() for entry in index()]
    return raws


def snapshot() -> dict[str, list]:
    """Every row the intake writes, with the random part of our own Message-IDs left out. A chunk writes
    its acknowledgements after its mail, so messages are named by what they are (their ticket, kind and
    place among that ticket's messages of that kind) instead of their ids, everywhere they are referred to;
    the audit trail is compared per record, in its order there."""
    tables = {}
    for table in TABLES:
        only = " WHERE object_type IN ('tickets', 'messages')" if table == "audit_events" else ""
        rows = [dict(row) for row in db.session.execute(text(f"SELECT * FROM {table}{only} ORDER BY id")).mappings()]
        for row in rows:
            if table in ("audit_events", "outbox"):  # when the row was written, not when the mail was taken
                row.pop("created_at")
                row.pop("next_attempt_at", None)
            for key, value in row.items():
                if isinstance(value, str):
                    row[key] = _OUR_TOKEN.sub(r"\1…@", value)
        tables[table] = rows
    counts, names = {}, {}
    for row in tables["messages"]:
        place = (row["ticket_id"], row["kind"])
        counts[place] = counts.get(place, 0) + 1
        names[row["id"]] = f"{row['ticket_id']}/{row['kind']}/{counts[place]}"
    for row in tables["messages"]:
        row["id"] = names[row["id"]]
    for row in tables["attachments"]:
        row["message_id"] = names[row["message_id"]]
        row.pop("id")
    for row in tables["outbox"]:
        row.pop("id")
        if row["related_type"] == "messages":
            row["related_id"] = names[row["related_id"]]
    for row in tables["audit_events"]:
        row.pop("id")
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
        if "message_id" in (row["changes"] or {}):
            row["changes"]["message_id"]["after"] = names.get(row["changes"]["message_id"]["after"])
    tables["messages"].sort(key=lambda row: row["id"])
    tables["attachments"].sort(key=lambda row: (row["message_id"], row["sha256"]))
    tables["outbox"].sort(key=lambda row: str(row["related_id"]))
    tables["audit_events"].sort(key=lambda row: (row["object_type"], row["object_id"]))  # stable: each's order kept
    column = "rowid" if db.engine.dialect.name == "sqlite" else "id"
    content = "content" if db.engine.dialect.name == "sqlite" else "content::text"
    tables["search_index"] = [tuple(row) for row in db.session.execute(
        text(f"SELECT {column}, {content} FROM search_index ORDER BY 1"))]
    return tables


def start_again(app, databases, tmp_path) -> None:
    """An empty desk again, numbering from 1, for the second way of taking the same mail."""
    db.session.remove()
    db.engine.dispose()
    if databases.kind == "sqlite":
        for leftover in tmp_path.glob("helpdesk.sqlite3*"):
            leftover.unlink()
        databases.fresh(tmp_path)
    else:
        databases.reset()


def one_by_one(raws: list[bytes]) -> list:
    return [ingest_many([arrive(raw)], "import", NOW)[0] for raw in raws]


def assert_same(batched: dict, alone: dict) -> None:
    for table, rows in alone.items():
        assert len(batched[table]) == len(rows), table
        for together, single in zip(batched[table], rows, strict=True):
            assert together == single, table


def test_chunks_write_what_one_message_at_a_time_writes(app, databases, tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "CHUNK", 9)  # threads cross chunks; some replies land in their own
    raws = messages()
    setting()
    outcomes = ingest_many([arrive(raw) for raw in raws], "import", NOW)
    batched = snapshot()
    start_again(app, databases, tmp_path)
    setting()
    assert outcomes == one_by_one(raws)
    assert_same(batched, snapshot())
    kinds = [outcome.kind for outcome in outcomes[:14]]
    assert kinds == ["new_ticket", "follow_up", "follow_up", "new_ticket", "duplicate", "new_ticket", "new_ticket",
                     "follow_up", "follow_up", "follow_up", "follow_up", "new_ticket", "filtered", "follow_up"]
    # The reply on the ticket waiting on the council reopened it, as the services do.
    assert db.session.get(Ticket, 1).status is TicketStatus.OPEN
    assert len(batched["outbox"]) >= 3  # acknowledgements went into the outbox with their tickets


def test_a_message_the_database_refuses_is_taken_again_on_its_own(app):
    """A real refusal by the database, as when two fetchers race for the same message: while the third
    message is written, a ledger row with its key is slipped into the transaction (a test double of the
    other fetcher, whose timing cannot be arranged here), so the chunk's own ledger row is refused. The chunk is rolled back,
    taken again around that message, and nothing is lost."""
    raws = [mail(number, reply_to="<m1@example.cat>" if number == 3 else "") for number in range(1, 6)]
    setting()
    arrivals = [arrive(raw) for raw in raws]
    third = arrivals[2]

    def race(session, _context, _instances):
        if not getattr(race, "done", False) and any(isinstance(item, Message) and item.message_id == "<m3@example.cat>"
                                                    for item in session.new):
            race.done = True
            session.add(ReceivedMail(mailbox="import", message_id="<m3@example.cat>", content_digest=third.digest,
                                     raw_sha256=third.sha256, size=third.size, received_at=NOW, outcome="follow_up"))
    event.listen(db.session, "before_flush", race)
    try:
        outcomes = ingest_many(arrivals, "import", NOW)
    finally:
        event.remove(db.session, "before_flush", race)
    assert race.done
    assert [outcome.kind for outcome in outcomes] == ["new_ticket", "new_ticket", "follow_up", "new_ticket",
                                                     "new_ticket"]
    assert outcomes[2].ticket_id == outcomes[0].ticket_id  # the reply is on its ticket
    opened = db.session.scalars(select(Ticket).where(Ticket.subject.like("Consulta número%"))
                                .order_by(Ticket.id)).all()
    assert [ticket.id for ticket in opened] == [outcomes[number].ticket_id for number in (0, 1, 3, 4)]
    # The first with its acknowledgement and the reply; the others from the same sender are not acknowledged.
    assert [len(ticket.messages) for ticket in opened] == [3, 1, 1, 1]
    assert db.session.scalar(select(func.count(ReceivedMail.id))) == 5


def test_a_message_whose_content_fails_is_quarantined_and_its_chunk_is_taken(app, monkeypatch):
    """No real mail makes the ticket services fail today (the parser and the services take whatever comes),
    so a test double plays a future one: threading the fourth message raises."""
    raws = [mail(number, reply_to="<m1@example.cat>" if number == 5 else "") for number in range(1, 8)]
    setting()
    find_thread = intake.find_thread

    def failing(parsed, taken=None, stored=None):
        if parsed.message_id == "<m4@example.cat>":
            raise ValueError("a rule nobody foresaw")
        return find_thread(parsed, taken, stored)
    monkeypatch.setattr(intake, "find_thread", failing)
    outcomes = ingest_many([arrive(raw, f"{number}.eml") for number, raw in enumerate(raws, 1)], "import", NOW)
    assert [outcome.kind for outcome in outcomes] == ["new_ticket", "new_ticket", "new_ticket", "quarantined",
                                                     "follow_up", "new_ticket", "new_ticket"]
    [held] = db.session.scalars(select(intake.HeldMail)).all()
    assert held.kind == "quarantined" and held.message_id == "<m4@example.cat>" and "a rule nobody" in held.reason
    # Fetched again, it is not quarantined twice; retried once the rule is fixed, it becomes a ticket.
    assert ingest_many([arrive(raws[3])], "import", NOW)[0].kind == "duplicate"
    monkeypatch.setattr(intake, "find_thread", find_thread)
    retried = intake.retry(held, NOW)
    assert retried.kind == "new_ticket" and db.session.get(intake.HeldMail, held.id).status == "retried"
    assert db.session.scalar(select(func.count(ReceivedMail.id))) == 7


@pytest.mark.parametrize("jobs", [1, 2])
def test_reading_in_worker_processes_keeps_the_order(app, jobs):
    raws = [mail(number) for number in range(1, 30)]
    arrivals = list(intake.read_many([(f"{number}.eml", raw) for number, raw in enumerate(raws, 1)], jobs))
    assert [arrival.mail.message_id for arrival in arrivals] == [f"<m{number}@example.cat>" for number in range(1, 30)]
    assert all(intake.blob_store().read(arrival.sha256) == raw for arrival, raw in zip(arrivals, raws, strict=True))
