"""`helpdesk privacy …` as an operator runs it (Click's runner, on the test's app and database)."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from helpdesk.auth.models import Role, User
from helpdesk.core.audit import AuditEvent
from helpdesk.councils.models import Contact
from helpdesk.extensions import db
from tests import factories
from tests.privacy.conftest import ANNA_EMAIL, ANNA_PHONE, rows_holding
from tests.privacy.test_services import OLD_TICKETS, old_and_new  # noqa: F401 (a fixture)


def run(app, *arguments):
    result = app.test_cli_runner().invoke(args=["privacy", *arguments])
    db.session.remove()
    return result


def test_export_writes_the_persons_json_to_stdout(app, people):
    result = run(app, "export", "--contact", str(people.anna.id))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["contacts"][0]["email"] == ANNA_EMAIL
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "personal_data_exported", AuditEvent.actor_label == "system")) == 1


def test_export_needs_exactly_one_person_and_a_known_one(app, people):
    assert run(app, "export").exit_code == 2
    assert run(app, "export", "--contact", "1", "--user", "1").exit_code == 2
    missing = run(app, "export", "--user", "999999")
    assert missing.exit_code == 1 and "no user 999999" in missing.output


def test_erase_asks_for_yes_then_pseudonymises(app, people):
    refused = run(app, "erase", "--contact", str(people.anna.id))
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert db.session.get(Contact, people.anna.id).email == ANNA_EMAIL
    result = run(app, "erase", "--contact", str(people.anna.id), "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Erased: now Persona ")
    assert rows_holding(ANNA_EMAIL, ANNA_PHONE) == []
    again = run(app, "erase", "--contact", str(people.anna.id), "--yes")
    assert again.exit_code == 1 and "Traceback" not in again.output


def test_erase_a_user(app, people):
    carla_id = factories.user(Role.COUNCIL_USER, of=people.council, email="carla@santprivat.cat").id
    result = run(app, "erase", "--user", str(carla_id), "--yes")
    assert result.exit_code == 0, result.output
    assert not db.session.get(User, carla_id).is_active


def test_purge_says_it_never_purges_when_retention_is_zero(app, people):
    result = run(app, "purge")
    assert result.exit_code == 0
    assert "never" in result.output and "nothing was done" in result.output


def test_purge_dry_run_then_for_real(app, old_and_new):  # noqa: F811
    dry = run(app, "purge", "--dry-run", "--years", "5")
    assert dry.exit_code == 0, dry.output
    assert f"Dry run: {OLD_TICKETS} tickets" in dry.output and f"#{min(old_and_new['old'])}" in dry.output
    assert "nothing changed" in dry.output
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "requester_pseudonymised")) == 0
    real = run(app, "purge", "--years", "5")
    assert real.exit_code == 0, real.output
    assert real.output.startswith(f"{OLD_TICKETS} tickets finished before") and "in 3 chunks" in real.output
    assert run(app, "purge", "--years", "-1").exit_code == 2
