"""Schemathesis runs every operation of the OpenAPI document against the app, with the token of an agent and
of a council user: no answer is a server error, and every answer fits the document."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from helpdesk import create_app
from helpdesk.api.spec import document
from helpdesk.auth.models import Role
from helpdesk.tickets.services import add_message
from helpdesk.tickets.states import MessageKind
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from tests import factories
from tests.api.conftest import token_of
from tests.conftest import SECRET_KEY



def _document() -> dict:
    """The document as the app serves it (the same for every app: made from the code, not the database)."""
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": SECRET_KEY, "TESTING": True,
                      "INSTANCE_PATH": Path(tempfile.mkdtemp(prefix="api-schema-"))})
    with app.app_context():
        return document()


# (schemathesis.pytest.from_fixture would load it from each test's app, but does not run on pytest 9.)
schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def tokens(app):
    vic = factories.council(name="Ajuntament de Vic")
    factories.contact(vic)
    factories.instance(vic)
    agent = factories.user(Role.AGENT)
    ticket = factories.ticket(of=vic)
    add_message(agent, ticket, MessageKind.REPLY, "Hola", utcnow())
    db.session.commit()
    return {Role.AGENT: token_of(agent), Role.COUNCIL_USER: token_of(factories.user(Role.COUNCIL_USER, of=vic))}


def test_the_document_is_openapi_3_1(app):
    assert document()["openapi"] == "3.1.0"


@schema.parametrize()
@settings(max_examples=6, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_every_operation_answers_within_the_schema(app, case, tokens):
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 100_000
    for secret in tokens.values():
        response = case.call_and_validate(app=app, headers={"Authorization": f"Bearer {secret}"},
                               checks=[not_a_server_error, response_schema_conformance, content_type_conformance])
