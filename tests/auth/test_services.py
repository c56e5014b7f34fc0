from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.auth.services import (LoginRefused, LoginThrottled, authenticate, change_own_password, create_user,
                                    set_password, update_user)
from helpdesk.core.audit import AuditEvent, trail
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from tests import factories

WINDOW = timedelta(minutes=15)
pytestmark = pytest.mark.usefixtures("english")


def login(email, password, address="192.0.2.1", now=None, per_account=5, per_address=20):
    return authenticate(email, password, address, now or utcnow(), max_per_account=per_account,
                        max_per_address=per_address, window=WINDOW)


def test_passwords_are_stored_as_salted_scrypt_hashes(app):
    first = factories.user(email="a@example.org")
    second = factories.user(email="b@example.org")
    assert factories.PASSWORD not in first.password_hash
    assert first.password_hash.startswith("scrypt:")
    assert first.password_hash != second.password_hash  # same password, different salt
    assert login("a@example.org", factories.PASSWORD) == first


def test_login_is_case_insensitive_on_the_email_and_records_the_time(app):
    user = factories.user(email="Agent@Example.org")
    assert user.email == "agent@example.org"
    assert login("  AGENT@example.ORG ", factories.PASSWORD) == user
    assert user.last_login_at is not None


def test_wrong_password_unknown_account_and_inactive_account_are_refused_alike(app):
    user = factories.user(email="a@example.org")
    with pytest.raises(LoginRefused) as wrong:
        login("a@example.org", "not the password")
    with pytest.raises(LoginRefused) as unknown:
        login("nobody@example.org", factories.PASSWORD)
    update_user(None, user, email=user.email, name=user.name, role=user.role, council_id=None, language="ca",
                is_active=False)
    with pytest.raises(LoginRefused) as inactive:
        login("a@example.org", factories.PASSWORD)
    assert str(wrong.value) == str(unknown.value) == str(inactive.value)


def test_throttling_per_account_then_released_when_the_window_passes(app):
    factories.user(email="a@example.org")
    start = utcnow()
    for minute in range(5):
        with pytest.raises(LoginRefused):
            login("a@example.org", "wrong", now=start + timedelta(minutes=minute))
    with pytest.raises(LoginThrottled) as throttled:  # even the right password is refused now
        login("a@example.org", factories.PASSWORD, now=start + timedelta(minutes=5))
    assert "10 minutes" in str(throttled.value.message)
    # from another address too: the limit protects the account
    with pytest.raises(LoginThrottled):
        login("a@example.org", factories.PASSWORD, address="198.51.100.7", now=start + timedelta(minutes=6))
    # once the first failure is older than the window, one more try is allowed, and it succeeds
    assert login("a@example.org", factories.PASSWORD, now=start + timedelta(minutes=15, seconds=1)).email == \
        "a@example.org"


def test_throttling_per_address_across_accounts(app):
    factories.user(email="victim@example.org")
    now = utcnow()
    for number in range(3):
        with pytest.raises(LoginRefused):
            login(f"guess{number}@example.org", "wrong", now=now, per_address=3)
    with pytest.raises(LoginThrottled):
        login("victim@example.org", factories.PASSWORD, now=now, per_address=3)
    assert login("victim@example.org", factories.PASSWORD, address="203.0.113.9", now=now, per_address=3)


def test_successful_login_clears_the_account_failures(app):
    factories.user(email="a@example.org")
    now = utcnow()
    for _ in range(4):
        with pytest.raises(LoginRefused):
            login("a@example.org", "wrong", now=now)
    login("a@example.org", factories.PASSWORD, now=now)
    for _ in range(4):  # four more failures do not reach the limit of five
        with pytest.raises(LoginRefused):
            login("a@example.org", "wrong", now=now)
    assert login("a@example.org", factories.PASSWORD, now=now)


@pytest.mark.parametrize("password, message", [
    ("short", "at least 10"),
    ("aaaaaaaaaaaa", "too easy"),
    ("x@example.org", "cannot be your e-mail"),
])
def test_password_rules(app, password, message):
    with pytest.raises(DomainError) as refused:
        create_user(None, email="x@example.org", name="X", role=Role.AGENT, password=password)
    assert message in str(refused.value.message)
    assert refused.value.field == "password"
    assert db.session.scalar(select(User)) is None


def test_role_and_council_must_agree(app):
    council = factories.council()
    with pytest.raises(DomainError, match="must belong to a council"):
        create_user(None, email="c@example.org", name="C", role=Role.COUNCIL_USER, password=factories.PASSWORD)
    with pytest.raises(DomainError, match="Only council users"):
        create_user(None, email="c@example.org", name="C", role=Role.AGENT, password=factories.PASSWORD,
                    council_id=council.id)


def test_duplicate_email_is_refused_whatever_its_case(app):
    factories.user(email="a@example.org")
    with pytest.raises(DomainError, match="already a user") as refused:
        create_user(None, email="A@EXAMPLE.ORG", name="Again", role=Role.AGENT, password=factories.PASSWORD)
    assert refused.value.field == "email"


def test_password_change_ends_other_sessions_and_is_audited_without_the_password(app):
    user = factories.user()
    token = user.session_token
    with pytest.raises(DomainError, match="current password"):
        change_own_password(user, "wrong", "Another-Password-9")
    change_own_password(user, factories.PASSWORD, "Another-Password-9")
    assert user.session_token != token
    event = trail(user)[0]
    assert event.action == "password_changed" and event.changes == {}
    assert "Another-Password-9" not in str([e.changes for e in db.session.scalars(select(AuditEvent))])


def test_only_admins_manage_users_and_cannot_lock_themselves_out(app):
    admin = factories.user(Role.ADMIN)
    agent = factories.user(Role.AGENT)
    with pytest.raises(NotAllowed):
        set_password(agent, admin, "Whatever-Password-1")
    with pytest.raises(NotAllowed):
        create_user(agent, email="n@example.org", name="N", role=Role.ADMIN, password=factories.PASSWORD)
    with pytest.raises(DomainError, match="your own administrator"):
        update_user(admin, admin, email=admin.email, name=admin.name, role=Role.AGENT, council_id=None,
                    language="ca", is_active=True)


def test_user_changes_are_audited_with_before_and_after(app):
    admin = factories.user(Role.ADMIN)
    agent = factories.user(Role.AGENT, email="agent@example.org")
    update_user(admin, agent, email=agent.email, name="Agent Renamed", role=Role.TECHNICIAN, council_id=None,
                language="es", is_active=True)
    event = trail(agent)[0]
    assert event.actor_id == admin.id and event.action == "updated"
    assert event.changes == {"name": {"before": "agent user", "after": "Agent Renamed"},
                             "role": {"before": "agent", "after": "technician"},
                             "language": {"before": "ca", "after": "es"}}
