"""Webhook fixtures: loopback allowed as a private network (the receiver is on this machine), a receiver,
an administrator and a subscription to every event."""
from __future__ import annotations

import pytest

from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.webhooks import services
from helpdesk.webhooks.models import EVENTS
from tests import factories
from tests.webhooks.receiver import Receiver


@pytest.fixture
def app(app):
    app.config["WEBHOOK_PRIVATE_NETWORKS"] = "127.0.0.0/8"
    return app


@pytest.fixture
def receiver():
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def admin(app):
    return factories.user(Role.ADMIN, email="admin@diba.cat", language="en")


@pytest.fixture
def subscription(app, admin, receiver):
    created, secret = services.create_subscription(admin, services.SubscriptionData(
        url=receiver.url, events=list(EVENTS), description="Gestor d'expedients"), utcnow())
    db.session.commit()
    receiver.secret = secret
    return created
