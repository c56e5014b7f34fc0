import csv
import hashlib
import io
import json

from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.export import write_csv, write_json
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
