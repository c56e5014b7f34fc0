"""Satisfaction: the requester rates a resolution (good / not good, a comment) from the resolution mail's link or
from the portal; one rating per resolution, changeable while resolved; never reopens; "not good" tells the agent."""
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from helpdesk.auth.models import Role
from helpdesk.core.outbox import OutboxMessage, SmtpSettings, deliver_pending
from helpdesk.councils.models import Contact
from helpdesk.extensions import db
from helpdesk.notifications.models import Notification, NotificationKind
from helpdesk.tickets import satisfaction
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.satisfaction import SatisfactionRating
from helpdesk.tickets.services import TicketData, add_message, assign, change_status, open_ticket
from helpdesk.tickets.states import Channel, MessageKind, TicketStatus
from tests import factories
from tests.core.test_outbox import Server
from tests.pages import text

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=MADRID)  # a Monday morning
LINK = re.compile(r"https?://[^\s\"<>]+/rate/[^\s\"<>?]+\?choice=(?:good|not_good)")


@pytest.fixture
def vic(app):
    council = factories.council(name="Ajuntament de Vic", domains=["vic.cat"])
    factories.contact(council, name="Marta Puigdollers", email="marta@vic.cat")
    return council


@pytest.fixture
def laia(app):
    return factories.user(Role.AGENT, email="laia@diba.cat", language="en")


def requester_speaks(address, language):
    db.session.scalar(select(Contact).where(Contact.email == address)).language = language
    db.session.commit()


def resolved_ticket(council, agent, *, requester="marta@vic.cat", when=NOW, subject="El logotip no surt"):
    """A ticket of ``council`` assigned to ``agent``, resolved by the agent's reply."""
    ticket = open_ticket(None, TicketData(subject=subject, body="Bon dia, el logotip nou no surt.",
                                          channel=Channel.EMAIL, council_id=council.id, requester_email=requester),
                         when)
    assign(agent, ticket, agent.id, when)
    add_message(agent, ticket, MessageKind.REPLY, "Ja està canviat.", when + timedelta(hours=1),
                new_status=TicketStatus.RESOLVED)
    db.session.commit()
    return ticket


def mail_to(address):
    return [item for item in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if address in item.to_addresses]


def links_in(body):
    found = {}
    for url in LINK.findall(body):
        found[url.rpartition("choice=")[2]] = re.sub(r"^https?://[^/]+", "", url)
    return found


def ratings():
    return list(db.session.scalars(select(SatisfactionRating).order_by(SatisfactionRating.id)))


def status_of(number):
    return db.session.scalar(select(Ticket.status).where(Ticket.id == number))


# --- the resolution mail ---------------------------------------------------------------------------------

def test_the_resolving_reply_asks_for_the_rating_in_both_parts_in_the_requesters_language(app, vic, laia):
    requester_speaks("marta@vic.cat", "es")
    server = Server()
    server.start()
    try:
        ticket = resolved_ticket(vic, laia)
        [reply] = mail_to("marta@vic.cat")
        assert reply.message_id == ticket.messages[-1].message_id  # the reply itself asks: no second mail
        settings = SmtpSettings(host="127.0.0.1", port=server.port, sender=app.config["SUPPORT_EMAIL"],
                                sender_name=app.config["MAIL_FROM_NAME"])
        assert deliver_pending(settings).sent == 1
        [(_, message, _)] = server.inbox.received
    finally:
        server.stop()
    parts = {part.get_content_type(): part.get_payload(decode=True).decode(part.get_content_charset())
             for part in message.walk() if not part.is_multipart()}
    for body in (parts["text/plain"], parts["text/html"]):
        assert set(links_in(body)) == {"good", "not_good"}
        assert f"/tickets/{ticket.id}/rate/" in links_in(body)["good"]
        assert "excepto festivos" in body  # the whole mail is in Spanish (its support hours' words)
    assert '<html lang="es">' in parts["text/html"]


def test_a_resolution_without_a_reply_sends_its_own_mail_with_the_rating(app, vic, laia, english):
    requester_speaks("marta@vic.cat", "en")
    ticket = open_ticket(None, TicketData(subject="Canvi d'adreça", body="Bon dia", channel=Channel.EMAIL,
                                          council_id=vic.id, requester_email="marta@vic.cat"), NOW)
    db.session.commit()
    before = len(mail_to("marta@vic.cat"))
    change_status(laia, ticket, TicketStatus.RESOLVED, NOW + timedelta(hours=2))
    db.session.commit()
    [resolved] = mail_to("marta@vic.cat")[before:]
    assert resolved.subject == f"[Participa311 #{ticket.id}] Resolved: Canvi d'adreça"
    assert "Are you happy with how ticket" in resolved.body_text
    assert set(links_in(resolved.body_text)) == set(links_in(resolved.body_html)) == {"good", "not_good"}


# --- rating from the mail's link -------------------------------------------------------------------------

def test_opening_a_link_records_nothing_and_confirming_good_records_it_without_reopening(app, client, vic, laia):
    requester_speaks("marta@vic.cat", "en")
    ticket = resolved_ticket(vic, laia)
    number, links = ticket.id, links_in(mail_to("marta@vic.cat")[-1].body_text)
    for url in links.values():  # a mail scanner opening every link
        page = text(client.get(url))
        assert "Rate ticket" in page and "El logotip no surt" in page
    assert ratings() == []
    page = text(client.get(links["good"]))
    assert "You chose “Good” in the e-mail" in page
    assert re.search(r'<input checked id="rating-0" name="rating"[^>]* value="good">', page)
    response = client.submit(links["good"], {"rating": "good", "comment": ""})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Your rating: Good" in page and "Thank you" in page
    [rating] = ratings()
    assert rating.is_good and rating.rated_by_id is None and rating.agent_id == laia.id
    assert status_of(number) is TicketStatus.RESOLVED  # rating never reopens


def test_not_good_with_a_comment_notifies_the_assignee_and_the_comment_stays_plain_text(app, client, vic, laia):
    requester_speaks("marta@vic.cat", "en")
    ticket = resolved_ticket(vic, laia)
    number, links = ticket.id, links_in(mail_to("marta@vic.cat")[-1].body_text)
    client.get(links["not_good"])
    comment = "Encara no surt <script>alert(1)</script> & cal revisar-ho"
    assert client.submit(links["not_good"], {"rating": "not_good", "comment": comment}).status_code == 302
    [rating] = ratings()
    assert not rating.is_good and rating.comment == comment
    [notification] = db.session.scalars(select(Notification).where(Notification.user_id == laia.id,
                                                                    Notification.kind == NotificationKind.RATED_NOT_GOOD))
    assert notification.ticket_id == number and "Encara no surt" in notification.summary
    with force_locale("en"):
        assert notification.title() == f"The requester rated the resolution of #{number} “not good”"
    assert status_of(number) is TicketStatus.RESOLVED
    client.login("laia@diba.cat", factories.PASSWORD)
    page = client.get(f"/tickets/{number}").get_data(as_text=True)  # the staff see the rating and its comment
    assert "Satisfaction" in page and "Not good" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; cal revisar-ho" in page and "<script>alert(1)" not in page


def test_the_rating_can_be_changed_while_resolved_but_not_once_closed(app, client, vic, laia):
    requester_speaks("marta@vic.cat", "en")
    ticket = resolved_ticket(vic, laia)
    number, links = ticket.id, links_in(mail_to("marta@vic.cat")[-1].body_text)
    client.get(links["good"])
    client.submit(links["good"], {"rating": "good"})
    page = text(client.get(links["not_good"]))
    assert "Your rating: Good" in page and "Change my rating" in page
    client.submit(links["not_good"], {"rating": "not_good", "comment": "Al final no"})
    [rating] = ratings()  # one rating per resolution, changed
    assert not rating.is_good and rating.changed_at is not None
    ticket = db.session.get(Ticket, number)
    change_status(laia, ticket, TicketStatus.CLOSED, NOW + timedelta(days=3))
    db.session.commit()
    page = text(client.get(links["good"]))
    assert "Your rating: Not good" in page and "can no longer be changed" in page and "Change my rating" not in page
    response = client.submit(links["good"], {"rating": "good"})
    assert response.status_code == 422 and "is closed: its rating can no longer be changed" in text(response)
    assert not ratings()[0].is_good


def test_the_comment_is_bounded(app, client, vic, laia):
    requester_speaks("marta@vic.cat", "en")
    number = resolved_ticket(vic, laia).id
    links = links_in(mail_to("marta@vic.cat")[-1].body_text)
    client.get(links["not_good"])
    response = client.submit(links["not_good"], {"rating": "not_good",
                                                 "comment": "x" * (satisfaction.COMMENT_MAX_LENGTH + 1)})
    assert response.status_code == 422 and "Field cannot be longer than 2000 characters" in text(response)
    assert ratings() == [] and status_of(number) is TicketStatus.RESOLVED


def test_links_of_another_ticket_of_an_earlier_resolution_or_forged_are_refused_changing_nothing(app, client, vic,
                                                                                                 laia):
    requester_speaks("marta@vic.cat", "en")
    app.config["DEFAULT_LANGUAGE"] = "en"  # a refused link names no ticket to take the language from
    first = resolved_ticket(vic, laia)
    second = resolved_ticket(vic, laia, subject="Una altra cosa")
    first_number, second_number = first.id, second.id
    old = links_in(mail_to("marta@vic.cat")[-2].body_text)  # the first ticket's resolving reply
    other = old["good"].replace(f"/tickets/{first_number}/", f"/tickets/{second_number}/")
    token = old["good"].split("/rate/")[1].split("?")[0]
    forged = old["good"].replace(token, token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    refused = {other: "is for another ticket than", forged: "is not valid",
               f"/tickets/{first_number}/rate/not-a-token?choice=good": "is not valid"}
    # The first ticket is reopened (the requester wrote again) and resolved a second time.
    ticket = db.session.get(Ticket, first_number)
    change_status(laia, ticket, TicketStatus.OPEN, NOW + timedelta(days=1))
    db.session.commit()
    reopened = text(client.get(old["good"]))
    assert "was reopened after this e-mail" in reopened
    ticket = db.session.get(Ticket, first_number)
    change_status(db.session.merge(laia), ticket, TicketStatus.RESOLVED, NOW + timedelta(days=2))
    db.session.commit()
    refused[old["good"]] = "is from an earlier resolution"
    for url, reason in refused.items():
        for response in (client.get(url), client.submit(url, {"rating": "not_good", "comment": "x"})):
            assert response.status_code == 400, url
            page = text(response)
            assert "This rating link does not work" in page and "Nothing has been recorded" in page
            assert reason in page, (url, page[page.find("<main"):])
    assert ratings() == [] and db.session.scalar(select(func.count(Notification.id))) == 0
    assert status_of(first_number) is TicketStatus.RESOLVED
    latest = links_in(mail_to("marta@vic.cat")[-1].body_text)  # the second resolution's own mail
    client.get(latest["good"])
    assert client.submit(latest["good"], {"rating": "good"}).status_code == 302
    [rating] = ratings()
    assert rating.ticket_id == first_number and rating.resolved_at == db.session.get(Ticket, first_number).resolved_at


def test_a_link_of_another_kind_of_signed_value_does_not_rate(app, client, vic, laia):
    from itsdangerous import URLSafeSerializer
    ticket = resolved_ticket(vic, laia)
    stamp = (ticket.resolved_at - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)
    other_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="something-else").dumps([ticket.id, stamp])
    assert client.get(f"/tickets/{ticket.id}/rate/{other_salt}?choice=good").status_code == 400
    assert ratings() == []


# --- the portal ------------------------------------------------------------------------------------------

def test_the_portal_asks_while_resolved_then_shows_the_rating(app, client, vic, laia):
    factories.user(Role.COUNCIL_USER, of=vic, email="marta@vic.cat", language="en")
    ticket = resolved_ticket(vic, laia)
    number = ticket.id
    client.login("marta@vic.cat", factories.PASSWORD)
    page = text(client.get(f"/tickets/{number}"))
    assert "How was the resolution?" in page and "Are you happy with how ticket" in page
    response = client.submit(f"/tickets/{number}/rating", {"rating": "good", "comment": "Gràcies!"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tickets/{number}#rating")
    page = text(client.get(f"/tickets/{number}"))
    assert "Your rating" in page and "Gràcies!" in page and "Change to not good" in page and "Save the comment" in page
    assert "Change to good" not in page  # it is good already
    assert "Are you happy with how ticket" not in page
    [rating] = ratings()
    assert rating.is_good and rating.rated_by.email == "marta@vic.cat"
    assert status_of(number) is TicketStatus.RESOLVED


def test_the_portal_asks_nothing_of_an_open_ticket_and_refuses_a_rating_of_it(app, client, vic, laia):
    factories.user(Role.COUNCIL_USER, of=vic, email="marta@vic.cat", language="en")
    number = factories.ticket(of=vic, requester_email="marta@vic.cat").id
    client.login("marta@vic.cat", factories.PASSWORD)
    assert "How was the resolution?" not in text(client.get(f"/tickets/{number}"))
    response = client.submit(f"/tickets/{number}/rating", {"rating": "not_good"})
    assert response.status_code == 302
    assert "is not resolved: it can be rated once it is" in text(client.get(response.headers["Location"]))
    assert ratings() == []


def test_a_council_user_of_another_council_cannot_rate_nor_staff(app, client, vic, laia):
    manlleu = factories.council(name="Ajuntament de Manlleu", domains=["manlleu.cat"])
    factories.user(Role.COUNCIL_USER, of=manlleu, email="pere@manlleu.cat", language="en")
    ticket = resolved_ticket(vic, laia)
    number = ticket.id
    client.login("pere@manlleu.cat", factories.PASSWORD)
    assert client.get(f"/tickets/{number}").status_code == 404
    assert client.submit(f"/tickets/{number}/rating", {"rating": "not_good"}).status_code == 404
    client.submit("/logout")
    client.login("laia@diba.cat", factories.PASSWORD)
    page = text(client.get(f"/tickets/{number}"))
    assert "Not rated yet." in page
    assert client.submit(f"/tickets/{number}/rating", {"rating": "good"}).status_code == 403
    assert ratings() == []


def test_an_outage_ticket_without_a_requester_asks_nobody(app, vic, laia):
    ticket = open_ticket(None, TicketData(subject="Caiguda", body="El monitor", channel=Channel.MONITOR,
                                          council_id=vic.id), NOW, first_kind=MessageKind.NOTE)
    change_status(laia, ticket, TicketStatus.RESOLVED, NOW + timedelta(hours=1))
    db.session.commit()
    assert not satisfaction.asks_rating(ticket)
    with pytest.raises(satisfaction.RatingRefused):
        satisfaction.rate(ticket, True, "", NOW + timedelta(hours=2))


def test_not_good_on_an_unassigned_ticket_reaches_its_watchers_only(app, vic, laia):
    from helpdesk.tickets.watchers import watch
    jordi = factories.user(Role.AGENT, email="jordi@diba.cat")
    ticket = resolved_ticket(vic, laia)
    assign(laia, ticket, None, NOW + timedelta(hours=2))
    watch(jordi, ticket, jordi)
    db.session.commit()
    satisfaction.rate(ticket, False, "No", NOW + timedelta(hours=3))
    db.session.commit()
    told = db.session.scalars(select(Notification.user_id).where(
        Notification.kind == NotificationKind.RATED_NOT_GOOD)).all()
    assert told == [jordi.id]


# --- counting, for the renewal dossier --------------------------------------------------------------------

def test_summary_counts_the_ratings_given_in_the_period_of_one_council_or_all(app, vic, laia):
    manlleu = factories.council(name="Ajuntament de Manlleu", domains=["manlleu.cat"])
    factories.contact(manlleu, name="Pere", email="pere@manlleu.cat")
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    given = [(vic, True, start - timedelta(seconds=1)), (vic, True, start), (vic, False, start + timedelta(days=3)),
             (vic, True, start + timedelta(days=29, hours=23)), (manlleu, False, start + timedelta(days=5)),
             (vic, True, start + timedelta(days=30))]  # the last is on the period's end: not counted
    for index, (council, is_good, when) in enumerate(given):
        requester = "marta@vic.cat" if council is vic else "pere@manlleu.cat"
        ticket = resolved_ticket(council, laia, requester=requester, when=when - timedelta(hours=3),
                                 subject=f"Consulta {index}")
        satisfaction.rate(ticket, is_good, "", when)
        db.session.commit()
    end = start + timedelta(days=30)
    assert satisfaction.summary(start, end) == satisfaction.Summary(good=2, not_good=2)
    mine = satisfaction.summary(start, end, council_id=vic.id)
    assert (mine.good, mine.not_good, round(mine.share_good, 3)) == (2, 1, 0.667)
    assert satisfaction.summary(end, end + timedelta(days=1), council_id=manlleu.id).share_good is None


def test_a_too_long_comment_in_the_portal_is_refused_next_to_it_keeping_what_was_typed(app, client, vic, laia):
    factories.user(Role.COUNCIL_USER, of=vic, email="marta@vic.cat", language="en")
    number = resolved_ticket(vic, laia).id
    client.login("marta@vic.cat", factories.PASSWORD)
    client.get(f"/tickets/{number}")
    typed = "Massa llarg. " * 200
    response = client.submit(f"/tickets/{number}/rating", {"rating": "not_good", "comment": typed})
    page = text(response)
    assert response.status_code == 422 and "Field cannot be longer than 2000 characters" in page
    assert typed.strip()[:100] in page and ratings() == []
