"""The privacy domain's screens and commands, registered for these tests as the app factory and the CLI
will register them (only when they are not yet: the fixture keeps working once they are), and a person with
a little of everything the desk holds on people."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from helpdesk.auth.models import Role, User
from helpdesk.councils.models import Contact, Council
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import CallData, add_message, log_call
from helpdesk.tickets.states import CallDirection, Channel, MessageKind
from tests import factories

ANNA_EMAIL = "anna.garcia@example.org"
ANNA_PHONE = "+34600111222"
ANNA_NAME = "Anna Garcia Puig"


@pytest.fixture(autouse=True)
def privacy_registered(app):
    if "privacy" not in app.blueprints:
        from helpdesk.privacy.views import bp
        app.register_blueprint(bp)
    if "privacy" not in app.cli.commands:
        from helpdesk.privacy.cli import privacy_group
        app.cli.add_command(privacy_group)
    return app


@dataclass
class People:
    """The ids of the test's people; each attribute reads its record again (a test client's request ends the
    test's session, so objects would not outlive it)."""

    council_id: int
    anna_id: int
    bernat_id: int
    agent_id: int
    admin_id: int
    anna_ticket_id: int
    bernat_ticket_id: int

    council = property(lambda self: db.session.get(Council, self.council_id))
    anna = property(lambda self: db.session.get(Contact, self.anna_id))
    bernat = property(lambda self: db.session.get(Contact, self.bernat_id))
    agent = property(lambda self: db.session.get(User, self.agent_id))
    admin = property(lambda self: db.session.get(User, self.admin_id))
    anna_ticket = property(lambda self: db.session.get(Ticket, self.anna_ticket_id))
    bernat_ticket = property(lambda self: db.session.get(Ticket, self.bernat_ticket_id))


@pytest.fixture
def people(app) -> People:
    """Anna (a contact with a ticket, a reply sent to her, a call from her phone) and Bernat (another
    contact of the same council, with his own ticket)."""
    council = factories.council("Ajuntament de Sant Privat", domains=["santprivat.cat"])
    anna = factories.contact(council, name=ANNA_NAME, email=ANNA_EMAIL, phone=ANNA_PHONE, position="Tècnica")
    bernat = factories.contact(council, name="Bernat Soler", email="bernat.soler@santprivat.cat")
    agent = factories.user(Role.AGENT)
    admin = factories.user(Role.ADMIN)
    now = utcnow()
    anna_ticket = factories.ticket("Logo nou al portal", "Volem canviar el logo de la capçalera.", of=council,
                                   actor=agent, requester_contact_id=anna.id, now=now - timedelta(days=3))
    bernat_ticket = factories.ticket("Mòdul de pressupostos", "Com activem els pressupostos?", of=council,
                                     actor=agent, requester_contact_id=bernat.id, now=now - timedelta(days=2))
    anna_ticket = db.session.get(Ticket, anna_ticket.id)
    add_message(agent, anna_ticket, MessageKind.REPLY, "El logo es canvia des del panell d'administració.",
                now - timedelta(days=2))
    log_call(agent, CallData(CallDirection.INBOUND, ANNA_PHONE, ANNA_NAME, now - timedelta(days=1), 120,
                             "Truca per confirmar que el logo ja es veu."), now, ticket=anna_ticket)
    db.session.commit()
    return People(council.id, anna.id, bernat.id, agent.id, admin.id, anna_ticket.id, bernat_ticket.id)


def rows_holding(*needles: str) -> list[str]:
    """Every table and row of the database (through the models' tables that exist) holding one of ``needles``."""
    existing = set(inspect(db.session.connection()).get_table_names())
    found = []
    for table in db.metadata.sorted_tables:
        if table.name not in existing:
            continue
        for row in db.session.execute(select(table)):
            text = repr(tuple(row)).lower()
            for needle in needles:
                if needle.lower() in text:
                    found.append(f"{table.name}: {needle}")
    return found


__all__ = ["ANNA_EMAIL", "ANNA_NAME", "ANNA_PHONE", "Channel", "People", "rows_holding"]
