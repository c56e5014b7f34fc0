"""Two councils with a platform each, a council user of the first, a technician; an SMTP server on loopback."""
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.core.outbox import OutboxMessage, SmtpSettings
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from tests import factories
from tests.core.test_outbox import Server

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # a Monday, 10 in the morning in Barcelona


@dataclass(frozen=True)
class Place:
    """A council and its platform by id (the test client ends the session its objects belong to)."""

    id: int
    instance_id: int
    host: str


def place(name: str, host: str) -> Place:
    council = factories.council(name=name, domains=[host.split(".")[0] + ".cat"])
    instance = factories.instance(council, url=f"https://{host}")
    return Place(council.id, instance.id, host)


@pytest.fixture
def vic(app):
    return place("Ajuntament de Vic", "vic.participa311.diba.cat")


@pytest.fixture
def manlleu(app):
    return place("Ajuntament de Manlleu", "manlleu.participa311.diba.cat")


@pytest.fixture
def marta(vic):
    """Vic's technical referent, a contact and a council user (who reads the desk in English)."""
    council = db.session.get(Council, vic.id)
    factories.contact(council, name="Marta Puigdollers", email="mpuigdollers@vic.cat", referent=True)
    user = factories.user(Role.COUNCIL_USER, of=council, email="mpuigdollers@vic.cat", language="en")
    user.name = "Marta Puigdollers"
    db.session.commit()
    return user.id


@pytest.fixture
def technician(app):
    return factories.user(Role.TECHNICIAN, email="tecnic@diba.cat", language="en").id


@pytest.fixture
def smtp(app):
    server = Server()
    server.start()
    yield server.inbox, SmtpSettings(host="127.0.0.1", port=server.port, sender=app.config["SUPPORT_EMAIL"],
                                     sender_name=app.config["MAIL_FROM_NAME"])
    server.stop()


def outbox(to: str | None = None) -> list[OutboxMessage]:
    return [item for item in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if to is None or to in item.to_addresses]
