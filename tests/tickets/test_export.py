import csv
import hashlib
import io
import json

from sqlalchemy import insert, select

from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.export import write_csv, write_json
from helpdesk.tickets.models import Attachment, Call, Message, Ticket
from helpdesk.mail.models import HeldMail
from helpdesk.tickets.services import Upload, add_message
from helpdesk.tickets.states import MessageKind
from tests import factories


def test_json_export_has_every_ticket_and_message_in_the_documented_shape(app):
    council = factories.council(name="Ajuntament de Vic")
    factories.instance(council, url="https://vic.participa311.diba.cat")
    agent = factories.user(Role.AGENT, email="agent@example.org")
    ticket = factories.ticket("Logotip", "No canvia", of=council, requester_email="marta@vic.cat",
                              requester_name="Marta")
    add_message(agent, ticket, MessageKind.REPLY, "Prova-ho ara", utcnow(), [Upload("guia.pdf", b"%PDF-1.4")])
    db.session.commit()
    output = io.StringIO()
    assert write_json(output) == 1
    exported = json.loads(output.getvalue())
    [record] = exported["tickets"]
    assert {"number", "subject", "status", "priority", "category", "channel", "council", "instance_url",
            "requester", "assignee", "created_at", "messages"} <= set(record)
    assert record["number"] == ticket.id and record["council"] == "Ajuntament de Vic"
    assert record["instance_url"] == "https://vic.participa311.diba.cat"
    assert record["requester"]["email"] == "marta@vic.cat"
    assert record["created_at"].endswith("Z")
    inbound, reply = record["messages"]
    assert {"kind", "from", "to", "subject", "message_id", "created_at", "body_text", "body_html",
            "attachments"} <= set(reply)
    assert (inbound["kind"], inbound["from"]) == ("inbound", "Marta <marta@vic.cat>")
    assert (reply["kind"], reply["to"], reply["body_text"]) == ("reply", "marta@vic.cat", "Prova-ho ara")
    assert reply["attachments"] == [{"filename": "guia.pdf", "content_type": "application/pdf", "size": 8,
                                     "sha256": hashlib.sha256(b"%PDF-1.4").hexdigest()}]


def test_csv_export_is_one_row_per_ticket(app):
    council = factories.council(name="Ajuntament de Vic")
    factories.ticket("Primer", "a", of=council)
    factories.ticket("Segon; amb \"cometes\"", "b", of=council)
    output = io.StringIO()
    assert write_csv(output) == 2
    rows = list(csv.DictReader(io.StringIO(output.getvalue())))
    assert [row["subject"] for row in rows] == ["Primer", "Segon; amb \"cometes\""]
    assert rows[0]["council"] == "Ajuntament de Vic" and rows[0]["messages"] == "1"



def bulk_tickets(count: int, council, instance, agent) -> dict[int, list[tuple[str, list[str]]]]:
    """``count`` tickets inserted a statement per table (the services would take minutes), with one to
    three messages each, an attachment on every seventh message and a call opening every eleventh ticket;
    returns each ticket's number and its messages' texts and attachments, in order."""
    now = utcnow()
    db.session.execute(insert(Ticket.__table__), [
        {"subject": f"Consulta {n}", "status": "open", "priority": "normal", "category": "usage", "channel": "email",
         "council_id": council.id, "instance_id": instance.id, "requester_name": "", "requester_email": f"p{n}@vic.cat",
         "assignee_id": agent.id if n % 2 else None, "created_at": now, "updated_at": now, "activity_at": now,
         "version": 1} for n in range(count)])
    numbers = db.session.scalars(select(Ticket.id).where(Ticket.subject.like("Consulta %")).order_by(Ticket.id)).all()
    db.session.execute(insert(Message.__table__), [
        {"ticket_id": number, "kind": "call" if index == 0 and number % 11 == 0 else "inbound",
         "body_text": f"Ticket {number}, message {index}", "body_html": "", "subject": "", "created_at": now,
         "from_name": "", "from_address": "", "to_addresses": "", "cc_addresses": ""}
        for number in numbers for index in range(1 + number % 3)])
    messages = db.session.execute(select(Message.id, Message.ticket_id, Message.body_text).join(Ticket).where(
        Ticket.subject.like("Consulta %")).order_by(Message.id)).all()
    db.session.execute(insert(Attachment.__table__), [
        {"message_id": id_, "filename": f"captura{id_}.png", "content_type": "image/png", "size": 10,
         "sha256": "0" * 64}
        for id_, _number, _text in messages if id_ % 7 == 0])
    expected, first_message = {number: [] for number in numbers}, {}
    for id_, number, body in messages:
        expected[number].append((body, [f"captura{id_}.png"] if id_ % 7 == 0 else []))
        first_message.setdefault(number, id_)
    db.session.execute(insert(Call.__table__), [
        {"message_id": first_message[number], "direction": "inbound", "caller_number": "934020704",
         "caller_name": "", "started_at": now, "duration_seconds": 60, "summary": "", "logged_by_id": agent.id}
        for number in numbers if number % 11 == 0])
    db.session.commit()
    return expected


def test_the_command_exports_1200_tickets_and_held_mail_each_once_in_order(app, tmp_path):
    council = factories.council(name="Ajuntament de Vic")
    instance = factories.instance(council, url="https://vic.participa311.diba.cat")
    agent = factories.user(Role.AGENT, email="agent@example.org")
    expected = bulk_tickets(1200, council, instance, agent)
    db.session.execute(insert(HeldMail.__table__), [
        {"kind": "filtered" if n < 600 else "quarantined", "status": "held", "mailbox": "inbox",
         "message_id": f"<held{n}@vic.cat>", "from_address": "robot@vic.cat", "subject": f"Retingut {n}",
         "reason": "Auto-Submitted", "raw_sha256": "0" * 64, "size": 100, "received_at": utcnow()}
        for n in range(603)])
    db.session.commit()
    runner = app.test_cli_runner()

    output = tmp_path / "tickets.json"
    result = runner.invoke(args=["tickets", "export", "--format", "json", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "1200 tickets written" in result.stderr
    exported = json.loads(output.read_text(encoding="utf-8"))
    assert [ticket["number"] for ticket in exported["tickets"]] == list(expected)
    for ticket in exported["tickets"]:
        assert [(message["body_text"], [item["filename"] for item in message["attachments"]])
                for message in ticket["messages"]] == expected[ticket["number"]]
        assert ticket["council"] == "Ajuntament de Vic"
        assert ticket["assignee"] == ("agent@example.org" if int(ticket["subject"].split()[1]) % 2 else None)
    calls = [ticket["number"] for ticket in exported["tickets"] if "call" in ticket["messages"][0]]
    assert calls == [number for number in expected if number % 11 == 0]
    assert [held["subject"] for held in exported["filtered"]] == [f"Retingut {n}" for n in range(600)]
    assert [held["subject"] for held in exported["quarantine"]] == [f"Retingut {n}" for n in range(600, 603)]

    output = tmp_path / "tickets.csv"
    result = runner.invoke(args=["tickets", "export", "--format", "csv", "--output", str(output)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"), newline="")))
    assert [int(row["number"]) for row in rows] == list(expected)
    assert [int(row["messages"]) for row in rows] == [len(messages) for messages in expected.values()]
    assert {row["council"] for row in rows} == {"Ajuntament de Vic"}

def test_csv_keeps_formulas_as_text_and_numbers_as_numbers(app):
    council = factories.council(name="Ajuntament de Vic")
    formula = factories.ticket('=HYPERLINK("https://x.example","Feu clic")', "a", of=council)
    sum_ = factories.ticket("-2+3", "b", of=council, requester_phone="+34934020704")
    factories.ticket("Logotip - 2026", "c", of=council)
    output = io.StringIO()
    write_csv(output)
    rows = list(csv.DictReader(io.StringIO(output.getvalue())))
    assert [row["subject"] for row in rows] == ['\'=HYPERLINK("https://x.example","Feu clic")', "'-2+3",
                                                "Logotip - 2026"]
    assert rows[1]["requester_phone"] == "'+34934020704"
    assert [row["number"] for row in rows[:2]] == [str(formula.id), str(sum_.id)]
    json_output = io.StringIO()
    write_json(json_output)  # the backup keeps the text exactly as it was typed
    assert json.loads(json_output.getvalue())["tickets"][1]["subject"] == "-2+3"
