"""Accompaniment's rules: the OTPGL gate (no session before authorisation, only approvers decide), the
active-grant requirement, advisers' overlaps, the invitations (.ics read back), reminders once."""
from datetime import date, datetime, timedelta, timezone

import pytest
from icalendar import Calendar as ICalendar
from sqlalchemy import select

from helpdesk.accompaniment import services
from helpdesk.accompaniment.jobs import send_reminders
from helpdesk.accompaniment.services import RequestData, SessionData
from helpdesk.accompaniment.states import Need, RequestStatus, SessionStatus
from helpdesk.auth.models import Role
from helpdesk.catalog.models import Grant
from helpdesk.catalog.states import GrantStatus
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from helpdesk.tickets.services import blob_store
from tests import factories
from tests.catalog.test_services import decided, filed

NOW = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)  # a Monday


@pytest.fixture
def vic(app):
    council = factories.council("Ajuntament de Vic", "08298")
    from helpdesk.catalog.models import CatalogCall
    db.session.add(CatalogCall(year=2026, opens_on=date(2026, 1, 15), closes_on=date(2026, 12, 31)))
    db.session.commit()
    decided(filed(council, None, now=NOW - timedelta(days=30)), None, now=NOW - timedelta(days=29))
    return council


def asked(council, user, **changes):
    instance_id = db.session.scalar(select(Grant.instance_id).where(Grant.council_id == council.id))
    data = dict(instance_id=instance_id, action="Pressupostos participatius 2027",
                description="Primer cop que els fem.", needs=["design", "configuration"],
                preferred_dates="Dimarts al matí", attendees="La tècnica i el regidor")
    data.update(changes)
    request = services.ask(user, council, RequestData(**data), NOW)
    db.session.commit()
    return request


def session_data(adviser, start=None, minutes=90, **changes):
    values = dict(kind="design", starts_at=start or NOW + timedelta(days=3), duration_minutes=minutes, online=True,
                  location="https://meet.example.org/vic", adviser_id=adviser.id,
                  attendees="marta@vic.cat; jordi@vic.cat")
    values.update(changes)
    return SessionData(**values)


def test_no_session_before_the_otpgl_authorises_and_only_approvers_decide(app, english, vic):
    council_user = factories.user(Role.COUNCIL_USER, of=vic)
    adviser = factories.user(Role.AGENT)
    request = asked(vic, council_user)
    with pytest.raises(InvalidTransition, match="No session can be scheduled before the OTPGL authorises"):
        services.schedule_session(adviser, request, session_data(adviser), NOW)
    for someone in (adviser, factories.user(Role.ADMIN), factories.user(Role.CATALOGUE_MANAGER), council_user):
        with pytest.raises(NotAllowed, match="Only OTPGL approvers"):
            services.authorise(someone, request, "Té sentit.", NOW)
    approver = factories.user(Role.OTPGL_APPROVER)
    with pytest.raises(DomainError, match="Write the assessment"):
        services.authorise(approver, request, " ", NOW)
    services.authorise(approver, request, "Acció ben definida; cal configurar els pressupostos.", NOW)
    session = services.schedule_session(adviser, request, session_data(adviser), NOW)
    db.session.commit()
    assert request.status is RequestStatus.SCHEDULED and session.status is SessionStatus.PLANNED


def test_only_the_council_or_its_agent_answers_the_otpgl(app, english, vic):
    request = asked(vic, factories.user(Role.COUNCIL_USER, of=vic))
    approver = factories.user(Role.OTPGL_APPROVER)
    services.ask_information(approver, request, "Quantes persones hi aniran?", NOW)
    for someone in (approver, factories.user(Role.TECHNICIAN), factories.user(Role.COUNCIL_USER, of=factories.council())):
        with pytest.raises(NotAllowed):
            services.answer(someone, request, "Deu.", NOW)
    services.answer(factories.user(Role.AGENT), request, "Deu, diu la tècnica per telèfon.", NOW)
    assert request.status is RequestStatus.REQUESTED


def test_refused_requests_cannot_be_scheduled_either(app, english, vic):
    request = asked(vic, factories.user(Role.COUNCIL_USER, of=vic))
    services.refuse(factories.user(Role.OTPGL_APPROVER), request, "No és una acció de participació.", NOW)
    adviser = factories.user(Role.AGENT)
    with pytest.raises(InvalidTransition):
        services.schedule_session(adviser, request, session_data(adviser), NOW)


def test_the_instance_must_hold_an_active_grant(app, english, vic):
    record = db.session.scalar(select(Grant))
    record.status = GrantStatus.LAPSED
    db.session.commit()
    with pytest.raises(DomainError, match="has no active grant of the Participa311 platform") as refused:
        asked(vic, factories.user(Role.COUNCIL_USER, of=vic))
    assert "request the platform (or renew it) in the Service Catalogue" in str(refused.value.message)
    other = factories.council()
    with pytest.raises(NotAllowed, match="only ask for accompaniment for your own council"):
        asked(vic, factories.user(Role.COUNCIL_USER, of=other))


def authorised(vic):
    request = asked(vic, factories.user(Role.COUNCIL_USER, of=vic))
    services.authorise(factories.user(Role.OTPGL_APPROVER), request, "D'acord.", NOW)
    db.session.commit()
    return request


def test_an_adviser_cannot_be_booked_into_two_overlapping_sessions(app, english, vic):
    request = authorised(vic)
    adviser = factories.user(Role.AGENT, email="assessora@diba.cat")
    start = NOW + timedelta(days=3)
    services.schedule_session(adviser, request, session_data(adviser, start, 90), NOW)
    with pytest.raises(DomainError, match="already has a session then") as overlap:
        services.schedule_session(adviser, request, session_data(adviser, start + timedelta(minutes=89), 30), NOW)
    assert overlap.value.field == "starts_at"
    with pytest.raises(DomainError, match="already has a session then"):
        services.schedule_session(adviser, request, session_data(adviser, start - timedelta(minutes=30), 31), NOW)
    services.schedule_session(adviser, request, session_data(adviser, start + timedelta(minutes=90), 30), NOW)
    other = factories.user(Role.TECHNICIAN)
    services.schedule_session(other, request, session_data(other, start, 60), NOW)  # someone else is free


def invitations(request):
    mails = [mail for mail in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
             if mail.attachments and mail.related_id == request.id]
    return [(mail, ICalendar.from_ical(blob_store().read(mail.attachments[0]["sha256"]))) for mail in mails]


def test_invitations_are_icalendar_requests_updates_keep_the_uid_and_cancellations_cancel_it(app, vic):
    request = authorised(vic)
    adviser = factories.user(Role.AGENT, email="assessora@diba.cat")
    start = NOW + timedelta(days=3)
    session = services.schedule_session(adviser, request, session_data(adviser, start), NOW)
    services.reschedule_session(adviser, session, session_data(adviser, start + timedelta(hours=2),
                                                               attendees="marta@vic.cat"), NOW)
    services.cancel_session(adviser, session, "La regidora no hi pot anar.", NOW)
    db.session.commit()
    sent = invitations(request)
    methods = [(str(calendar["method"]), mail.to_addresses) for mail, calendar in sent]
    assert methods == [("REQUEST", "assessora@diba.cat, marta@vic.cat, jordi@vic.cat"),
                       ("REQUEST", "assessora@diba.cat, marta@vic.cat"),
                       ("CANCEL", "jordi@vic.cat"),  # dropped from the session
                       ("CANCEL", "assessora@diba.cat, marta@vic.cat")]
    events = [calendar.walk("VEVENT")[0] for _, calendar in sent]
    assert len({str(event["uid"]) for event in events}) == 1
    assert [int(event["sequence"]) for event in events] == [0, 1, 1, 2]
    assert events[0].decoded("dtstart") == start and events[1].decoded("dtstart") == start + timedelta(hours=2)
    assert events[0].decoded("dtend") - events[0].decoded("dtstart") == timedelta(minutes=90)
    assert str(events[-1]["status"]) == "CANCELLED"
    assert "Pressupostos participatius 2027" in str(events[0]["summary"])
    assert sorted(str(item) for item in events[0]["attendee"]) == [
        "mailto:assessora@diba.cat", "mailto:jordi@vic.cat", "mailto:marta@vic.cat"]
    assert sent[0][0].attachments[0]["params"] == {"method": "REQUEST"}


def test_reminders_go_one_working_day_before_and_only_once(app, vic):
    request = authorised(vic)
    adviser = factories.user(Role.AGENT, email="assessora@diba.cat")
    monday_session = datetime(2026, 12, 7, 9, tzinfo=timezone.utc)  # Monday 7 December; 8 December is a holiday
    services.schedule_session(adviser, request, session_data(adviser, monday_session), NOW)
    db.session.commit()
    assert services.reminder_day(date(2026, 12, 7)) == date(2026, 12, 4)  # the Friday before
    assert services.reminder_day(date(2026, 12, 9)) == date(2026, 12, 7)  # 8 December (Immaculada) is skipped
    assert send_reminders(datetime(2026, 12, 3, 10, tzinfo=timezone.utc)) == 0
    assert send_reminders(datetime(2026, 12, 4, 10, tzinfo=timezone.utc)) == 1
    assert send_reminders(datetime(2026, 12, 4, 11, tzinfo=timezone.utc)) == 0
    assert send_reminders(datetime(2026, 12, 6, 11, tzinfo=timezone.utc)) == 0
    reminders = [mail for mail in db.session.scalars(select(OutboxMessage)) if "Recordatori" in mail.subject
                 or "Reminder" in mail.subject]
    assert len(reminders) == 1 and "jordi@vic.cat" in reminders[0].to_addresses


def test_outcomes_move_the_request_on_and_the_council_sees_its_notes(app, english, vic):
    request = authorised(vic)
    adviser = factories.user(Role.AGENT)
    session = services.schedule_session(adviser, request, session_data(adviser), NOW)
    with pytest.raises(DomainError, match="has not taken place yet"):
        services.record_outcome(adviser, session, "x", "", "", NOW)
    later = NOW + timedelta(days=4)
    services.record_outcome(adviser, session, "Hem configurat el mòdul de pressupostos.", "Molt motivats.",
                            "Revisar la votació el mes vinent.", later)
    assert request.status is RequestStatus.IN_PROGRESS and session.status is SessionStatus.HELD
    services.complete(adviser, request, later)
    assert request.status is RequestStatus.COMPLETED


def test_a_session_after_2100_is_refused_by_the_service_too(app, english, vic):
    request = authorised(vic)
    adviser = factories.user(Role.AGENT, email="assessora@diba.cat")
    far = datetime(9999, 12, 31, 22, tzinfo=timezone.utc)  # ending past the year 9999 was an OverflowError
    with pytest.raises(DomainError, match="Give a date between 1900 and 2100") as refused:
        services.schedule_session(adviser, request, session_data(adviser, far, 480), NOW)
    assert refused.value.field == "starts_at"


def test_a_session_booked_without_attendees_invites_whom_the_council_named(app, vic):
    request = asked(vic, factories.user(Role.COUNCIL_USER, of=vic), needs=["follow_up"],
                    attendees="marta@vic.cat; el regidor")
    services.authorise(factories.user(Role.OTPGL_APPROVER), request, "D'acord.", NOW)
    adviser = factories.user(Role.AGENT)
    session = services.schedule_session(adviser, request, session_data(adviser, kind="", attendees=""), NOW)
    assert session.kind is Need.FOLLOW_UP and session.attendees == ["marta@vic.cat"]
