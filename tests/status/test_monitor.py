"""The monitor and planned maintenance: inside a window no outage ticket opens (the checks are kept, and
left out of the availability); once it is over, a platform still down opens one as usual."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.instances.health import Probe
from helpdesk.instances.models import HealthCheck, HealthDay, Outage, PlatformInstance
from helpdesk.status.services import MaintenanceData, schedule_maintenance
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.outages import availability, monitor
from helpdesk.tickets.states import Channel
from tests.status.conftest import T0

UP, DOWN = Probe(True, 200, 120), Probe(False, None, None, "timeout")
EVERY = timedelta(minutes=2)


def run(instance_id, results, start):
    for index, result in enumerate(results):
        monitor(start + index * EVERY, {instance_id: result})


def outage_tickets():
    return list(db.session.scalars(select(Ticket).where(Ticket.channel == Channel.MONITOR)))


@pytest.fixture
def window(vic):
    """One hour of maintenance of Vic's platform from T0."""
    schedule_maintenance(None, MaintenanceData(T0, T0 + timedelta(hours=1), "Actualització", (vic.instance_id,)),
                         T0 - timedelta(days=1))
    db.session.commit()


def test_no_outage_ticket_inside_a_window_and_its_checks_are_kept(app, vic, window):
    run(vic.instance_id, [DOWN] * 30, T0)  # the whole hour down
    assert outage_tickets() == []
    assert db.session.scalar(select(Outage)) is None
    assert len(db.session.scalars(select(HealthCheck)).all()) == 30
    instance = db.session.get(PlatformInstance, vic.instance_id)
    assert instance.health == "down" and instance.failures_in_a_row == 0
    # left out of the availability: the day counts none of them, nor do the 24 hours
    assert db.session.scalar(select(HealthDay)) is None
    assert availability(instance, T0 + timedelta(hours=1)) == {"24h": None, "30d": None, "90d": None}


def test_still_down_after_the_window_opens_one_ticket_from_the_windows_end(app, vic, window):
    run(vic.instance_id, [DOWN] * 30, T0)
    run(vic.instance_id, [DOWN] * 3, T0 + timedelta(hours=1))
    [ticket] = outage_tickets()
    outage = db.session.scalar(select(Outage))
    assert outage.started_at == T0 + timedelta(hours=1) and outage.ticket_id == ticket.id
    day = db.session.scalar(select(HealthDay))
    assert (day.checks, day.up_checks) == (3, 0)  # only the checks after the window count


def test_back_before_the_window_ends_opens_nothing_and_counts_only_outside_it(app, vic, window):
    run(vic.instance_id, [UP] * 5, T0 - timedelta(minutes=10))  # before the window
    run(vic.instance_id, [DOWN] * 20 + [UP] * 7, T0 + timedelta(minutes=6))  # inside it, until 0:58
    run(vic.instance_id, [UP] * 5, T0 + timedelta(hours=1))
    assert outage_tickets() == []
    instance = db.session.get(PlatformInstance, vic.instance_id)
    assert instance.health == "up"
    day = db.session.scalar(select(HealthDay))
    assert (day.checks, day.up_checks) == (10, 10)
    assert availability(instance, T0 + timedelta(hours=2))["24h"] == 1.0


def test_a_cancelled_window_suppresses_nothing(app, vic, window):
    from helpdesk.instances.maintenance import MaintenanceWindow
    db.session.scalar(select(MaintenanceWindow)).cancelled_at = T0 - timedelta(hours=1)
    db.session.commit()
    run(vic.instance_id, [DOWN] * 3, T0)
    assert len(outage_tickets()) == 1


def test_an_outage_open_when_a_window_begins_stays_open(app, vic, window):
    run(vic.instance_id, [DOWN] * 3, T0 - timedelta(minutes=6))
    [ticket] = outage_tickets()
    run(vic.instance_id, [DOWN] * 5 + [UP], T0)
    outage = db.session.scalar(select(Outage))
    assert outage.ticket_id == ticket.id and outage.ended_at == T0 + 5 * EVERY
