"""Tokens of an agent and of a council user, and a client that sends them."""
from __future__ import annotations

import pytest

from helpdesk.api.models import TokenScope
from helpdesk.api.tokens import create_token
from helpdesk.auth.models import Role, User
from helpdesk.councils.models import Council
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from tests import factories


def token_of(user, scope: TokenScope = TokenScope.WRITE, **kwargs) -> str:
    token = create_token(user, "Integració", scope, utcnow(), **kwargs)
    db.session.commit()
    return token.secret


@pytest.fixture
def world(app):
    vic = factories.council(name="Ajuntament de Vic")
    manresa = factories.council(name="Ajuntament de Manresa")
    agent = factories.user(Role.AGENT)
    vic_user = factories.user(Role.COUNCIL_USER, of=vic)
    manresa_user = factories.user(Role.COUNCIL_USER, of=manresa)
    # Ids, not objects: the test client ends the session the objects belong to at each request.
    return {"vic": vic.id, "manresa": manresa.id, "agent": agent.id, "agent_email": agent.email,
            "vic_user": vic_user.id, "manresa_user": manresa_user.id,
            "vic_instance": factories.instance(vic).id, "manresa_instance": factories.instance(manresa).id,
            "agent_token": token_of(agent), "vic_token": token_of(vic_user)}


def council(world, name):
    return db.session.get(Council, world[name])


def user(world, name):
    return db.session.get(User, world[name])


def bearer(secret: str, **headers) -> dict:
    return {"Authorization": f"Bearer {secret}", **headers}
