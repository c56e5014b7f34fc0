from datetime import timedelta

import pytest
from sqlalchemy import select

from werkzeug.security import generate_password_hash

from helpdesk.auth.models import Role, SignInEvent, SignInKind, SignInMethod, User
from helpdesk.auth.record import Client
from helpdesk.auth.services import (LoginRefused, LoginThrottled, Throttle, authenticate, change_own_password,
                                    create_user, set_password, sign_in, update_user)
from helpdesk.auth.sessions import open_sessions
from helpdesk.core.outbox import OutboxMessage
from helpdesk.core.audit import AuditEvent, trail
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from tests import factories

pytestmark = pytest.mark.usefixtures("english")
LIMITS = Throttle(per_pair=5, per_address=20, longest_wait=timedelta(minutes=15), notice_after=20)


def login(email, password, address="192.0.2.1", now=None, limits=LIMITS):
    return authenticate(email, password, Client(address, "pytest"), now or utcnow(), limits)


def test_passwords_are_stored_as_salted_argon2id_hashes(app):
    first = factories.user(email="a@example.org")
    second = factories.user(email="b@example.org")
    assert factories.PASSWORD not in first.password_hash
    assert first.password_hash.startswith("$argon2id$")
    assert first.password_hash != second.password_hash  # same password, different salt
    assert login("a@example.org", factories.PASSWORD) == first


def test_an_older_hash_is_upgraded_to_argon2id_at_the_next_sign_in(app):
    user = factories.user(email="a@example.org")
    user.password_hash = generate_password_hash(factories.PASSWORD)  # what the desk stored before (scrypt)
    db.session.commit()
    assert login("a@example.org", factories.PASSWORD) == user
    db.session.commit()
    assert user.password_hash.startswith("$argon2id$")
    assert login("a@example.org", factories.PASSWORD) == user  # and it still signs in


def test_login_is_case_insensitive_on_the_email(app):
    user = factories.user(email="Agent@Example.org")
    assert user.email == "agent@example.org"
    assert login("  AGENT@example.ORG ", factories.PASSWORD) == user


def test_signing_in_opens_a_session_and_records_when_and_from_where(app):
    user = factories.user(email="a@example.org")
    now = utcnow()
    sign_in(login("a@example.org", factories.PASSWORD), SignInMethod.PASSWORD, Client("192.0.2.1", "Firefox"), now)
    db.session.commit()
    assert user.last_login_at == now
    event = db.session.scalar(select(SignInEvent).where(SignInEvent.kind == SignInKind.SIGNED_IN))
    assert (event.user_id, event.address, event.user_agent, event.method) == (user.id, "192.0.2.1", "Firefox",
                                                                              "password")
    assert [row.address for row in open_sessions(user, now, _lifetimes(app))] == ["192.0.2.1"]


def _lifetimes(app):
    from helpdesk.auth.sessions import Lifetimes
    return Lifetimes.from_config(app.config)


def test_wrong_password_unknown_account_and_inactive_account_are_refused_alike_and_recorded(app):
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
    failures = db.session.scalars(select(SignInEvent.email).where(SignInEvent.kind == SignInKind.FAILED)).all()
    assert sorted(failures) == ["a@example.org", "a@example.org", "nobody@example.org"]


def test_an_attacker_makes_only_their_own_address_wait_with_growing_delays(app):
    factories.user(email="a@example.org")
    start = utcnow()
    for second in range(5):
        with pytest.raises(LoginRefused):
            login("a@example.org", "wrong", address="198.51.100.66", now=start + timedelta(seconds=second))
    with pytest.raises(LoginThrottled) as throttled:  # even the right password waits, from that address
        login("a@example.org", factories.PASSWORD, address="198.51.100.66", now=start + timedelta(seconds=10))
    assert "Try again in 1 minute." in str(throttled.value.message)
    # the owner, from elsewhere, signs in as usual: no lock-out
    assert login("a@example.org", factories.PASSWORD, address="192.0.2.1", now=start + timedelta(seconds=11))
    # after the minute, one more failure from the attacker: now it waits 2 minutes, then 4
    with pytest.raises(LoginRefused):
        login("a@example.org", "wrong", address="198.51.100.66", now=start + timedelta(seconds=65))
    with pytest.raises(LoginThrottled) as longer:
        login("a@example.org", "wrong", address="198.51.100.66", now=start + timedelta(seconds=70))
    assert "2 minutes" in str(longer.value.message)
    with pytest.raises(LoginRefused):
        login("a@example.org", "wrong", address="198.51.100.66", now=start + timedelta(seconds=190))
    with pytest.raises(LoginThrottled) as longest:
        login("a@example.org", "wrong", address="198.51.100.66", now=start + timedelta(seconds=191))
    assert "4 minutes" in str(longest.value.message)
    assert db.session.scalar(select(SignInEvent).where(SignInEvent.kind == SignInKind.THROTTLED)) is not None


def test_throttling_per_address_across_accounts(app):
    factories.user(email="victim@example.org")
    now = utcnow()
    limits = Throttle(per_pair=5, per_address=3, longest_wait=timedelta(minutes=15), notice_after=20)
    for number in range(3):
        with pytest.raises(LoginRefused):
            login(f"guess{number}@example.org", "wrong", now=now, limits=limits)
    with pytest.raises(LoginThrottled):
        login("victim@example.org", factories.PASSWORD, now=now, limits=limits)
    assert login("victim@example.org", factories.PASSWORD, address="203.0.113.9", now=now, limits=limits)
    # the address's wait ends with the window
    assert login("victim@example.org", factories.PASSWORD, now=now + timedelta(minutes=15, seconds=1), limits=limits)


def test_a_success_from_the_pair_starts_its_count_afresh(app):
    user = factories.user(email="a@example.org")
    now = utcnow()
    for _ in range(4):
        with pytest.raises(LoginRefused):
            login("a@example.org", "wrong", now=now)
    sign_in(login("a@example.org", factories.PASSWORD, now=now), SignInMethod.PASSWORD,
            Client("192.0.2.1", "pytest"), now)
    for _ in range(4):  # four more failures do not reach the limit of five
        with pytest.raises(LoginRefused):
            login("a@example.org", "wrong", now=now + timedelta(seconds=1))
    assert login("a@example.org", factories.PASSWORD, now=now + timedelta(seconds=2)) == user


def test_a_sustained_attack_warns_the_owner_by_e_mail_once(app):
    factories.user(email="a@example.org")
    now = utcnow()
    for number in range(25):  # from many addresses, so that none of them waits
        with pytest.raises(LoginRefused):
            login("a@example.org", "wrong", address=f"198.51.100.{number}", now=now + timedelta(seconds=number))
    db.session.commit()
    warnings = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_addresses == "a@example.org")).all()
    assert len(warnings) == 1
    assert "20" in warnings[0].body_text
    assert db.session.scalar(select(SignInEvent).where(SignInEvent.kind == SignInKind.OWNER_WARNED)) is not None


@pytest.mark.parametrize("password, message", [
    ("short", "at least 12"),
    ("aaaaaaaaaaaa", "too easy"),
    ("password1234", "too easy"),
    ("Barcelona2024", "too easy"),
    ("x@example.org!!", "too easy"),  # the address with a little added
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


def test_password_change_ends_other_sessions_tells_the_owner_and_is_audited_without_the_password(app):
    user = factories.user()
    now = utcnow()
    sign_in(user, SignInMethod.PASSWORD, Client("192.0.2.1", "phone"), now)
    sign_in(user, SignInMethod.PASSWORD, Client("192.0.2.2", "laptop"), now)  # the current one
    with pytest.raises(DomainError, match="current password"):
        change_own_password(user, "wrong", "Another-Password-9")
    change_own_password(user, factories.PASSWORD, "Another-Password-9")
    db.session.commit()
    assert [row.user_agent for row in open_sessions(user, now, _lifetimes(app))] == ["laptop"]
    event = trail(user)[0]
    assert event.action == "password_changed" and event.changes == {}
    assert "Another-Password-9" not in str([e.changes for e in db.session.scalars(select(AuditEvent))])
    notice = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_addresses == user.email))
    assert notice.subject == "S'ha canviat la vostra contrasenya"  # in the user's language (Catalan)


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
