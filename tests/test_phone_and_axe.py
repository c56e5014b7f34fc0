"""Every page on a 360 px phone without sideways scrolling, and axe-core (WCAG 2.1 A and AA) finding nothing,
for each demo role, in Catalan; the main pages in Spanish and English too.

The pages are the desk's own GET routes that take no URL parameters (read from `app.url_map`, so a page added
tomorrow is checked too), plus one record of each kind. A route that answers something other than a full page
(JSON, CSV, a redirect elsewhere, a refusal) is left out. To stay within a few minutes on a small machine, one
browser serves every role (a context each), a page already checked as another role of the same kind (staff or
council) is checked again only if it is that role's landing page, and axe runs at 360 px only (the layout at
1920 px is checked for sideways scrolling: what differs between the two sizes is the CSS, not the markup). An agent
and a council user also walk their landing page and a ticket by keyboard: every stop shows its focus."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.core.models import utcnow
from helpdesk.extensions import db

pytestmark = pytest.mark.browser

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1920, "height": 1080}
# Routes that are no page: files, fragments, JSON, the sign-in hand-offs (they leave the desk), health checks.
NOT_PAGES = {"static", "auth.export_sign_in_record", "reports.sla_csv", "notifications.unread", "notifications.people",
             "tickets.complete_tags", "operations.health", "core.health", "decidim_sign_in.come_back",
             "decidim_sign_in.choose", "auth.second_step", "calls.lookup", "kb.suggest"}
# The outermost elements that reach past the window's right edge (what makes the page scroll sideways).
WIDEST = """() => { const all = [...document.querySelectorAll('body *')];
  const outermost = all.filter(e => {
    const right = e.getBoundingClientRect().right, parent = e.parentElement;
    // What a clipping or scrolling frame holds (a wide table in its own frame) does not widen the page.
    const clipped = (node) => { for (; node; node = node.parentElement)
      if (getComputedStyle(node).overflowX !== 'visible') return true; return false; };
    return right > window.innerWidth + 1 && parent.getBoundingClientRect().right <= window.innerWidth + 1
      && !clipped(parent);
  });
  // Else (something absolutely positioned escaping its frame) the elements reaching furthest.
  const found = outermost.length ? outermost : all.sort((a, b) => b.getBoundingClientRect().right -
                                                                 a.getBoundingClientRect().right);
  return found.slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/ +/).join('.') : '') +
    ' ' + Math.round(e.getBoundingClientRect().right) + ' px'); }"""
MAIN_PAGES = ("/inbox", "/tickets/{number}", "/catalog/", "/login", "/faq", "/accessibility")


@pytest.fixture
def demo_desk(app):
    """The demo desk, plus an accompaniment request (the demo has none); the ids of one record of each kind."""
    from helpdesk import demo
    from helpdesk.accompaniment import services as accompaniment
    from helpdesk.catalog.models import CatalogRequest
    from helpdesk.councils.models import Council
    from helpdesk.auth.models import User
    from helpdesk.kb.models import Article
    from helpdesk.mail.intake import ingest
    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.services import MessageKind, add_message

    demo.seed()
    db.session.flush()
    vic = db.session.scalar(select(Council).where(Council.ine_code == "08298"))
    request = accompaniment.ask(None, vic, accompaniment.RequestData(
        instance_id=vic.instances[0].id, action="Pressupostos participatius", needs=["configuration"],
        description="Volem configurar la votació en línia, amb un text prou llarg per haver de partir-se en un "
                    "mòbil: https://vic.participa311.diba.cat/processes/pressupostos-participatius-2026/f/12"),
        utcnow() - timedelta(days=1))
    agent = db.session.scalar(select(User).where(User.email == "agent@demo.participa311.cat"))
    db.session.commit()
    # By e-mail, so the thread holds what such a ticket shows: the message, the acknowledgement, a note, a reply;
    # and mail held back (an automatic answer, something that is no message at all).
    ingest(b"From: Marta Puigdollers <mpuigdollers@vic.cat>\r\nTo: suportparticipa311@diba.cat\r\n"
           b"Subject: La votacio no s'obre\r\nMessage-ID: <a11y-1@vic.cat>\r\n\r\nBon dia, la votacio de "
           b"https://vic.participa311.diba.cat/processes/pressupostos-participatius-2026/f/12/budgets/3/projects "
           b"no s'obre.\r\n", "INBOX")
    ingest(b"From: MAILER-DAEMON@example.org\r\nSubject: Undelivered\r\nAuto-Submitted: auto-replied\r\n\r\nx\r\n",
           "INBOX")
    ingest(b"\x00\xff not a message at all", "INBOX")
    ticket = db.session.scalar(select(Ticket).where(Ticket.council_id == vic.id).order_by(Ticket.id.desc()))
    add_message(agent, ticket, MessageKind.NOTE, "Cal mirar-ho amb @tecnic: potser és la configuració.", utcnow())
    add_message(agent, ticket, MessageKind.REPLY, "Bon dia Marta, ho mirem ara mateix.", utcnow())
    # A resolved ticket: the council's rating question, the staff's satisfaction card, the mail's rating page.
    from helpdesk.tickets import satisfaction
    from helpdesk.tickets.states import TicketStatus
    ingest(b"From: Marta Puigdollers <mpuigdollers@vic.cat>\r\nTo: suportparticipa311@diba.cat\r\n"
           b"Subject: El logotip no surt\r\nMessage-ID: <a11y-2@vic.cat>\r\n\r\nBon dia, el logotip no surt.\r\n",
           "INBOX")
    resolved = db.session.scalar(select(Ticket).where(Ticket.council_id == vic.id).order_by(Ticket.id.desc()))
    add_message(agent, resolved, MessageKind.REPLY, "Ja surt: calia buidar la memòria cau.", utcnow(),
                new_status=TicketStatus.RESOLVED)
    # Planned maintenance of Vic's platform (its technicians' form), and the link in a notice that stops them.
    from helpdesk.status import mail as notices
    from helpdesk.status.services import MaintenanceData, schedule_maintenance
    starts_at = utcnow() + timedelta(days=3)
    window = schedule_maintenance(None, MaintenanceData(starts_at, starts_at + timedelta(hours=2),
                                                        "Actualització de Decidim a la versió 0.28.6.",
                                                        (vic.instances[0].id,)), utcnow())
    records = {
        "resolved ticket": f"/tickets/{resolved.number}",
        "rating page": f"/tickets/{resolved.number}/rate/{satisfaction.token_for(resolved)}",
        "ticket": f"/tickets/{ticket.number}",
        "council": f"/councils/{vic.id}",
        "council's platform status": f"/councils/{vic.id}/status",
        "renewal dossier": f"/dossier/councils/{vic.id}",
        "planned maintenance": f"/maintenance/{window.id}",
        "notice stop link": f"/notices/stop/{notices.stop_token(vic.contacts[0])}",
        "instance": f"/instances/{vic.instances[0].id}",
        "catalogue request": f"/catalog/requests/{db.session.scalar(select(CatalogRequest.id).where(CatalogRequest.council_id == vic.id))}",
        "accompaniment request": f"/accompaniment/requests/{request.id}",
        "FAQ article": f"/faq/{db.session.scalar(select(Article.slug).order_by(Article.id))}",
        "filtered mail": "/admin/mail/filtered",
        "quarantined mail": "/admin/mail/quarantined",
    }
    db.session.commit()
    return records


def plain_pages(app) -> list[str]:
    """The GET routes that need no URL parameter (those whose parameters all have defaults: the `new` forms)."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint not in NOT_PAGES and rule.arguments <= set(rule.defaults or {}):
            paths.add(rule.rule)
    return sorted(paths)


def sign_in(context, base: str, email: str, password: str):
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{email} could not sign in"
    return page


# The element the keyboard is on, and whether its focus is seen: an outline at least 2 px wide, or a box shadow.
FOCUSED = """() => { const e = document.activeElement; if (!e || e === document.body) return null;
  const style = getComputedStyle(e);
  const seen = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
  return [e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + (e.innerText || e.value || '').slice(0, 30).trim(),
          seen]; }"""


def walk_by_keyboard(page, base: str, path: str, label: str, failures: list[str], checked: list[str]) -> None:
    """Tab through ``path`` at desktop size: every stop shows where the keyboard is."""
    page.set_viewport_size(DESKTOP)
    page.goto(base + path)
    checked.append(f"{label} {path} (keyboard)")
    stops = 0
    for _ in range(120):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            break
        stops += 1
        if not focused[1]:
            failures.append(f"{label} {path}: no visible focus on {focused[0]}")
    if stops < 5:
        failures.append(f"{label} {path}: only {stops} stops by keyboard")


def choose_language(page, base: str, language: str) -> None:
    page.goto(f"{base}/account")
    page.select_option("#language-picker", language)
    page.click("form.language button[type=submit]")
    page.wait_for_load_state()


def check(page, axe, base: str, path: str, label: str, failures: list[str], checked: list[str],
          run_axe: bool = True) -> bool:
    """Open ``path`` at phone size; False if it is no page of this role. Records what a person would meet."""
    page.set_viewport_size(PHONE)
    response = page.goto(base + path)
    if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", "") \
            or page.url.rstrip("/") != (base + path).split("?")[0].rstrip("/") or not page.locator("main#main").count():
        return False
    checked.append(f"{label} {path}")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        wide = page.evaluate(WIDEST)
        failures.append(f"{label} {path}: {width[0]} px wide at 360 px ({', '.join(wide)})")
    if run_axe:
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]})
        for violation in results.response["violations"]:
            targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
            failures.append(f"{label} {path}: axe {violation['id']} ({violation['impact']}) "
                            f"×{len(violation['nodes'])}: {targets}")
    page.set_viewport_size(DESKTOP)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        failures.append(f"{label} {path}: {width[0]} px wide at 1920 px")
    return True


def test_every_page_fits_a_phone_and_axe_finds_nothing_in_three_languages(app, demo_desk, live_server, browser):
    from axe_playwright_python.sync_playwright import Axe

    from helpdesk import demo
    from helpdesk.auth.models import Role

    axe = Axe()
    failures: list[str] = []
    checked: list[str] = []
    pages = plain_pages(app) + list(demo_desk.values())
    ticket = demo_desk["ticket"]
    main_pages = [path.format(number=ticket.rsplit("/", 1)[1]) for path in MAIN_PAGES]

    # Signed out: the sign-in page, the forgotten password, the FAQ and the accessibility statement.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    for path in pages:
        check(page, axe, live_server, path, "anonymous ca", failures, checked)
    context.close()

    seen: dict[bool, set[str]] = {True: set(), False: set()}
    for email, password, role, _, _ in demo.DEMO_USERS:
        staff = role is not Role.COUNCIL_USER
        context = browser.new_context(bypass_csp=True)
        page = sign_in(context, live_server, email, password)
        landing = page.url.removeprefix(live_server)
        for path in pages:
            if path in seen[staff] and path not in (landing, "/"):
                continue
            if check(page, axe, live_server, path, f"{role.value} ca", failures, checked):
                seen[staff].add(path)
        if role in (Role.AGENT, Role.COUNCIL_USER):
            for path in (landing, ticket):
                walk_by_keyboard(page, live_server, path, f"{role.value} ca", failures, checked)
            for language in ("es", "en"):
                choose_language(page, live_server, language)
                for path in main_pages:
                    check(page, axe, live_server, path, f"{role.value} {language}", failures, checked)
            choose_language(page, live_server, "ca")
        context.close()

    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    for language in ("es", "en"):
        page.goto(f"{live_server}/login")
        page.select_option("#language-picker", language)
        page.click("form.language button[type=submit]")
        page.wait_for_load_state()
        check(page, axe, live_server, "/login", f"anonymous {language}", failures, checked)
        check(page, axe, live_server, "/faq", f"anonymous {language}", failures, checked)
        check(page, axe, live_server, "/accessibility", f"anonymous {language}", failures, checked)
    context.close()

    assert len(checked) > 60, "\n".join(checked)
    assert failures == [], "\n".join(failures) + "\n\nPages checked:\n" + "\n".join(checked)


def test_the_accessibility_statement_is_public_and_linked_from_every_page(client):
    from tests.pages import text

    assert 'href="/accessibility"' in text(client.get("/login"))  # the footer of every page
    client.submit("/language", {"language": "en", "next": "/accessibility"})
    response = client.get("/accessibility")  # signed out
    assert response.status_code == 200
    page = text(response)
    for part in ("Accessibility statement", "partially compliant", "Content that is not accessible",
                 "This statement was prepared on", "self-assessment", "axe-core", "suportparticipa311@diba.cat",
                 "934 020 704", "Enforcement procedure", "Royal Decree 1112/2018"):
        assert part in page, part
