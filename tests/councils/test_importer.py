import pytest
from sqlalchemy import func, select

from helpdesk.core.audit import AuditEvent
from helpdesk.councils.importer import ImportFailed, import_councils
from helpdesk.councils.models import Council, CouncilKind
from helpdesk.extensions import db
from tests import factories

pytestmark = pytest.mark.usefixtures("english")

GOOD = """ine_code,name,kind,email_domains,phones
08298,Ajuntament de Vic,town_council,vic.cat,938 86 21 00
08113,Ajuntament de Manresa,ajuntament,"ajmanresa.cat manresa.cat","938 78 23 00, 938 78 23 01"
0807000,Consell Comarcal del Bages,consell comarcal,ccbages.cat,
"""


def councils():
    return {c.ine_code: c for c in db.session.scalars(select(Council))}


def test_a_good_file_creates_every_council(app):
    result = import_councils(None, GOOD.encode())
    db.session.commit()
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    imported = councils()
    assert imported["08113"].email_domains == ["ajmanresa.cat", "manresa.cat"]
    assert imported["08113"].phone_numbers == ["+34938782300", "+34938782301"]
    assert imported["0807000"].kind is CouncilKind.COUNTY_COUNCIL


def test_reimporting_the_same_file_creates_no_duplicates_and_no_audit_noise(app):
    import_councils(None, GOOD.encode())
    db.session.commit()
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    result = import_councils(None, GOOD.encode())
    db.session.commit()
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert len(councils()) == 3
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events


def test_reimport_updates_changed_rows_by_ine_code(app):
    import_councils(None, GOOD.encode())
    changed = GOOD.replace("Ajuntament de Vic,", "Ajuntament de Vic (Osona),")
    result = import_councils(None, changed.encode())
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert councils()["08298"].name == "Ajuntament de Vic (Osona)"


def test_a_bad_row_is_reported_with_its_line_and_nothing_is_written(app):
    factories.council(name="Existing", ine_code="08019")
    bad = GOOD + "0801,Ajuntament Curt,town_council,,\n08200,Sant Dolent,castle,,\n08298,Vic again,other,,\n"
    with pytest.raises(ImportFailed) as failed:
        import_councils(None, bad.encode())
    db.session.rollback()
    assert [line for line, _ in failed.value.problems] == [5, 6, 7]
    assert "5 to 10 digits" in failed.value.problems[0][1]
    assert "unknown kind “castle”" in failed.value.problems[1][1]
    assert "also on line 2" in failed.value.problems[2][1]
    assert set(councils()) == {"08019"}


def test_missing_columns_are_reported(app):
    with pytest.raises(ImportFailed) as failed:
        import_councils(None, b"code,name\n08298,Vic\n")
    assert failed.value.problems == [(1, "missing column(s): ine_code, kind")]


def test_semicolons_and_windows_1252_from_a_spreadsheet(app):
    content = "ine_code;name;kind\n08205;Ajuntament de Sant Cugat del Vallès;ajuntament\n".encode("cp1252")
    import_councils(None, content)
    assert councils()["08205"].name == "Ajuntament de Sant Cugat del Vallès"


WITH_CONTACTS = """ine_code,name,kind,contact_name,contact_email,contact_language,contact_position
08298,Ajuntament de Vic,town_council,Marta Puigdollers,marta@vic.cat,es,Tècnica de participació
08298,Ajuntament de Vic,town_council,Jordi Roca,jordi@vic.cat,,
08113,Ajuntament de Manresa,town_council,Pere Soler,pere@manresa.cat,ca,
"""


def test_rows_add_the_councils_contacts_and_the_import_invites_them_in_one_step(app):
    from datetime import timedelta

    from helpdesk.auth.models import Role, User
    from helpdesk.core.models import utcnow
    from helpdesk.core.outbox import OutboxMessage
    from helpdesk.councils.importer import Invitations
    from helpdesk.councils.models import Contact
    factories.user(Role.COUNCIL_USER, of=factories.council(name="Altre", ine_code="08999"), email="pere@manresa.cat")
    result = import_councils(None, WITH_CONTACTS.encode(), Invitations(timedelta(days=7), utcnow(), "ca"))
    db.session.commit()
    assert (result.created, result.contacts_added) == (2, 3)
    assert result.invited == ["marta@vic.cat", "jordi@vic.cat"]  # pere has an account already
    marta = db.session.scalar(select(Contact).where(Contact.email == "marta@vic.cat"))
    assert (marta.language, marta.position, marta.council.name) == ("es", "Tècnica de participació", "Ajuntament de Vic")
    account = db.session.scalar(select(User).where(User.email == "marta@vic.cat"))
    assert account.role is Role.COUNCIL_USER and account.council_id == marta.council_id and not account.has_password
    mails = db.session.scalars(select(OutboxMessage.to_addresses)).all()
    assert sorted(mails) == ["jordi@vic.cat", "marta@vic.cat"]
    again = import_councils(None, WITH_CONTACTS.encode(), Invitations(timedelta(days=7), utcnow(), "ca"))
    assert (again.unchanged, again.contacts_added, again.invited) == (2, 0, [])


def test_a_council_whose_rows_disagree_is_refused_and_nothing_is_written(app):
    bad = WITH_CONTACTS.replace("08298,Ajuntament de Vic,town_council,Jordi", "08298,Ajuntament de Vich,town_council,Jordi")
    with pytest.raises(ImportFailed) as failure:
        import_councils(None, bad.encode())
    assert failure.value.problems == [(3, "INE code 08298 is also on line 2 with other council details")]
    assert councils() == {}
