"""Password resets and invitations by e-mail: single-use links, the same answer for any address."""
import re
from datetime import timedelta

from sqlalchemy import select

from helpdesk.auth.models import AccountToken, Role, SignInEvent, SignInKind, User
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from tests import factories
from tests.pages import error_after, text

NEW = "Tres-Gats-Grisos-311"


def mail_to(address: str) -> list[OutboxMessage]:
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_addresses == address)
                              .order_by(OutboxMessage.id)).all()


def link_in(message: OutboxMessage) -> str:
    return re.search(r"http://[^/\s]+(/\S+)", message.body_text).group(1)


def test_forgotten_password_answers_alike_for_any_address_and_mails_only_an_account(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    client.get("/password/forgot")
    known = client.submit("/password/forgot", {"email": "agent@example.org"})
    assert "Si agent@example.org correspon a un compte" in text(client.get(known.headers["Location"]))
    unknown = client.submit("/password/forgot", {"email": "nobody@example.org"})
    assert "Si nobody@example.org correspon a un compte" in text(client.get(unknown.headers["Location"]))
    assert known.status_code == unknown.status_code == 302
    assert len(mail_to("agent@example.org")) == 1 and mail_to("nobody@example.org") == []
    kinds = db.session.scalars(select(SignInEvent.email).where(SignInEvent.kind == SignInKind.RESET_REQUESTED)).all()
    assert sorted(kinds) == ["agent@example.org", "nobody@example.org"]


def test_a_reset_link_works_once_ends_every_session_and_tells_the_owner(app):
    factories.user(Role.AGENT, email="agent@example.org")
    elsewhere = app.test_client()
    elsewhere.login("agent@example.org", factories.PASSWORD)
    client = app.test_client()
    client.get("/password/forgot")
    client.submit("/password/forgot", {"email": "agent@example.org"})
    link = link_in(mail_to("agent@example.org")[0])
    assert "Trieu una contrasenya nova" in text(client.get(link))
    weak = client.submit(link, {"password": "password1234", "confirm": "password1234"})
    assert "massa fàcil" in error_after(text(weak), "password")
    response = client.submit(link, {"password": NEW, "confirm": NEW})
    assert response.status_code == 302
    assert client.get("/councils").status_code == 200  # signed in with the new password
    assert elsewhere.get("/councils").status_code == 302  # the other session has ended
    again = app.test_client().get(link)
    assert again.status_code == 410 and "Aquest enllaç ja no funciona" in text(again)
    notices = mail_to("agent@example.org")
    assert len(notices) == 2 and "contrasenya" in notices[1].subject.lower()
    assert app.test_client().login("agent@example.org", factories.PASSWORD).status_code == 401
    assert app.test_client().login("agent@example.org", NEW).status_code == 302


def test_a_reset_link_stops_working_after_an_hour_and_when_a_new_one_is_asked(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    client.get("/password/forgot")
    client.submit("/password/forgot", {"email": "agent@example.org"})
    client.submit("/password/forgot", {"email": "agent@example.org"})
    first, second = (link_in(message) for message in mail_to("agent@example.org"))
    assert client.get(first).status_code == 410  # replaced by the second
    assert client.get(second).status_code == 200
    token = db.session.scalars(select(AccountToken).order_by(AccountToken.id.desc())).first()
    token.expires_at = token.created_at + timedelta(minutes=60) - timedelta(days=1)
    db.session.commit()
    assert client.get(second).status_code == 410


def test_an_administrator_invites_a_council_contact_who_chooses_a_password(client, app):
    factories.user(Role.ADMIN, email="admin@example.org")
    vic_id = factories.council(name="Ajuntament de Vic").id
    client.login("admin@example.org", factories.PASSWORD)
    client.get("/admin/invitations")
    refused = client.submit("/admin/invitations", {"email": "marta@vic.cat", "name": "Marta", "role": "council_user",
                                                   "council_id": "", "language": "es"})
    assert error_after(text(refused), "council_id") == "Un usuari d'ens ha de pertànyer a un ens."
    response = client.submit("/admin/invitations", {"email": "marta@vic.cat", "name": "Marta",
                                                    "role": "council_user", "council_id": str(vic_id),
                                                    "language": "es"})
    assert response.status_code == 302
    page = text(client.get("/admin/invitations"))
    assert '<span class="muted">marta@vic.cat</span>' in page and "Ajuntament de Vic" in page
    invitation = mail_to("marta@vic.cat")[0]
    assert "invitado" in invitation.body_text  # written in the person's language
    assert app.test_client().login("marta@vic.cat", "").status_code == 200  # no password yet: nothing to sign in with
    person = app.test_client()
    link = link_in(invitation)
    assert "Marta" in text(person.get(link))
    assert person.submit(link, {"password": NEW, "confirm": NEW}).status_code == 302
    assert person.get("/").status_code == 302 and person.get("/councils").status_code in (200, 403)
    assert person.get(link).status_code == 410  # single use
    assert '<span class="muted">marta@vic.cat</span>' not in text(client.get("/admin/invitations"))  # not pending
    assert mail_to("marta@vic.cat")[1:] == []  # no "your password changed" for a first password


def test_an_invitation_can_be_re_sent_and_withdrawn(client, app):
    factories.user(Role.ADMIN, email="admin@example.org")
    client.login("admin@example.org", factories.PASSWORD)
    client.get("/admin/invitations")
    client.submit("/admin/invitations", {"email": "tech@example.org", "name": "Tech", "role": "technician",
                                         "language": "ca"})
    user_id = db.session.scalar(select(User.id).where(User.email == "tech@example.org"))
    client.submit(f"/admin/invitations/{user_id}/resend")
    first, second = (link_in(message) for message in mail_to("tech@example.org"))
    assert client.get(first).status_code == 410 and client.get(second).status_code == 200
    client.get("/admin/invitations")
    client.submit(f"/admin/invitations/{user_id}/withdraw")
    assert app.test_client().get(second).status_code == 410
    assert db.session.get(User, user_id).is_active is False
    assert '<span class="muted">tech@example.org</span>' not in text(client.get("/admin/invitations"))
    kinds = db.session.scalars(select(SignInEvent.kind).where(SignInEvent.user_id == user_id)
                               .order_by(SignInEvent.id)).all()
    assert kinds == [SignInKind.INVITATION_SENT, SignInKind.INVITATION_SENT, SignInKind.INVITATION_WITHDRAWN]


def test_pending_invitations_are_listed_across_pages(client, app):
    from helpdesk.auth.tokens import invite
    from helpdesk.core.models import utcnow
    factories.user(Role.ADMIN, email="admin@example.org")
    for number in range(app.config["PAGE_SIZE"] * 2 + 3):
        invite(None, email=f"person{number:03d}@example.org", name=f"Person {number:03d}", role=Role.AGENT,
               lifetime=timedelta(days=7), now=utcnow())
    db.session.commit()
    client.login("admin@example.org", factories.PASSWORD)
    seen = set()
    for page in (1, 2, 3):
        seen |= set(re.findall(r"person\d{3}@example.org", text(client.get(f"/admin/invitations?page={page}"))))
    assert len(seen) == app.config["PAGE_SIZE"] * 2 + 3


def test_user_invite_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "invite", "--email", "new@example.org", "--name", "New", "--role", "agent",
                                 "--language", "en"])
    assert result.exit_code == 0, result.output
    assert "Invitation to new@example.org queued" in result.output
    assert "invited you" in mail_to("new@example.org")[0].body_text
    again = runner.invoke(args=["user", "invite", "--email", "new@example.org", "--name", "New", "--role", "agent"])
    assert again.exit_code == 1 and "Ja hi ha un usuari amb el correu new@example.org" in again.output


def test_reset_requests_are_rate_limited_per_address_and_per_e_mail(app):
    factories.user(Role.AGENT, email="agent@example.org")
    client = app.test_client()
    client.get("/password/forgot")
    answers = [client.submit("/password/forgot", {"email": "agent@example.org"}).status_code for _ in range(6)]
    assert answers == [302] * 5 + [429]  # the sixth for the same address within the hour is refused
    assert len(mail_to("agent@example.org")) == 5
    refused = client.submit("/password/forgot", {"email": "agent@example.org"})
    assert "Retry-After" in refused.headers and "Massa peticions" in text(refused)
    for number in range(3):  # other addresses from the same connection: until its limit of ten tries (7 so far)
        assert client.submit("/password/forgot", {"email": f"other{number}@example.org"}).status_code == 302
    assert client.submit("/password/forgot", {"email": "another@example.org"}).status_code == 429
