"""The council's status page in a real headless Chromium: reached from the menu, read as a council user
sees it (state, Decidim, the 90 days' bars and their table, maintenance, outages), the notices turned off."""
import os
from datetime import timedelta
from pathlib import Path

import pytest

from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.instances.models import HealthDay, Outage, PlatformInstance
from helpdesk.status.services import MaintenanceData, schedule_maintenance
from tests import factories

pytestmark = pytest.mark.browser
CHECKS_A_DAY = 720  # one every two minutes


def history(instance_id: int) -> None:
    """80 days watched (the platform went live then), two bad days with their outages, and today so far."""
    now = utcnow()
    today = now.date()
    failed = {12: 20, 40: 130}  # days ago: checks that failed
    for days_ago in range(80):
        checks = CHECKS_A_DAY if days_ago else now.hour * 30 + now.minute // 2 + 1
        db.session.add(HealthDay(instance_id=instance_id, day=today - timedelta(days=days_ago), checks=checks,
                                 up_checks=checks - failed.get(days_ago, 0), latency_ms_total=checks * 180))
    for days_ago, minutes in ((12, 40), (40, 260)):
        started = now.replace(hour=3, minute=10) - timedelta(days=days_ago)
        db.session.add(Outage(instance_id=instance_id, started_at=started,
                              ended_at=started + timedelta(minutes=minutes)))
    instance = db.session.get(PlatformInstance, instance_id)
    instance.health, instance.health_checked_at = "up", now - timedelta(minutes=1)
    starts = (now + timedelta(days=3)).replace(hour=20, minute=0, second=0, microsecond=0)
    schedule_maintenance(None, MaintenanceData(starts, starts + timedelta(hours=2), "Actualització de Decidim a la "
                                               "versió 0.28.6, amb correccions de seguretat. La plataforma no "
                                               "respondrà durant uns minuts.", (instance_id,)), now)
    db.session.commit()


def test_a_council_user_reads_their_platforms_status(app, live_server, browser, tmp_path, vic, marta):
    history(vic.instance_id)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login")
    page.fill("#email", "mpuigdollers@vic.cat")
    page.fill("#password", factories.PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Platform status").click()
    page.wait_for_url(f"{live_server}/councils/{vic.id}/status")
    assert page.get_by_role("heading", level=1).inner_text() == "Platform status"
    card = page.get_by_role("article", name="vic.participa311.diba.cat")
    assert card.get_by_role("status").inner_text().strip() == "Up"
    assert "no longer supported upstream" in card.inner_text()  # Decidim 0.28 is out of support
    assert page.locator("svg.uptime-bars rect").count() == 90
    assert page.get_by_role("img", name="Availability over the last 90 days: 99.").is_visible()  # its caption
    assert page.get_by_text("Actualització de Decidim a la versió 0.28.6").is_visible()
    assert page.get_by_role("cell", name="4 h 20 min").is_visible()
    assert page.get_by_role("cell", name="40 minutes").is_visible()
    path = Path(os.environ.get("STATUS_SCREENSHOT", str(tmp_path / "status.png")))
    page.screenshot(path=str(path))
    page.get_by_text("The days as a table").click()
    assert page.get_by_role("region", name="Availability by day").get_by_role("row").count() == 91
    page.get_by_label("Send me e-mail about our platform").uncheck()
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert page.get_by_text("You will no longer receive e-mail about your platform.").is_visible()
