"""E-mail the desk sends: every e-mail, from its templates, in Catalan, Spanish and English, with the desk's own
address, phone and support hours; each recipient's language; the administrators' preview; an HTML part that
escapes what councils type, through a real SMTP server (aiosmtpd on loopback)."""
import re
from html import unescape
from datetime import date, datetime, time, timedelta, timezone
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import select

from helpdesk.accompaniment import services as accompaniment
from helpdesk.auth.models import Role
from helpdesk.catalog.models import CatalogCall
from helpdesk.core.emails import EMAILS, paragraphs
from helpdesk.core.outbox import OutboxMessage, SmtpSettings, deliver_pending
from helpdesk.councils.models import Contact, Council
from helpdesk.extensions import db
from helpdesk.mail.intake import ingest
from helpdesk.operations import emails as previews  # noqa: F401 (imports every domain's e-mails)
from helpdesk.sla.calendar import BusinessCalendar
from helpdesk.sla.hours import describe_hours, support_hours
from helpdesk.sla.models import Calendar
from helpdesk.sla.services import CalendarData, save_calendar, support_calendar
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import add_message
from helpdesk.tickets.states import MessageKind
from tests import factories
from tests.catalog.test_services import decided, filed
from tests.core.test_outbox import Server

LANGUAGES = ("ca", "es", "en")
# What a template or a translation left unfilled: a Python or Jinja placeholder, a missing value.
LEFTOVERS = re.compile(r"%\(\w+\)|\{\{|\}\}|\{%|%\}|\bUndefined\b|\bNone\b|\[\]")
EVERY_EMAIL = ["accompaniment/cancellation", "accompaniment/decision", "accompaniment/invitation",
               "accompaniment/session_reminder", "accompaniment/to_assess", "auth/attack_warning", "auth/invitation",
               "auth/password_changed", "auth/password_reset", "catalog/platform_ready",
               "catalog/provisioning", "catalog/renewal_reminder", "catalog/request_status",
               "notifications/notification", "status/maintenance", "status/maintenance_cancelled",
               "status/outage_opened", "status/outage_recovered", "tickets/acknowledgement",
               "tickets/outage", "tickets/reply", "tickets/reply_bounced", "tickets/resolved", "tickets/sla_at_risk",
               "tickets/sla_breached", "webhooks/paused"]
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # a Monday morning, inside support hours


@pytest.fixture
def smtp(app):
    server = Server()
    server.start()
    yield server.inbox, SmtpSettings(host="127.0.0.1", port=server.port, sender=app.config["SUPPORT_EMAIL"],
                                     sender_name=app.config["MAIL_FROM_NAME"])
    server.stop()


@pytest.fixture
def vic(app):
    council = factories.council(name="Ajuntament de Vic", domains=["vic.cat"])
    factories.instance(council, url="https://vic.participa311.diba.cat")
    return council


def mail(sender="Marta Puigdollers <mpuigdollers@vic.cat>", subject="No puc canviar el logotip",
         body="Bon dia, el logotip nou no surt.") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "suportparticipa311@diba.cat", subject
    message["Message-ID"] = make_msgid(domain="vic.cat")
    message.set_content(body)
    return message.as_bytes()


def outbox(to: str | None = None) -> list[OutboxMessage]:
    return [item for item in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if to is None or to in item.to_addresses]


def part_of(message, content_type: str) -> str:
    part = next(part for part in message.walk() if part.get_content_type() == content_type)
    return part.get_payload(decode=True).decode(part.get_content_charset())


def change_support_hours(intervals, official_holidays=""):
    calendar = db.session.get(Calendar, support_calendar_id())
    for holiday in list(calendar.holidays):
        db.session.delete(holiday)
    save_calendar(None, CalendarData(name=calendar.name, timezone=calendar.timezone, is_24x7=False,
                                     official_holidays=official_holidays, intervals=intervals), calendar)
    db.session.commit()


def support_calendar_id() -> int:
    return db.session.scalar(select(Calendar.id).where(Calendar.is_24x7.is_(False)).order_by(Calendar.id))


# --- the hours in words -------------------------------------------------------------------------------

def test_the_configured_support_hours_read_in_each_language(app):
    assert describe_hours(support_calendar(), "en") == \
        "Monday to Friday, 9:00 to 14:00 and 15:00 to 17:00, except holidays"
    catalan, spanish = describe_hours(support_calendar(), "ca"), describe_hours(support_calendar(), "es")
    assert "dilluns" in catalan and "divendres" in catalan and " i " in catalan and "Monday" not in catalan
    assert "lunes" in spanish and "viernes" in spanish and " y " in spanish and "Monday" not in spanish
    for text in (catalan, spanish):
        assert all(hour in text for hour in ("9:00", "14:00", "15:00", "17:00"))


def test_another_schedule_is_described_as_it_is(app):
    shorter_fridays = {**{day: [(time(8), time(15))] for day in range(4)}, 4: [(time(8), time(13))],
                       5: [(time(10), time(0))]}  # Saturdays until midnight
    calendar = BusinessCalendar("Europe/Madrid", shorter_fridays)
    assert describe_hours(calendar, "en") == \
        "Monday to Thursday, 8:00 to 15:00; Friday, 8:00 to 13:00; Saturday, 10:00 to 24:00"
    assert "dissabte" in describe_hours(calendar, "ca") and "sábado" in describe_hours(calendar, "es")
    scattered = BusinessCalendar("Europe/Madrid", {0: [(time(9), time(14))], 1: [(time(16), time(18))],
                                                   2: [(time(9), time(14))], 4: [(time(9), time(14))]},
                                 holidays=[datetime(2026, 12, 8).date()])
    assert describe_hours(scattered, "en") == \
        "Monday, Wednesday, and Friday, 9:00 to 14:00; Tuesday, 16:00 to 18:00, except holidays"
    assert describe_hours(BusinessCalendar.always("Europe/Madrid"), "en") == "every day, at any time"
    assert describe_hours(None, "en") == ""


# --- every e-mail, every language ---------------------------------------------------------------------

def test_every_email_the_desk_sends_is_registered_with_what_sends_it():
    assert sorted(EMAILS) == EVERY_EMAIL
    for email in EMAILS.values():
        assert str(email.trigger) and str(email.recipients)


def test_each_email_in_each_language_is_filled_in_and_shows_the_desks_address_phone_and_hours(app):
    app.config.update(SUPPORT_EMAIL="ajuda@exemple.cat", SUPPORT_PHONE="900 111 222", MAIL_FROM_NAME="Ajuda P311")
    change_support_hours([(day, time(8), time(15)) for day in range(4)] + [(4, time(8), time(13))])
    assert support_hours("en") == "Monday to Thursday, 8:00 to 15:00; Friday, 8:00 to 13:00"
    for email in EMAILS.values():
        for language in LANGUAGES:
            hours = support_hours(language)
            rendered = email.render(language, email.sample(), hours=hours)
            where = f"{email.name} in {language}"
            assert rendered.subject and "\n" not in rendered.subject, where
            for part in (rendered.subject, rendered.text, rendered.html):
                assert not LEFTOVERS.search(part), f"{where}: {LEFTOVERS.search(part).group(0)!r}"
            for part in (rendered.text, rendered.html):
                assert "ajuda@exemple.cat" in part and "900 111 222" in part and "Ajuda P311" in part, where
                assert escape(hours) in part, where
            assert "8:00" in hours and "13:00" in hours and "9:00" not in hours
            assert rendered.html.startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in rendered.html
            assert "<script" not in rendered.html and "src=" not in rendered.html, where  # nothing from outside


def test_changing_the_settings_changes_the_mail(app):
    email = EMAILS["tickets/acknowledgement"]
    before = email.render("en", email.sample(), hours=support_hours("en"))
    assert "suportparticipa311@diba.cat" in before.text and "934 020 704" in before.text
    assert "Monday to Friday, 9:00 to 14:00 and 15:00 to 17:00, except holidays" in before.text
    app.config.update(SUPPORT_EMAIL="suport@exemple.cat", SUPPORT_PHONE="931 000 000")
    change_support_hours([(day, time(9), time(13)) for day in range(5)])
    after = email.render("en", email.sample(), hours=support_hours("en"))
    assert "suport@exemple.cat" in after.text and "931 000 000" in after.text
    assert "Support hours: Monday to Friday, 9:00 to 13:00." in after.text  # no holidays left to mention
    assert "suportparticipa311@diba.cat" not in after.text + after.html


# --- the recipient's language ---------------------------------------------------------------------------

def test_a_requester_whose_contact_reads_spanish_gets_the_spanish_acknowledgement(app, client, vic):
    admin, council_id = factories.user(Role.ADMIN, email="admin@diba.cat", language="en"), vic.id
    client.login(admin.email, factories.PASSWORD)
    assert "Language of the e-mail we send" in client.get(f"/councils/{council_id}/contacts/new").get_data(as_text=True)
    response = client.submit(f"/councils/{council_id}/contacts/new", {
        "name": "Marta Puigdollers", "email": "mpuigdollers@vic.cat", "language": "es"})
    assert response.status_code == 302
    assert db.session.scalar(select(Contact.language).where(Contact.email == "mpuigdollers@vic.cat")) == "es"
    outcome = ingest(mail(), "inbox")
    ticket = db.session.get(Ticket, outcome.ticket_id)
    [ack] = outbox("mpuigdollers@vic.cat")
    assert ack.subject == f"[Participa311 #{ticket.id}] Recibido: No puc canviar el logotip"
    assert "Hemos recibido su mensaje y hemos abierto el tique" in ack.body_text
    assert "Hemos recibido su mensaje" in ack.body_html and '<html lang="es">' in ack.body_html
    assert ack.headers["Auto-Submitted"] == "auto-replied" and ack.headers["X-Helpdesk-Loop"] == "diba.cat"
    assert ticket.messages[-1].kind is MessageKind.ACKNOWLEDGEMENT and "Hemos recibido" in ticket.messages[-1].body_text


def test_a_users_own_language_comes_before_the_contacts_and_others_get_the_default(app, vic):
    factories.contact(vic, name="Jordi Casals", email="jcasals@vic.cat")  # no language: Catalan
    factories.contact(vic, name="Marta Puigdollers", email="mpuigdollers@vic.cat")
    factories.user(Role.COUNCIL_USER, of=vic, email="mpuigdollers@vic.cat", language="en")
    ingest(mail(), "inbox")
    ingest(mail(sender="jcasals@vic.cat", subject="Una altra cosa"), "inbox")
    assert outbox("mpuigdollers@vic.cat")[0].subject.endswith("Received: No puc canviar el logotip")
    assert "Rebut: Una altra cosa" in outbox("jcasals@vic.cat")[0].subject


def test_a_reply_keeps_the_agents_words_and_threads_and_goes_out_as_text_and_html(app, vic, smtp):
    inbox, settings = smtp
    factories.contact(vic, name="Marta Puigdollers", email="mpuigdollers@vic.cat")
    contact = db.session.scalar(select(Contact).where(Contact.email == "mpuigdollers@vic.cat"))
    contact.language = "es"
    db.session.commit()
    ticket = db.session.get(Ticket, ingest(mail(), "inbox").ticket_id)
    agent = factories.user(Role.AGENT, email="laia@diba.cat")
    words = "Bon dia Marta,\n\nFeu servir un PNG <600 px> & proveu-ho ara: https://vic.participa311.diba.cat/admin"
    reply = add_message(agent, ticket, MessageKind.REPLY, words, NOW)
    db.session.commit()
    [sent] = [item for item in outbox() if item.message_id == reply.message_id]
    assert sent.body_text.startswith(words + "\n\n" + agent.name)  # as written: no translation, no greeting added
    assert "Soporte: suportparticipa311@diba.cat" in sent.body_text  # the footer is the requester's language
    assert "Feu servir un PNG &lt;600 px&gt; &amp; proveu-ho ara" in sent.body_html
    assert '<a href="https://vic.participa311.diba.cat/admin"' in sent.body_html
    assert deliver_pending(settings).sent == 2  # the acknowledgement and the reply
    message = next(message for _, message, _ in inbox.received if message["Message-ID"] == reply.message_id)
    assert message["In-Reply-To"] and message["X-Helpdesk-Loop"] == "diba.cat"
    assert message["Subject"] == f"[Participa311 #{ticket.id}] No puc canviar el logotip"
    assert [part.get_content_type() for part in message.walk()][1:] == ["text/plain", "text/html"]
    assert part_of(message, "text/plain").startswith("Bon dia Marta,")


def test_a_session_invitation_goes_to_each_attendee_in_their_language_with_its_calendar_file(app):
    council = factories.council("Ajuntament de Vic", "08298")
    db.session.add(CatalogCall(year=2026, opens_on=date(2026, 1, 15), closes_on=date(2026, 12, 31)))
    db.session.commit()
    record = decided(filed(council, None, now=NOW - timedelta(days=30)), None, now=NOW - timedelta(days=29))
    db.session.scalar(select(Contact).where(Contact.email == "marta@vic.cat")).language = "es"  # the referent
    asker = factories.user(Role.COUNCIL_USER, of=council, language="en")
    request = accompaniment.ask(asker, council, accompaniment.RequestData(
        instance_id=record.instance_id, action="Pressupostos participatius", needs=["configuration"]), NOW)
    accompaniment.authorise(factories.user(Role.OTPGL_APPROVER), request, "D'acord.", NOW)
    adviser = factories.user(Role.AGENT, email="assessora@diba.cat")
    accompaniment.schedule_session(adviser, request, accompaniment.SessionData(
        kind="configuration", starts_at=NOW + timedelta(days=3), duration_minutes=60, online=True,
        location="https://meet.example.org/x", adviser_id=adviser.id, attendees="marta@vic.cat, pere@vic.cat"), NOW)
    db.session.commit()
    invitations = [item for item in outbox() if item.attachments]
    assert [item.to_addresses for item in invitations] == ["assessora@diba.cat, pere@vic.cat", "marta@vic.cat"]
    catalan, spanish = invitations
    assert "Sessió d'acompanyament" in catalan.subject and "Sesión de acompañamiento" in spanish.subject
    assert catalan.attachments == spanish.attachments and catalan.attachments[0]["params"] == {"method": "REQUEST"}
    [decision] = outbox(asker.email)  # who asked hears of the decision in their own language
    assert "Authorised" in decision.subject and "is now: authorised." in decision.body_text


# --- what councils type is escaped ----------------------------------------------------------------------

def test_the_html_part_is_in_the_outbox_and_escapes_a_subject_with_a_script(app, vic, smtp):
    inbox, settings = smtp
    ingest(mail(subject="<script>alert('x')</script> El logotip & la URL"), "inbox")
    [ack] = outbox()
    assert ack.body_html and "<script" not in ack.body_html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; El logotip &amp; la URL" in ack.body_html
    assert "<script>alert('x')</script> El logotip & la URL" in ack.subject  # a subject is plain text
    assert deliver_pending(settings).sent == 1
    [(_, message, _)] = inbox.received
    html = part_of(message, "text/html")
    assert "&lt;script&gt;" in html and "<script" not in html


def test_plain_text_becomes_escaped_paragraphs_with_links():
    assert str(paragraphs("a <b>\nc\n\n\nhttps://example.org/x?y=1&z=2.")) == (
        '<p style="margin:0 0 1em">a &lt;b&gt;<br>\nc</p>\n<p style="margin:0 0 1em">'
        '<a href="https://example.org/x?y=1&amp;z=2" style="color:#0b5cad">https://example.org/x?y=1&amp;z=2</a>.</p>')


# --- the administrators' preview --------------------------------------------------------------------------

def test_an_administrator_previews_every_email_in_each_language(app, client):
    admin = factories.user(Role.ADMIN, language="en")
    client.login(admin.email, factories.PASSWORD)
    page = client.get("/admin/emails").get_data(as_text=True)
    assert 'href="/admin/emails"' in page  # linked from the administrators' navigation
    for name in EVERY_EMAIL:
        assert f'href="/admin/emails/{name}"' in page
        with force_locale("en"):  # the administrator's language
            assert str(EMAILS[name].trigger) in unescape(page)
    for name, email in EMAILS.items():
        for language in LANGUAGES:
            response = client.get(f"/admin/emails/{name}", query_string={"language": language})
            assert response.status_code == 200, (name, language)
            shown = response.get_data(as_text=True)
            with app.test_request_context():  # links name the address the preview was asked at, as the page's do
                expected = email.render(language, email.sample(), hours=support_hours(language))
            assert escape(expected.subject) in shown and f'src="/admin/emails/{name}/{language}.html"' in shown
            assert "<iframe" in shown and " sandbox " in shown
            html = client.get(f"/admin/emails/{name}/{language}.html")
            assert html.status_code == 200 and html.get_data(as_text=True) == expected.html
            assert html.headers["Content-Security-Policy"].startswith("sandbox;")
            assert "script-src" not in html.headers["Content-Security-Policy"]
    assert client.get("/admin/emails/tickets/reply", query_string={"language": "xx"}).status_code == 200
    assert client.get("/admin/emails/tickets/nothing").status_code == 404
    assert client.get("/admin/emails/tickets/reply/fr.html").status_code == 404


def test_the_preview_is_for_administrators_only(app, client, vic):
    council_id = vic.id
    for role in (Role.AGENT, Role.TECHNICIAN, Role.COUNCIL_USER):
        council = db.session.get(Council, council_id) if role is Role.COUNCIL_USER else None
        user = factories.user(role, of=council)
        client.login(user.email, factories.PASSWORD)
        for url in ("/admin/emails", "/admin/emails/tickets/reply", "/admin/emails/tickets/reply/ca.html"):
            assert client.get(url).status_code == 403, (role, url)
        client.submit("/logout")
    assert client.get("/admin/emails").status_code == 302  # signed out: to the sign-in page
