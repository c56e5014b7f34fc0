"""Dates on the desk's pages: every style shows the whole year, in each language's own order."""
import re
from datetime import date, datetime, timezone

import pytest
from flask_babel import force_locale

from helpdesk.auth.models import Role
from tests import factories
from tests.pages import text

MOMENT = datetime(2026, 12, 4, 8, 5, tzinfo=timezone.utc)  # 9:05 in Barcelona


def rendered(app, source: str, language: str, **values) -> str:
    with app.test_request_context(), force_locale(language):
        return app.jinja_env.from_string(source).render(**values)


@pytest.mark.parametrize("language, moment, day", [
    ("ca", "4/12/2026 9:05", "4/12/2026"),
    ("es", "4/12/2026, 9:05", "4/12/2026"),
    ("en", "12/4/2026, 9:05\u202fAM", "12/4/2026"),
])
def test_short_dates_show_four_digit_years_in_each_languages_order(app, language, moment, day):
    assert rendered(app, "{{ at|datetimeformat('short') }}", language, at=MOMENT) == moment
    assert rendered(app, "{{ at|dateformat('short') }}", language, at=date(2026, 12, 4)) == day
    assert rendered(app, "{{ at|dateformat('short') }}", language, at=MOMENT) == day


@pytest.mark.parametrize("language", ["ca", "es", "en"])
def test_no_style_prints_a_two_digit_year(app, language):
    for style in ("short", "medium", "long", "full"):
        for template in ("{{ at|datetimeformat('%s') }}", "{{ at|dateformat('%s') }}"):
            assert "2026" in rendered(app, template % style, language, at=MOMENT), (style, template)
    assert rendered(app, "{{ at|datetimeformat('short') }}", language, at=None) == "—"


def test_the_account_page_lists_sessions_with_the_whole_year(client, app):
    factories.user(Role.AGENT, email="agent@example.org", language="en")
    client.login("agent@example.org", factories.PASSWORD)
    page = text(client.get("/account"))
    assert re.search(r"\b\d{1,2}/\d{1,2}/\d{4}, \d{1,2}:\d{2}", page)
    assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{2}\b", page)
