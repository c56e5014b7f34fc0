"""In a real headless Chromium: a council's technical referent opens its renewal dossier from the portal, chooses
a grant period and downloads the PDF."""
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.catalog.test_browser import sign_in

pytestmark = pytest.mark.browser


def test_a_council_opens_its_dossier_from_the_portal_and_downloads_it(history, live_server, browser, tmp_path):
    page = browser.new_context(accept_downloads=True).new_page()
    sign_in(page, live_server, "referent@vic.cat")
    page.goto(f"{live_server}/catalog/")
    page.get_by_role("link", name="Renewal dossier").click()
    page.wait_for_url(re.compile(rf".*/dossier/councils/{history.council_id}$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Renewal dossier: Ajuntament de Vic"
    page.get_by_role("navigation", name="Grant periods").get_by_role("link", name="2/12/2024 – 2/12/2026").click()
    page.wait_for_url(re.compile(r".*from=2024-02-12&to=2026-02-11$"))
    assert "Period: February 12, 2024 – February 11, 2026" in page.locator("main").inner_text()
    assert page.get_by_role("heading", name="Year 2: February 12, 2025 – February 11, 2026").is_visible()
    assert "75 % of the ratings were good" in page.locator("#satisfaction-title + p").inner_text()
    page.screenshot(path=str(tmp_path / "dossier.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == "dossier-08298-2024-02-12-2026-02-11.pdf"
    body = Path(download.value.path()).read_bytes()
    words = " ".join(PdfReader(io.BytesIO(body)).pages[0].extract_text().split())
    assert "Renewal dossier: Ajuntament de Vic" in words


def test_the_dossier_fits_a_phone_and_axe_finds_nothing(history, live_server, browser):
    """With every section filled, and with a period typed wrong (its message by the field)."""
    from axe_playwright_python.sync_playwright import Axe

    from tests.test_phone_and_axe import PHONE, TAGS

    page = browser.new_context(bypass_csp=True, viewport=PHONE).new_page()
    sign_in(page, live_server, "cataleg@example.org")
    for query in ("from=2024-02-12&to=2026-02-11", "from=2024-13-01&to=2026-02-11"):
        page.goto(f"{live_server}/dossier/councils/{history.council_id}?{query}")
        assert page.get_by_role("heading", name="Outages").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        results = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS},
                                           "resultTypes": ["violations"]})
        assert [violation["id"] for violation in results.response["violations"]] == []
    assert page.locator("#from-error").inner_text() == "Write the day as YYYY-MM-DD, such as 2026-03-01."
