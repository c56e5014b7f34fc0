"""The catalogue's screens: a council files and is told why not, managers decide and export, councils
see only their own; the CLI's reminders; a real browser from request to grant."""
import csv
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.catalog.models import CatalogCall, CatalogRequest, Grant, Resource
from helpdesk.catalog.services import RequestData, grant, save_request, start_review, submit
from helpdesk.core.models import utcnow
from helpdesk.councils.models import Contact
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


def test_one_submit_shows_every_problem_next_to_its_field_and_keeps_what_was_typed(client, app, open_call):
    vic = factories.council("Ajuntament de Vic")
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    client.login("referent@vic.cat", factories.PASSWORD)
    client.get("/catalog/requests/new")
    response = client.submit("/catalog/requests/new", {
        "project_title": "Consulta sobre la rambla", "project_starts_on": "2026-02-30", "referent_name": "Pere Soler",
        "referent_email": "pere@", "desired_host": "vic.example.org", "action": "submit"})
    assert response.status_code == 422
    page = text(response)
    assert error_after(page, "project_kind") == "Requisit 1: indiqueu per a quin tipus de projecte és la plataforma."
    for field in ("project_description", "project_starts_on", "referent_email", "referent_contact_id", "desired_host",
                  "languages", "accepts_terms"):
        assert error_after(page, field), f"no error next to {field}"
    assert error_after(page, "project_title") == ""
    for typed in ("Consulta sobre la rambla", "2026-02-30", "Pere Soler", "pere@", "vic.example.org"):
        assert f'value="{typed}"' in page
    assert db.session.scalar(select(CatalogRequest)) is None
    assert db.session.scalar(select(Contact).where(Contact.name == "Pere Soler")) is None


def granted(council, referent, ends_on: date) -> Grant:
    item = save_request(None, council, RequestData("consultation", "Consulta", "Text", None, referent.id,
                                                   desired_host="participa-vic.diba.cat", languages=["ca"],
                                                   accepts_terms=True), utcnow())
    submit(None, item, utcnow())
    start_review(None, item, utcnow())
    record = grant(None, item, utcnow())
    record.ends_on = ends_on
    db.session.commit()
    return record


def test_a_platform_with_a_grant_is_offered_its_renewal_instead_of_a_new_request(client, app, open_call):
    vic = factories.council("Ajuntament de Vic")
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat")
    record = granted(vic, referent, date.today() + timedelta(days=30))
    referent_id, record_id, instance_id = referent.id, record.id, record.instance_id
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    client.login("referent@vic.cat", factories.PASSWORD)
    client.get("/catalog/requests/new")
    response = client.submit("/catalog/requests/new", form(referent_id, instance_id=str(instance_id),
                                                          desired_host=""))
    assert response.status_code == 422
    page = text(response)
    assert error_after(page, "instance_id").startswith("participa-vic.diba.cat")
    assert f'href="/catalog/grants/{record_id}/renew"' in page
    assert len(db.session.scalars(select(CatalogRequest)).all()) == 1
    assert client.get(f"/catalog/grants/{record_id}/renew").status_code == 200


def test_only_catalogue_managers_see_and_make_the_decision(client, app, open_call):
    vic = factories.council("Ajuntament de Vic")
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat")
    item = save_request(None, vic, RequestData("consultation", "Consulta", "Text", None, referent.id,
                                               desired_host="participa-vic.diba.cat", languages=["ca"],
                                               accepts_terms=True), utcnow())
    submit(None, item, utcnow())
    db.session.commit()
    item_id = item.id
    factories.user(Role.ADMIN, email="admin@example.org")
    factories.user(Role.CATALOGUE_MANAGER, email="cataleg@example.org")
    client.login("admin@example.org", factories.PASSWORD)
    assert "Comença la revisió" not in text(client.get(f"/catalog/requests/{item_id}"))
    response = client.submit(f"/catalog/requests/{item_id}/review")
    assert response.status_code == 403
    assert "Només els gestors del catàleg decideixen sobre les sol·licituds." in text(response)
    assert db.session.get(CatalogRequest, item_id).status is RequestStatus.SUBMITTED
    client.submit("/logout")
    client.login("cataleg@example.org", factories.PASSWORD)
    assert "Comença la revisió" in text(client.get(f"/catalog/requests/{item_id}"))
    client.submit(f"/catalog/requests/{item_id}/review")
    assert "Concedeix la sol·licitud" in text(client.get(f"/catalog/requests/{item_id}"))


BAD_REQUEST_INPUT = [("project_starts_on", "2026-02-30"), ("project_starts_on", "1000-01-01"),
                     ("project_starts_on", "2101-01-01"), ("project_kind", "no-such-kind"),
                     ("project_title", "x" * 3000), ("project_description", "a\x00b"),
                     ("referent_contact_id", "99999999999999999999"), ("instance_id", "no-such"),
                     ("languages", "xx"), ("referent_name", "Pere\x00"), ("desired_host", "a\x00.diba.cat")]


@pytest.mark.parametrize("action", ["save", "submit"])
def test_bad_input_is_refused_next_to_its_field_and_changes_nothing(client, app, open_call, action):
    vic = factories.council("Ajuntament de Vic")
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat").id
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    client.login("referent@vic.cat", factories.PASSWORD)
    client.get("/catalog/requests/new")
    contacts = len(db.session.scalars(select(Contact)).all())
    for field, value in BAD_REQUEST_INPUT:
        response = client.submit("/catalog/requests/new", form(referent, action=action, **{field: value}))
        assert response.status_code == 422, (field, value)
        assert error_after(text(response), field), (field, value)
    assert db.session.scalar(select(CatalogRequest)) is None
    assert len(db.session.scalars(select(Contact)).all()) == contacts


def test_bad_input_on_the_managers_forms_is_refused_next_to_its_field_and_changes_nothing(client, app, open_call):
    vic = factories.council("Ajuntament de Vic")
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat")
    item = save_request(None, vic, RequestData("consultation", "Consulta", "Text", None, referent.id,
                                               desired_host="participa-vic.diba.cat", languages=["ca"],
                                               accepts_terms=True), utcnow())
    submit(None, item, utcnow())
    start_review(None, item, utcnow())
    db.session.commit()
    item_id, resource_id = item.id, item.resource_id
    factories.user(Role.CATALOGUE_MANAGER, email="cataleg@example.org")
    client.login("cataleg@example.org", factories.PASSWORD)
    client.get("/catalog/calls/new")
    good_call = {"year": "2031", "opens_on": "2031-01-10", "closes_on": "2031-03-31"}
    for field, value in [("year", "abc"), ("year", "99999999999999999999"), ("opens_on", "2031-02-30"),
                         ("opens_on", "1000-01-01"), ("closes_on", "2101-01-01"), ("closes_on", "a\x00b")]:
        response = client.submit("/catalog/calls/new", {**good_call, field: value})
        assert response.status_code == 422, (field, value)
        assert error_after(text(response), field), (field, value)
    # Every problem at once: a blank year and a call that closes before it opens.
    page = text(client.submit("/catalog/calls/new", {**good_call, "year": "", "closes_on": "2030-12-31"}))
    assert error_after(page, "year") and error_after(page, "closes_on")
    assert len(db.session.scalars(select(CatalogCall)).all()) == 1
    for data in [{"name": "a\x00b", "requirements": "Un projecte"}, {"name": "x" * 3000, "requirements": "Un"},
                 {"name": "Plataforma", "requirements": "a\x00b"}]:
        response = client.submit(f"/catalog/resources/{resource_id}", data)
        assert response.status_code == 422
        assert error_after(text(response), next(key for key, value in data.items() if value not in ("Un projecte",
                                                                                                  "Un", "Plataforma")))
    page = text(client.submit(f"/catalog/resources/{resource_id}", {"name": "", "requirements": ""}))
    assert error_after(page, "name") and error_after(page, "requirements")
    assert db.session.get(Resource, resource_id).name == "Plataforma Participa311"
    for message in ("a\x00b", "x" * 6000):
        response = client.submit(f"/catalog/requests/{item_id}/grant", {"message": message})
        assert response.status_code == 422
        assert error_after(text(response), "message")
    assert db.session.get(CatalogRequest, item_id).status is RequestStatus.UNDER_REVIEW
    assert db.session.scalar(select(Grant)) is None
