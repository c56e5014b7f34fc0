"""The catalogue's rules: transitions and who makes them, each refusal, grant dates (29 February),
provisioning, renewals without a gap, reminders sent once, grace and lapse."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.catalog import jobs, services
from helpdesk.catalog.models import CatalogCall, CatalogRequest, Grant, RenewalReminder
from helpdesk.catalog.services import RequestData
from helpdesk.catalog.states import GrantStatus, RequestStatus
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed, Problems
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from helpdesk.instances.states import InstanceStatus
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import change_status
from helpdesk.tickets.states import TicketStatus
from tests import factories


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


@pytest.fixture
def call(app):
    created = CatalogCall(year=2026, opens_on=date(2026, 1, 15), closes_on=date(2026, 3, 31))
    db.session.add(created)
    db.session.commit()
    return created


@pytest.fixture
def vic(app):
    return factories.council("Ajuntament de Vic", "08298")


def complete(referent, **changes) -> RequestData:
    values = dict(project_kind="participatory_process", project_title="Pressupostos participatius 2026",
                  project_description="Un procés per decidir 300.000 € d'inversions.", project_starts_on=date(2026, 5, 1),
                  referent_contact_id=referent.id, desired_host="participa-vic.diba.cat", languages=["ca", "es"],
                  accepts_terms=True)
    values.update(changes)
    return RequestData(**values)


def filed(council, user, now=None, **changes):
    now = now or at(date(2026, 2, 10))
    referent = factories.contact(council, "Marta Puig", email="marta@vic.cat", referent=True)
    request = services.save_request(user, council, complete(referent, **changes), now)
    services.submit(user, request, now)
    db.session.commit()
    return request


def decided(request, manager, now=None):
    now = now or at(date(2026, 2, 12))
    services.start_review(manager, request, now)
    record = services.grant(manager, request, now, "Benvinguts a Participa311.")
    db.session.commit()
    return record


def mails_to(address):
    return [mail for mail in db.session.scalars(select(OutboxMessage)) if address in mail.to_addresses]


def test_a_request_goes_from_draft_to_granted_and_the_referent_hears_of_each_step(app, english, call, vic):
    council_user = factories.user(Role.COUNCIL_USER, of=vic)
    manager = factories.user(Role.CATALOGUE_MANAGER)
    request = filed(vic, council_user)
    assert request.status is RequestStatus.SUBMITTED
    with pytest.raises(NotAllowed, match="Only catalogue managers decide"):
        services.start_review(council_user, request, at(date(2026, 2, 11)))
    services.start_review(manager, request, at(date(2026, 2, 11)))
    services.ask_information(manager, request, "Quin calendari té el procés?", at(date(2026, 2, 11)))
    assert request.status is RequestStatus.NEEDS_INFORMATION
    with pytest.raises(DomainError, match="Answer the catalogue managers' question"):
        services.answer(council_user, request, " ", at(date(2026, 2, 12)))
    with pytest.raises(DomainError, match="Answer the catalogue managers' question"):
        services.submit(council_user, request, at(date(2026, 2, 12)))  # sent back without an answer
    services.answer(council_user, request, "De maig a novembre.", at(date(2026, 2, 12)))
    assert request.status is RequestStatus.SUBMITTED
    record = decided(request, manager, at(date(2026, 2, 13)))
    assert (record.starts_on, record.ends_on) == (date(2026, 2, 13), date(2028, 2, 13))
    assert [mail.subject for mail in mails_to("marta@vic.cat")] == [
        f"[{request.reference}] Presentada", f"[{request.reference}] En revisió",
        f"[{request.reference}] Cal informació", f"[{request.reference}] Presentada",
        f"[{request.reference}] En revisió", f"[{request.reference}] Concedida"]
    with pytest.raises(InvalidTransition):
        services.withdraw(council_user, request, at(date(2026, 2, 14)))


def test_refusing_needs_a_reason_the_council_sees(app, english, call, vic):
    manager = factories.user(Role.CATALOGUE_MANAGER)
    request = filed(vic, factories.user(Role.COUNCIL_USER, of=vic))
    services.start_review(manager, request, at(date(2026, 2, 11)))
    with pytest.raises(DomainError, match="Give the reason for refusing"):
        services.refuse(manager, request, "", at(date(2026, 2, 11)))
    services.refuse(manager, request, "El projecte no fa servir la plataforma.", at(date(2026, 2, 11)))
    assert request.status is RequestStatus.REFUSED
    assert "El projecte no fa servir la plataforma." in mails_to("marta@vic.cat")[-1].body_text


def test_each_rule_refuses_with_a_message_a_council_can_act_on(app, english, call, vic):
    user = factories.user(Role.COUNCIL_USER, of=vic)
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat")
    now = at(date(2026, 2, 10))
    cases = [({"project_kind": ""}, "Requirement 1: say what kind of project"),
             ({"project_title": ""}, "Requirement 1: give the project's title"),
             ({"referent_contact_id": None}, "Requirement 2: name the municipal technical referent"),
             ({"accepts_terms": False}, "Accept the platform's code of ethics"),
             ({"languages": []}, "Choose at least one language")]
    for changes, message in cases:
        draft = services.save_request(user, vic, complete(referent, **changes), now)
        with pytest.raises(DomainError, match=message):
            services.submit(user, draft, now)
        db.session.rollback()
    for host, message in [("participa-vic.example.org", "must end in .diba.cat"),
                          ("no és una adreça", "is not a valid web address"),
                          ("participa-vic.diba.cat:abc", "is not a valid web address"),
                          ("[participa-vic.diba.cat", "is not a valid web address")]:
        with pytest.raises(DomainError, match=message) as refused:
            services.save_request(user, vic, complete(referent, desired_host=host), now)
        assert refused.value.field == "desired_host"
        db.session.rollback()
    factories.instance(factories.council(), url="https://presa.diba.cat")
    draft = services.save_request(user, vic, complete(referent, desired_host="presa.diba.cat"), now)
    with pytest.raises(DomainError, match="presa.diba.cat is already taken"):
        services.submit(user, draft, now)
    db.session.rollback()


def test_one_open_request_per_council_and_year_and_only_while_the_call_is_open(app, english, call, vic):
    user = factories.user(Role.COUNCIL_USER, of=vic)
    request = filed(vic, user)
    with pytest.raises(DomainError, match=f"already has request {request.reference} open"):
        services.save_request(user, vic, RequestData(), at(date(2026, 2, 20)))
    db.session.add(CatalogCall(year=2027, opens_on=date(2027, 1, 18), closes_on=date(2027, 3, 31)))
    db.session.commit()
    with pytest.raises(DomainError, match="The next one opens on January 18, 2027"):
        services.save_request(factories.user(Role.AGENT), factories.council(), RequestData(), at(date(2026, 6, 1)))


def test_a_call_may_run_into_the_next_year_and_old_drafts_join_the_open_call(app, english, call, vic):
    db.session.add(CatalogCall(year=2027, opens_on=date(2027, 11, 2), closes_on=date(2028, 1, 31)))
    db.session.commit()
    user = factories.user(Role.COUNCIL_USER, of=vic)
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat")
    old_draft = services.save_request(user, vic, complete(referent), at(date(2026, 3, 1)))
    db.session.commit()
    services.submit(user, old_draft, at(date(2028, 1, 15)))  # January 2028: the 2027 call is still open
    assert old_draft.year == 2027 and old_draft.status is RequestStatus.SUBMITTED
    with pytest.raises(DomainError, match="already has request"):
        services.save_request(user, vic, RequestData(), at(date(2028, 1, 20)))


def test_council_users_file_only_for_their_own_council_and_technicians_not_at_all(app, english, call, vic):
    other = factories.council()
    with pytest.raises(NotAllowed, match="only file requests for your own council"):
        services.save_request(factories.user(Role.COUNCIL_USER, of=other), vic, RequestData(), at(date(2026, 2, 1)))
    with pytest.raises(NotAllowed, match="Only agents and catalogue managers file"):
        services.save_request(factories.user(Role.TECHNICIAN), vic, RequestData(), at(date(2026, 2, 1)))
    agent = factories.user(Role.AGENT)
    assert services.save_request(agent, vic, RequestData(), at(date(2026, 2, 1))).status is RequestStatus.DRAFT


def test_a_grant_from_29_february_ends_on_28_february_two_years_later():
    assert services.grant_end(date(2028, 2, 29)) == date(2030, 2, 28)
    assert services.grant_end(date(2026, 3, 1)) == date(2028, 3, 1)


def test_a_new_platform_is_provisioned_by_a_ticket_and_becomes_active_when_it_is_resolved(app, call, vic):
    technician = factories.user(Role.TECHNICIAN, email="tecnic@diba.cat")
    record = decided(filed(vic, factories.user(Role.COUNCIL_USER, of=vic)), factories.user(Role.CATALOGUE_MANAGER))
    assert record.instance.base_url == "https://participa-vic.diba.cat"
    assert record.instance.status is InstanceStatus.PROVISIONING
    ticket = db.session.get(Ticket, record.provisioning_ticket_id)
    assert ticket.instance_id == record.instance_id and ticket.council_id == vic.id
    assert mails_to("tecnic@diba.cat"), "the technicians are told"
    change_status(technician, ticket, TicketStatus.RESOLVED, at(date(2026, 2, 20)))
    db.session.commit()
    assert record.instance.status is InstanceStatus.ACTIVE
    assert "https://participa-vic.diba.cat" in mails_to("marta@vic.cat")[-1].body_text


def grant_ending(vic, ends_on: date, host: str = "participa-vic.diba.cat") -> Grant:
    record = decided(filed(vic, factories.user(Role.COUNCIL_USER, of=vic), desired_host=host),
                     factories.user(Role.CATALOGUE_MANAGER))
    record.ends_on = ends_on
    db.session.commit()
    return record


def test_reminders_go_at_90_30_and_7_days_each_once_and_never_after_renewal(app, call, vic):
    factories.user(Role.CATALOGUE_MANAGER, email="cataleg@diba.cat")
    grant_ending(vic, date(2027, 6, 30))
    sent = []
    for day in [date(2027, 3, 31), date(2027, 4, 1), date(2027, 4, 2), date(2027, 5, 31), date(2027, 6, 1),
                date(2027, 6, 23), date(2027, 6, 24)]:
        sent += [reminder.days_before for reminder in jobs.send_reminders(at(day))]
        db.session.commit()
    assert sent == [90, 30, 7]
    assert len(mails_to("cataleg@diba.cat")) == 3 and len([m for m in mails_to("marta@vic.cat")
                                                           if "ends on" in m.subject or "s'acaba" in m.subject]) == 3

    other = grant_ending(factories.council(), date(2027, 6, 30), "participa-altre.diba.cat")
    renewal = services.save_request(factories.user(Role.AGENT), other.council, services.renewal_prefill(other),
                                    at(date(2027, 4, 10)), renews=other)
    renewal.accepts_terms = True
    services.submit(None, renewal, at(date(2027, 4, 10)))
    decided(renewal, factories.user(Role.CATALOGUE_MANAGER), at(date(2027, 4, 11)))
    assert other.ends_on == date(2029, 6, 30)  # from the previous end: no gap, no overlap
    assert [r.grant.id for r in jobs.due_reminders(at(date(2027, 6, 24)))] == []
    assert db.session.scalar(select(RenewalReminder).where(RenewalReminder.grant_id == other.id)) is None


def test_a_dry_run_says_what_it_would_send_and_sends_nothing(app, call, vic):
    grant_ending(vic, date(2027, 6, 30))
    before = len(list(db.session.scalars(select(OutboxMessage))))
    assert [r.days_before for r in jobs.send_reminders(at(date(2027, 6, 25)), dry_run=True)] == [7]
    assert len(list(db.session.scalars(select(OutboxMessage)))) == before
    assert [r.days_before for r in jobs.send_reminders(at(date(2027, 6, 25)))] == [7]


def test_renewal_opens_90_days_before_the_end(app, english, call, vic):
    record = grant_ending(vic, date(2027, 6, 30))
    with pytest.raises(DomainError, match="Renewals open on"):
        services.save_request(factories.user(Role.COUNCIL_USER, of=vic), vic, RequestData(), at(date(2027, 3, 1)),
                              renews=record)
    assert services.can_renew(record, date(2027, 4, 1))


def test_an_unrenewed_grant_has_a_grace_period_then_lapses_with_its_instance(app, english, call, vic):
    record = grant_ending(vic, date(2027, 6, 30))
    record.instance.status = InstanceStatus.ACTIVE
    db.session.commit()
    assert jobs.expire_grants(at(date(2027, 6, 30))) == (0, 0)
    assert jobs.expire_grants(at(date(2027, 7, 1))) == (1, 0)
    assert record.status is GrantStatus.GRACE and record.instance.status is InstanceStatus.ACTIVE
    assert jobs.expire_grants(at(date(2027, 7, 30))) == (0, 0)
    assert jobs.expire_grants(at(date(2027, 7, 31))) == (0, 1)
    assert record.status is GrantStatus.LAPSED and record.instance.status is InstanceStatus.LAPSED
    with pytest.raises(DomainError, match="has lapsed"):
        services.save_request(None, vic, RequestData(), at(date(2027, 8, 1)), renews=record)


# --- Every problem at once; a platform that already has a grant is renewed; who decides -------------------

def test_filing_refuses_every_unmet_requirement_at_once_and_keeps_nothing(app, english, call, vic):
    user = factories.user(Role.COUNCIL_USER, of=vic)
    now = at(date(2026, 2, 10))
    with pytest.raises(Problems) as refused:
        services.file_request(user, vic, RequestData(project_title="Pressupostos participatius"), now)
    assert {problem.field: str(problem.message) for problem in refused.value.problems} == {
        "project_kind": "Requirement 1: say what kind of project the platform is for.",
        "project_description": "Requirement 1: describe the project.",
        "referent_contact_id": "Requirement 2: name the municipal technical referent.",
        "desired_host": "Give the address wanted for the new platform, or choose the council's existing one.",
        "languages": "Choose at least one language.",
        "accepts_terms": "Accept the platform's code of ethics and social contract to file the request."}
    db.session.rollback()
    assert db.session.scalar(select(CatalogRequest)) is None

    # A value of the wrong form and the requirements it leaves unmet, together; the new referent's own
    # problem is named by the form's field for it.
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat")
    with pytest.raises(Problems) as refused:
        services.file_request(user, vic, complete(referent, desired_host="vic.example.org", project_title="",
                                                  referent_contact_id=None,
                                                  new_referent=services.ContactData("Pere Soler", email="no")), now)
    assert [problem.field for problem in refused.value.problems] == ["referent_email", "desired_host",
                                                                    "project_title", "referent_contact_id"]
    db.session.rollback()
    draft = services.save_request(user, vic, RequestData(project_title="Només el títol"), now)
    with pytest.raises(Problems) as refused:
        services.submit(user, draft, now)
    assert len(refused.value.problems) == 6


def test_a_platform_with_a_live_grant_is_offered_its_renewal_not_a_new_request(app, english, call, vic):
    user = factories.user(Role.COUNCIL_USER, of=vic)
    record = decided(filed(vic, user), factories.user(Role.CATALOGUE_MANAGER))  # 12 Feb 2026 – 12 Feb 2028
    referent = record.request.referent
    again = complete(referent, instance_id=record.instance_id, desired_host="")
    with pytest.raises(Problems) as refused:
        services.save_request(user, vic, again, at(date(2026, 3, 1)))
    [held] = refused.value.problems
    assert held.field == "instance_id" and not held.renewable
    assert str(held.message) == ("participa-vic.diba.cat already has a grant until February 12, 2028. Its "
                                          "renewal opens on November 14, 2027: file that then, not a new request.")
    db.session.rollback()

    db.session.add(CatalogCall(year=2027, opens_on=date(2027, 11, 2), closes_on=date(2028, 1, 31)))
    db.session.commit()
    with pytest.raises(Problems) as refused:  # refused with whatever else is wrong, on filing too
        services.file_request(user, vic, complete(referent, instance_id=record.instance_id, desired_host="",
                                                  accepts_terms=False), at(date(2027, 12, 1)))
    held = next(problem for problem in refused.value.problems if problem.field == "instance_id")
    assert held.renewable and held.grant_id == record.id
    assert "renew it instead of requesting a new platform" in str(held.message)
    db.session.rollback()

    renewal = services.save_request(user, vic, services.renewal_prefill(record), at(date(2027, 12, 1)), renews=record)
    db.session.commit()
    with pytest.raises(DomainError, match=f"its renewal {renewal.reference} is under way"):
        services.save_request(user, vic, again, at(date(2027, 12, 2)))
    db.session.rollback()
    assert (record.starts_on, record.ends_on, record.status) == (date(2026, 2, 12), date(2028, 2, 12),
                                                                 GrantStatus.ACTIVE)


def test_granting_checks_again_and_never_moves_or_shortens_another_grant(app, english, call, vic):
    manager = factories.user(Role.CATALOGUE_MANAGER)
    instance = factories.instance(vic, url="https://participa.vic.cat")
    request = filed(vic, factories.user(Role.COUNCIL_USER, of=vic), instance_id=instance.id, desired_host="")
    services.start_review(manager, request, at(date(2026, 2, 11)))
    # Meanwhile the instance was granted by another decision (say, a request from before this rule).
    other = Grant(council=vic, resource=request.resource, instance=instance, request=request,
                  starts_on=date(2025, 6, 1), ends_on=date(2027, 6, 1))
    db.session.add(other)
    db.session.commit()
    with pytest.raises(DomainError, match="participa.vic.cat already has a grant until June 1, 2027"):
        services.grant(manager, request, at(date(2026, 2, 12)))
    db.session.rollback()
    assert request.status is RequestStatus.UNDER_REVIEW
    assert db.session.scalars(select(Grant)).all() == [other]
    assert (other.starts_on, other.ends_on, other.status) == (date(2025, 6, 1), date(2027, 6, 1), GrantStatus.ACTIVE)

    # Once that grant has lapsed the platform may be granted anew: a grant of its own, the old one untouched.
    other.status, other.lapsed_on = GrantStatus.LAPSED, date(2026, 1, 10)
    db.session.commit()
    record = services.grant(manager, request, at(date(2026, 2, 12)))
    db.session.commit()
    assert (record.starts_on, record.ends_on) == (date(2026, 2, 12), date(2028, 2, 12))
    assert (other.starts_on, other.ends_on, other.status, other.lapsed_on) == (
        date(2025, 6, 1), date(2027, 6, 1), GrantStatus.LAPSED, date(2026, 1, 10))


def test_only_catalogue_managers_decide_not_administrators(app, english, call, vic):
    admin, manager = factories.user(Role.ADMIN), factories.user(Role.CATALOGUE_MANAGER)
    request = filed(vic, factories.user(Role.COUNCIL_USER, of=vic))
    now = at(date(2026, 2, 11))
    with pytest.raises(NotAllowed, match="Only catalogue managers decide"):
        services.start_review(admin, request, now)
    services.start_review(manager, request, now)
    for decide in (lambda who: services.grant(who, request, now), lambda who: services.refuse(who, request, "No.", now),
                   lambda who: services.ask_information(who, request, "Quan?", now)):
        with pytest.raises(NotAllowed, match="Only catalogue managers decide"):
            decide(admin)
    assert request.status is RequestStatus.UNDER_REVIEW and db.session.scalar(select(Grant)) is None
    assert [CatalogRequest.can_decide(user) for user in (admin, manager)] == [False, True]
    assert services.grant(manager, request, now).ends_on == date(2028, 2, 11)
