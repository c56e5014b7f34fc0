import pytest
from sqlalchemy import func, select

from helpdesk.auth.models import Role
from helpdesk.core.audit import trail
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.councils.models import Contact, Council, CouncilKind
from helpdesk.councils.services import ContactData, CouncilData, create_council, save_contact, update_council
from helpdesk.extensions import db
from tests import factories

pytestmark = pytest.mark.usefixtures("english")


def data(**changes):
    values = dict(name="Ajuntament de Vic", kind=CouncilKind.TOWN_COUNCIL, ine_code="08298",
                  email_domains=["vic.cat"], phone_numbers=["938 86 21 00"])
    values.update(changes)
    return CouncilData(**values)


def test_a_council_is_created_with_normalised_domains_and_phones_and_audited(app):
    council = create_council(None, data(name="  Ajuntament   de Vic ", email_domains=["@VIC.cat", "vic.cat"],
                                        phone_numbers=["+34 938 86 21 00", "938862100"]))
    assert council.name == "Ajuntament de Vic"
    assert council.email_domains == ["vic.cat"]
    assert council.phone_numbers == ["+34938862100"]
    event = trail(council)[0]
    assert event.action == "created" and event.actor_label == "system"
    assert event.changes["ine_code"] == {"before": None, "after": "08298"}


@pytest.mark.parametrize("changes, field, message", [
    ({"name": "   "}, "name", "name is required"),
    ({"ine_code": "8298"}, "ine_code", "5 to 10 digits"),
    ({"ine_code": "08A98"}, "ine_code", "5 to 10 digits"),
    ({"email_domains": ["gmail.com"]}, "email_domains", "public mail service"),
    ({"email_domains": ["not a domain"]}, "email_domains", "not a valid e-mail domain"),
    ({"phone_numbers": ["12"]}, "phone_numbers", "not a valid phone number"),
])
def test_bad_council_data_is_refused_naming_the_field(app, changes, field, message):
    with pytest.raises(DomainError) as refused:
        create_council(None, data(**changes))
    assert refused.value.field == field
    assert message in str(refused.value.message)
    assert db.session.scalar(select(func.count(Council.id))) == 0


def test_ine_code_domain_and_phone_belong_to_one_council_only(app):
    factories.council(name="Ajuntament de Vic", ine_code="08298", domains=["vic.cat"], phones=["938862100"])
    with pytest.raises(DomainError, match="already used by Ajuntament de Vic"):
        create_council(None, data(name="Other", email_domains=[], phone_numbers=[]))
    with pytest.raises(DomainError, match="vic.cat already belongs to Ajuntament de Vic"):
        create_council(None, data(name="Other", ine_code="08999", phone_numbers=[]))
    with pytest.raises(DomainError, match="already belongs to Ajuntament de Vic"):
        create_council(None, data(name="Other", ine_code="08999", email_domains=[]))


def test_update_records_only_what_changed_and_keeps_lists_when_not_given(app):
    council = factories.council(domains=["vic.cat"], phones=["938862100"])
    assert update_council(None, council, CouncilData(name=council.name, kind=council.kind,
                                                     ine_code=council.ine_code)) is False
    assert council.email_domains == ["vic.cat"]
    assert update_council(None, council, CouncilData(name=council.name, kind=CouncilKind.OTHER,
                                                     ine_code=council.ine_code, email_domains=["vic.cat", "osona.cat"]))
    event = trail(council)[0]
    assert event.changes == {"kind": {"before": "town_council", "after": "other"},
                             "email_domains": {"before": ["vic.cat"], "after": ["osona.cat", "vic.cat"]}}


def test_only_administrators_change_councils(app):
    agent = factories.user(Role.AGENT)
    with pytest.raises(NotAllowed):
        create_council(agent, data())


def test_one_technical_referent_per_council(app):
    council = factories.council()
    first = factories.contact(council, name="Primera", referent=True)
    second = save_contact(None, council, ContactData(name="Segona", email="segona@example.org",
                                                     is_technical_referent=True))
    db.session.commit()
    assert council.technical_referent == second
    assert first.is_technical_referent is False
    assert trail(first)[0].changes == {"is_technical_referent": {"before": True, "after": False}}


def test_contact_needs_a_way_to_reach_them_and_a_unique_email_in_the_council(app):
    council = factories.council()
    factories.contact(council, email="joana@example.org")
    with pytest.raises(DomainError, match="at least an e-mail address or a phone"):
        save_contact(None, council, ContactData(name="Ningú"))
    with pytest.raises(DomainError, match="already has the e-mail") as refused:
        save_contact(None, council, ContactData(name="Other", email="JOANA@example.org"))
    assert refused.value.field == "email"


def test_council_users_edit_their_own_council_contacts_only(app):
    vic, manresa = factories.council(), factories.council()
    referent = factories.user(Role.COUNCIL_USER, of=vic)
    contact = save_contact(referent, vic, ContactData(name="Nova", phone="938 00 00 01"))
    assert contact.phone == "+34938000001"
    with pytest.raises(NotAllowed):
        save_contact(referent, manresa, ContactData(name="Intrusa", phone="938 00 00 02"))
    with pytest.raises(NotAllowed):
        save_contact(factories.user(Role.TECHNICIAN), vic, ContactData(name="X", phone="938 00 00 03"))
    assert db.session.scalar(select(func.count(Contact.id))) == 1
