"""The catalogue's screens: a council files and is told why not, managers decide and export, councils
see only their own; the CLI's reminders; a real browser from request to grant."""
import csv
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.catalog.models import CatalogCall, CatalogRequest, Grant
from helpdesk.catalog.services import RequestData, grant, save_request, start_review, submit
from helpdesk.core.models import utcnow
from helpdesk.catalog.states import RequestStatus
from helpdesk.extensions import db
from helpdesk.instances.states import InstanceStatus
from tests import factories
from tests.catalog.test_services import decided, filed
from tests.pages import error_after, text


@pytest.fixture
def open_call(app):
    today = date.today()
    db.session.add(CatalogCall(year=today.year, opens_on=date(today.year, 1, 1), closes_on=date(today.year, 12, 31)))
    db.session.commit()


def form(referent_id, **changes):
    values = {"project_kind": "consultation", "project_title": "Consulta sobre la rambla",
              "project_description": "Una consulta a la ciutadania.", "referent_contact_id": str(referent_id),
              "desired_host": "participa-vic.diba.cat", "languages": ["ca", "es"], "accepts_terms": "y",
              "action": "submit"}
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def test_a_council_files_a_request_and_is_told_what_is_missing_next_to_it(client, app, open_call):
    vic = factories.council("Ajuntament de Vic")
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat").id
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    client.login("referent@vic.cat", factories.PASSWORD)
    client.get("/catalog/requests/new")
    response = client.submit("/catalog/requests/new", form(referent, desired_host="vic.example.org"))
    assert response.status_code == 422
    assert error_after(text(response), "desired_host") == \
        "L'adreça ha d'acabar en .diba.cat, com ara participa-vic.diba.cat."
    assert db.session.scalar(select(CatalogRequest)) is None  # nothing kept
    response = client.submit("/catalog/requests/new", form(referent, accepts_terms=None))
    assert "Accepteu el codi ètic i el contracte social" in error_after(text(response), "accepts_terms")
    page = text(client.submit("/catalog/requests/new", form(referent), follow_redirects=True))
    item = db.session.scalar(select(CatalogRequest))
    assert item.status is RequestStatus.SUBMITTED
    assert f"Sol·licitud {item.reference} presentada" in page
    portal = text(client.get("/catalog/"))
    assert item.reference in portal and "Presentada" in portal


def test_councils_see_only_their_own_requests_and_never_the_managers_lists(client, app, open_call):
    vic, other = factories.council(), factories.council()
    factories.user(Role.COUNCIL_USER, of=vic, email="me@example.org")
    theirs = save_request(None, other, RequestData(project_title="D'un altre ens"), utcnow()).id
    db.session.commit()
    client.login("me@example.org", factories.PASSWORD)
    assert client.get(f"/catalog/requests/{theirs}").status_code == 404
    assert client.post(f"/catalog/requests/{theirs}/withdraw", data={"csrf_token": client.csrf_token}
                       ).status_code == 404
    assert client.get("/catalog/requests").status_code == 403
    assert client.get("/catalog/grants?format=csv").status_code == 403
    assert "D'un altre ens" not in text(client.get("/catalog/"))


def test_the_catalogue_csvs_keep_every_text_cell_text(client, app, open_call):
    council = factories.council("@Ajuntament de Vic")
    item = filed(council, None, now=utcnow(), project_title="-2+3")
    decided(item, None, now=utcnow())
    year = item.year
    factories.user(Role.CATALOGUE_MANAGER, email="cataleg@example.org")
    client.login("cataleg@example.org", factories.PASSWORD)
    [row] = csv.DictReader(io.StringIO(client.get(f"/catalog/requests?year={year}&format=csv")
                                       .get_data(as_text=True).removeprefix("\ufeff")))
    assert (row["council"], row["project_title"], row["year"]) == ("'@Ajuntament de Vic", "'-2+3", str(year))
    [row] = csv.DictReader(io.StringIO(client.get("/catalog/grants?view=all&format=csv")
                                       .get_data(as_text=True).removeprefix("\ufeff")))
    assert (row["council"], row["renewals"]) == ("'@Ajuntament de Vic", "0")


def test_a_manager_decides_refusal_needs_a_reason_and_the_lists_export_csv(client, app, open_call):
    vic = factories.council("Ajuntament de Vic")
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat")
    item = save_request(None, vic, RequestData("consultation", "=HYPERLINK(\"https://x.example\")", "Text", None,
                                               referent.id, desired_host="participa-vic.diba.cat", languages=["ca"],
                                               accepts_terms=True), utcnow())
    submit(None, item, utcnow())
    db.session.commit()
    item_id, reference, year = item.id, item.reference, item.year
    factories.user(Role.CATALOGUE_MANAGER, email="cataleg@example.org")
    client.login("cataleg@example.org", factories.PASSWORD)
    client.get(f"/catalog/requests/{item_id}")
    client.submit(f"/catalog/requests/{item_id}/review")
    response = client.submit(f"/catalog/requests/{item_id}/refuse", {"message": ""})
    assert response.status_code == 422
    assert error_after(text(response), "message") == "Indiqueu el motiu de la denegació: l'ens el veurà."
    page = text(client.submit(f"/catalog/requests/{item_id}/grant", {"message": "Endavant!"}, follow_redirects=True))
    assert "concedida" in page
    record = db.session.scalar(select(Grant))
    assert record.instance.status is InstanceStatus.PROVISIONING
    csv_text = client.get(f"/catalog/requests?year={year}&format=csv").get_data(as_text=True)
    assert reference in csv_text and "granted" in csv_text
    assert "'=HYPERLINK" in csv_text  # not a formula when a spreadsheet opens it
    assert client.get("/catalog/grants?view=a%0d%0ab&format=csv").status_code == 200  # no header injection
    grants_csv = client.get("/catalog/grants?view=all&format=csv").get_data(as_text=True)
    assert "https://participa-vic.diba.cat" in grants_csv and record.ends_on.isoformat() in grants_csv
    instance_page = text(client.get(f"/instances/{record.instance_id}"))
    assert reference in instance_page and "Alta de la plataforma participa-vic.diba.cat" in instance_page


def test_catalog_remind_dry_run_says_what_it_would_send(app, open_call):
    vic = factories.council("Ajuntament de Vic")
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat")
    item = save_request(None, vic, RequestData("consultation", "Consulta", "Text", None, referent.id,
                                               desired_host="participa-vic.diba.cat", languages=["ca"],
                                               accepts_terms=True), utcnow())
    submit(None, item, utcnow())
    start_review(None, item, utcnow())
    record = grant(None, item, utcnow())
    record.ends_on = date.today() + timedelta(days=20)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["catalog", "remind", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert re.search(r"would send: Ajuntament de Vic \(participa-vic\.diba\.cat\) ends .*, 30-day reminder to "
                     r"marta@vic\.cat", result.output)
    assert "1 reminder(s) due." in result.output
