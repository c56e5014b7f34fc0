from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.instances.states import InstanceStatus
from tests import factories
from tests.pages import error_after, text


def test_technician_registers_an_instance_then_activates_it(client, app):
    factories.user(Role.TECHNICIAN, email="tecnic@example.org")
    council_id = factories.council(name="Ajuntament de Vic").id
    client.login("tecnic@example.org", factories.PASSWORD)
    client.get(f"/instances/new?council={council_id}")
    response = client.submit("/instances/new", {"council_id": str(council_id), "base_url": "http://vic.example.cat"})
    assert error_after(text(response), "base_url") == "L'adreça ha de fer servir HTTPS."
    response = client.submit("/instances/new", {"council_id": str(council_id), "base_url": "vic.participa311.diba.cat",
                                                "decidim_version": "0.28.5", "enabled_modules": ["proposals",
                                                                                                 "budgets"]})
    assert response.status_code == 302
    instance_url = response.headers["Location"]
    page = text(client.get(instance_url))
    assert "En procés d'alta" in page and "Propostes, Pressupostos" in page
    response = client.submit(f"{instance_url}/status", {"status": "active"})
    assert response.status_code == 302
    instance = db.session.scalar(select(PlatformInstance))
    assert instance.status is InstanceStatus.ACTIVE
    assert "ha canviat l'estat" in text(client.get(instance_url))


def test_a_status_change_the_table_refuses_is_explained_next_to_the_form(client, app):
    factories.user(Role.TECHNICIAN, email="tecnic@example.org")
    instance_id = factories.instance(factories.council(), status=InstanceStatus.PROVISIONING).id
    client.login("tecnic@example.org", factories.PASSWORD)
    client.get(f"/instances/{instance_id}")
    response = client.submit(f"/instances/{instance_id}/status", {"status": "lapsed"})
    assert response.status_code == 422
    assert "no pot passar a «caducada»" in error_after(text(response), "status")
    assert db.session.get(PlatformInstance, instance_id).status is InstanceStatus.PROVISIONING
