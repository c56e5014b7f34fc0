import pytest

from helpdesk.auth.models import Role
from helpdesk.core.audit import trail
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed
from helpdesk.instances.services import (InstanceData, change_instance_status, create_instance,
                                         normalise_base_url, update_instance)
from helpdesk.instances.states import InstanceStatus
from tests import factories

pytestmark = pytest.mark.usefixtures("english")


@pytest.mark.parametrize("raw, expected", [
    ("https://Vic.Participa311.diba.cat/", "https://vic.participa311.diba.cat"),
    ("participa.vic.cat", "https://participa.vic.cat"),
    ("https://participa.vic.cat:443", "https://participa.vic.cat"),
    ("https://participa.vic.cat:8443", "https://participa.vic.cat:8443"),
])
def test_addresses_are_normalised(raw, expected):
    assert normalise_base_url(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("http://participa.vic.cat", "must use HTTPS"),
    ("https://participa.vic.cat/processes", "without a path"),
    ("https://participa.vic.cat/?x=1", "without a path"),
    ("https://not_a host", "not a valid web address"),
    ("", "required"),
])
def test_bad_addresses_are_refused(app, raw, message):
    with pytest.raises(DomainError, match=message):
        normalise_base_url(raw)


def test_new_instance_starts_provisioning_and_is_audited(app):
    council = factories.council()
    instance = create_instance(None, council, InstanceData("vic.participa311.diba.cat", "v0.28.5",
                                                           ("meetings", "proposals")))
    assert instance.status is InstanceStatus.PROVISIONING
    assert instance.decidim_version == "0.28.5"
    assert instance.enabled_modules == ["proposals", "meetings"]  # in Decidim's own order
    assert trail(instance)[0].changes["base_url"]["after"] == "https://vic.participa311.diba.cat"


def test_an_address_belongs_to_one_instance(app):
    council = factories.council(name="Ajuntament de Vic")
    factories.instance(council, url="https://vic.participa311.diba.cat")
    with pytest.raises(DomainError, match="already the address of Ajuntament de Vic's instance"):
        create_instance(None, factories.council(), InstanceData("https://VIC.participa311.diba.cat"))


def test_bad_version_and_unknown_modules_are_refused(app):
    instance = factories.instance(factories.council())
    with pytest.raises(DomainError, match="not a Decidim version") as refused:
        update_instance(None, instance, InstanceData(instance.base_url, "latest"))
    assert refused.value.field == "decidim_version"
    with pytest.raises(DomainError, match="Unknown module"):
        update_instance(None, instance, InstanceData(instance.base_url, "0.28.5", ("chat",)))


def test_status_follows_the_table_and_every_change_is_audited(app):
    instance = factories.instance(factories.council(), status=InstanceStatus.PROVISIONING)
    with pytest.raises(InvalidTransition, match="cannot become lapsed"):
        change_instance_status(None, instance, InstanceStatus.LAPSED)
    change_instance_status(None, instance, InstanceStatus.ACTIVE)
    change_instance_status(None, instance, InstanceStatus.LAPSED)
    change_instance_status(None, instance, InstanceStatus.ACTIVE)
    change_instance_status(None, instance, InstanceStatus.RETIRED)
    with pytest.raises(InvalidTransition):
        change_instance_status(None, instance, InstanceStatus.ACTIVE)
    statuses = [event.changes["status"]["after"] for event in trail(instance) if event.action == "status_changed"]
    assert statuses == ["retired", "active", "lapsed", "active"]


def test_only_administrators_and_technicians_change_instances(app):
    instance = factories.instance(factories.council())
    with pytest.raises(NotAllowed):
        change_instance_status(factories.user(Role.AGENT), instance, InstanceStatus.SUSPENDED)
    change_instance_status(factories.user(Role.TECHNICIAN), instance, InstanceStatus.SUSPENDED)
    assert instance.status is InstanceStatus.SUSPENDED
