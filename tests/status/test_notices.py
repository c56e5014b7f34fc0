"""What councils' contacts are told: planned maintenance once it is within the notice time (once; again when
it changes; that it is off when cancelled), an outage the monitor opened and its end, each in the contact's
language, through the outbox to a real SMTP server; the opt-out and the link that stops them."""
import re
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import event, select

from helpdesk.core.outbox import deliver_pending
from helpdesk.councils.models import Contact, Council
from helpdesk.extensions import db
from helpdesk.instances.health import Probe
from helpdesk.instances.maintenance import MaintenanceNotice, MaintenanceWindow
from helpdesk.instances.models import PlatformInstance
from helpdesk.status.jobs import maintenance_notices
from helpdesk.status.services import MaintenanceData, cancel_maintenance, schedule_maintenance, update_maintenance
from helpdesk.tickets import outages
from helpdesk.tickets.outages import monitor
from tests import factories
from tests.pages import text
from tests.status.conftest import T0, outbox

START = T0 + timedelta(days=5)  # Saturday 28 November 2026, 10:00 in Barcelona
UP, DOWN = Probe(True, 200, 120), Probe(False, None, None, "timeout")


def contacts(vic):
    """Beside Marta (English, her account's): Jordi (Spanish), and Pere, who opted out."""
    council = db.session.get(Council, vic.id)
    jordi = factories.contact(council, name="Jordi Casals", email="jcasals@vic.cat")
    jordi.language = "es"
    pere = factories.contact(council, name="Pere Serra", email="pserra@vic.cat")
    pere.receives_platform_notices = False
    db.session.commit()


def delivered(smtp) -> dict[str, list[EmailMessage]]:
    """What the SMTP server received, by recipient (parsed as a mail client would: headers unfolded)."""
    inbox, settings = smtp
    deliver_pending(settings)
    found: dict[str, list[EmailMessage]] = {}
    for recipients, message, _peer in inbox.received:
        for address in recipients:
            found.setdefault(address, []).append(message_from_bytes(message.as_bytes(), policy=policy.default))
    return found


def body(message: EmailMessage, kind: str = "plain") -> str:
    return message.get_body((kind,)).get_content()


def plan(vic, starts_at=START, hours=3):
    window = schedule_maintenance(None, MaintenanceData(starts_at, starts_at + timedelta(hours=hours),
                                                        "Actualització de Decidim a la 0.28.6", (vic.instance_id,)),
                                  T0)
    db.session.commit()
    return window.id


def test_contacts_are_told_once_the_notice_time_before_in_their_language(app, vic, marta, smtp):
    contacts(vic)
    plan(vic)
    maintenance_notices(T0)
    maintenance_notices(START - timedelta(hours=48, minutes=1))
    assert outbox() == []  # not yet: 48 hours before, by default
    maintenance_notices(START - timedelta(hours=48))
    maintenance_notices(START - timedelta(hours=47))
    maintenance_notices(START - timedelta(hours=1))
    mail = delivered(smtp)
    assert sorted(mail) == ["jcasals@vic.cat", "mpuigdollers@vic.cat"]  # Pere opted out
    [english], [spanish] = mail["mpuigdollers@vic.cat"], mail["jcasals@vic.cat"]
    assert english["Subject"] == ("Planned maintenance: vic.participa311.diba.cat, Saturday, November 28, 2026, "
                                  "10:00")
    assert "From: Saturday, November 28, 2026, 10:00" in body(english)
    assert "To: Saturday, November 28, 2026, 13:00" in body(english)
    assert "Actualització de Decidim a la 0.28.6" in body(english)
    assert "sábado, 28 de noviembre de 2026, 10:00" in spanish["Subject"] and 'lang="es"' in body(spanish, "html")
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_changed_window_is_told_again_and_a_cancelled_one_is_told_off(app, vic, marta, smtp):
    window_id = plan(vic)
    maintenance_notices(START - timedelta(hours=40))
    update_maintenance(None, db.session.get(MaintenanceWindow, window_id), MaintenanceData(
        START + timedelta(days=7), START + timedelta(days=7, hours=2), "Actualització de Decidim a la 0.28.6",
        (vic.instance_id,)), START - timedelta(hours=30))
    db.session.commit()
    maintenance_notices(START - timedelta(hours=30))  # moved a week on: told now, not 48 hours before
    maintenance_notices(START - timedelta(hours=29))
    cancel_maintenance(None, db.session.get(MaintenanceWindow, window_id), START)
    db.session.commit()
    maintenance_notices(START)
    maintenance_notices(START + timedelta(hours=1))
    subjects = [message["Subject"] for message in delivered(smtp)["mpuigdollers@vic.cat"]]
    assert subjects == ["Planned maintenance: vic.participa311.diba.cat, Saturday, November 28, 2026, 10:00",
                        "Planned maintenance changed: vic.participa311.diba.cat, Saturday, December 5, 2026, 10:00",
                        "Planned maintenance cancelled: Saturday, December 5, 2026, 10:00"]


def another_run_meanwhile(app, at):
    """While this run's next read of what councils were told is made, a second scheduler (its own session and
    connection, in a thread) runs the job to the end and commits: this run then holds what it read before."""
    session, ran = db.session(), []

    @event.listens_for(session, "do_orm_execute")
    def _interleave(state):
        if ran or not state.is_select or MaintenanceNotice not in {item["entity"] for item in
                                                                state.statement.column_descriptions}:
            return None
        ran.append(True)
        result = state.invoke_statement().freeze()

        def other():
            with app.app_context():
                ran.append(maintenance_notices(at))
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        return result()
    return ran


def test_two_runs_at_once_tell_each_council_once(app, vic, marta):
    window_id = plan(vic)
    ran = another_run_meanwhile(app, START - timedelta(hours=40))
    maintenance_notices(START - timedelta(hours=40))
    assert ran[1] == "1 councils told of planned maintenance"
    assert len(outbox("mpuigdollers@vic.cat")) == 1
    update_maintenance(None, db.session.get(MaintenanceWindow, window_id), MaintenanceData(
        START + timedelta(hours=1), START + timedelta(hours=3), "Actualització de Decidim a la 0.28.6",
        (vic.instance_id,)), START - timedelta(hours=30))
    db.session.commit()
    ran = another_run_meanwhile(app, START - timedelta(hours=30))
    maintenance_notices(START - timedelta(hours=30))
    assert ran[1] == "1 councils told of planned maintenance"
    assert [item.subject.split(":")[0] for item in outbox("mpuigdollers@vic.cat")] == [
        "Planned maintenance", "Planned maintenance changed"]


def test_a_window_cancelled_before_anyone_was_told_tells_nobody(app, vic, marta):
    window_id = plan(vic)
    cancel_maintenance(None, db.session.get(MaintenanceWindow, window_id), T0)
    db.session.commit()
    maintenance_notices(START - timedelta(hours=10))
    assert outbox() == []


def test_a_council_taken_out_of_a_window_is_told_it_is_off(app, vic, manlleu, marta):
    council = db.session.get(Council, manlleu.id)
    factories.contact(council, name="Núria Puig", email="npuig@manlleu.cat")
    window = schedule_maintenance(None, MaintenanceData(START, START + timedelta(hours=2), "Servidor nou",
                                                        (vic.instance_id, manlleu.instance_id)), T0)
    db.session.commit()
    window_id = window.id
    maintenance_notices(START - timedelta(hours=24))
    assert len(outbox("npuig@manlleu.cat")) == 1 and len(outbox("mpuigdollers@vic.cat")) == 1
    update_maintenance(None, db.session.get(MaintenanceWindow, window_id), MaintenanceData(
        START, START + timedelta(hours=2), "Servidor nou", (vic.instance_id,)), START - timedelta(hours=20))
    db.session.commit()
    maintenance_notices(START - timedelta(hours=20))
    told_off = outbox("npuig@manlleu.cat")[-1]  # in Catalan, the desk's default
    assert "dissabte, 28 de novembre del 2026, 10:00" in told_off.subject and 'lang="ca"' in told_off.body_html
    assert "Servidor nou" not in told_off.subject and "vic.participa311" not in told_off.body_text
    assert "changed" in outbox("mpuigdollers@vic.cat")[-1].subject  # her instances' list changed too


def test_an_outage_ticket_tells_the_council_and_its_end_how_long_it_lasted(app, vic, marta, smtp):
    contacts(vic)
    for index, result in enumerate([DOWN, DOWN, DOWN, DOWN, UP]):
        monitor(T0 + index * timedelta(minutes=2), {vic.instance_id: result})
    mail = delivered(smtp)
    assert "pserra@vic.cat" not in mail
    opened, recovered = mail["mpuigdollers@vic.cat"]
    number = re.search(r"\[#(\d+)\]", opened["Subject"]).group(1)
    assert opened["Subject"].strip() == (f"[#{number}] Your platform vic.participa311.diba.cat is not answering: "
                                         "we are on it")
    assert "since Monday, November 23, 2026, 10:00" in body(opened) and f"ticket #{number}" in body(opened)
    assert recovered["Subject"].strip() == f"[#{number}] Your platform vic.participa311.diba.cat answers again"
    assert "It was not answering for 8 minutes." in body(recovered)
    [spanish_opened, _] = mail["jcasals@vic.cat"]
    assert "lunes, 23 de noviembre de 2026, 10:00" in body(spanish_opened)


def test_the_outage_notice_waits_for_the_monitors_commit(app, vic, marta):
    factories.user(email="tecnic@diba.cat")
    app.config["MONITOR_FAILURES"] = 1
    instance = db.session.get(PlatformInstance, vic.instance_id)
    outages.record(instance, DOWN, T0)
    db.session.flush()
    assert len(outbox("mpuigdollers@vic.cat")) == 1  # queued in the monitor's transaction…
    db.session.rollback()
    assert outbox("mpuigdollers@vic.cat") == []  # … so a rolled-back check sends nothing


def test_the_link_in_a_notice_stops_them_without_signing_in(app, client, vic, marta, smtp):
    contacts(vic)
    monitor(T0, {vic.instance_id: DOWN})
    app.config["MONITOR_FAILURES"] = 1
    monitor(T0 + timedelta(minutes=2), {vic.instance_id: DOWN})
    [message] = delivered(smtp)["jcasals@vic.cat"]
    link = re.search(r"(http\S+/notices/stop/\S+)", body(message)).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert message["List-Unsubscribe"] == f"<{link}>"
    page = text(client.get(f"/{path}"))
    assert "jcasals@vic.cat" in page
    assert client.get(f"/{path[:-2]}xx").status_code == 404  # an altered link does nothing
    response = client.post(f"/{path}")  # as a mail client's one-click: no session, no form token
    assert response.status_code == 200
    jordi = db.session.scalar(select(Contact).where(Contact.email == "jcasals@vic.cat"))
    assert jordi.receives_platform_notices is False
    monitor(T0 + timedelta(minutes=4), {vic.instance_id: UP})
    assert len(outbox("jcasals@vic.cat")) == 1 and len(outbox("mpuigdollers@vic.cat")) == 2
    client.post(f"/{path}", data={"resume": "1"})
    assert db.session.scalar(select(Contact).where(Contact.email == "jcasals@vic.cat")).receives_platform_notices
    # a link made for an address stops working once the contact's address changes
    jordi = db.session.scalar(select(Contact).where(Contact.email == "jcasals@vic.cat"))
    jordi.email = "jordi.casals@vic.cat"
    db.session.commit()
    assert client.get(f"/{path}").status_code == 404
