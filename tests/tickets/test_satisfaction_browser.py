"""A council user rates a resolved ticket from the portal in a real headless Chromium, then changes their mind."""
import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.notifications.models import Notification, NotificationKind
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.satisfaction import SatisfactionRating
from helpdesk.tickets.states import TicketStatus
from tests import factories
from tests.tickets.test_satisfaction import resolved_ticket

pytestmark = pytest.mark.browser


def test_a_council_user_rates_a_resolved_ticket_in_the_portal(app, live_server, browser):
    vic = factories.council(name="Ajuntament de Vic", domains=["vic.cat"])
    factories.contact(vic, name="Marta Puigdollers", email="marta@vic.cat")
    factories.user(Role.COUNCIL_USER, of=vic, email="marta@vic.cat", language="en")
    laia = factories.user(Role.AGENT, email="laia@diba.cat")
    number, laia_id = resolved_ticket(vic, laia).id, laia.id

    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(f"{live_server}/login")
    page.fill("#email", "marta@vic.cat")
    page.fill("#password", factories.PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server}/tickets/{number}")

    question = page.locator("section#rating")
    assert question.get_by_role("heading", name="How was the resolution?").is_visible()
    question.get_by_label("Comment (optional)").fill("The logo still shows the old one on phones.")
    question.get_by_role("button", name="Not good", exact=True).click()
    page.wait_for_url(f"{live_server}/tickets/{number}#rating")

    rating = page.locator("section#rating")
    assert rating.get_by_role("heading", name="Your rating").is_visible()
    assert rating.locator(".rating-given").inner_text().startswith("Not good")
    assert rating.get_by_label("Comment (optional)").input_value() == "The logo still shows the old one on phones."
    assert not rating.get_by_role("button", name="Change to not good").count()  # it is that already
    assert page.get_by_text("Thank you: your rating of").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone

    rating.get_by_label("Comment (optional)").fill("Solved after all: it was the phone's cache.")
    rating.get_by_role("button", name="Change to good").click()
    page.wait_for_url(f"{live_server}/tickets/{number}#rating")
    assert page.locator("section#rating .rating-given").inner_text().startswith("Good")

    [saved] = db.session.scalars(select(SatisfactionRating)).all()
    assert saved.is_good and saved.comment == "Solved after all: it was the phone's cache."
    assert db.session.get(Ticket, number).status is TicketStatus.RESOLVED  # rating did not reopen it
    told = db.session.scalars(select(Notification).where(Notification.user_id == laia_id,
                                                         Notification.kind == NotificationKind.RATED_NOT_GOOD)).all()
    assert len(told) == 1  # the "not good" reached the agent; changing to good adds nothing
