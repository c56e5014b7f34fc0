"""Each fact's state on either side of its threshold, read from the real database at a chosen moment."""
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import text

from helpdesk.core import lease
from helpdesk.mail.models import MailboxState
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxStatus, queue_mail
from helpdesk.core.scheduling import Job
from helpdesk.extensions import db
from helpdesk.instances.health import Probe
from helpdesk.operations.status import (
    State,
    collect,
    database_facts,
    held_mail_facts,
    mailbox_facts,
    monitor_facts,
    outbox_facts,
    scheduler_facts,
    storage_facts,
)
from helpdesk.scheduler import LEASE, all_jobs, run_job
from helpdesk.mail.intake import ingest
from helpdesk.tickets.outages import monitor
from tests import factories
from tests.operations.conftest import T0

SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)


def states(facts, key, subject=None):
    return [fact.state for fact in facts if fact.key == key and (subject is None or fact.subject == subject)]


def test_the_oldest_waiting_message_warns_after_15_minutes_and_is_a_problem_after_an_hour(app, english):
    queue_mail(["marta@vic.cat"], "Resposta", "Hola").created_at = T0
    queue_mail(["pere@vic.cat"], "Una altra", "Hola")  # newer: not the oldest
    db.session.commit()
    judged = {offset: states(outbox_facts(T0 + offset, app.config), "outbox.oldest")
              for offset in (15 * MINUTE, 15 * MINUTE + SECOND, 60 * MINUTE, 60 * MINUTE + SECOND)}
    assert judged == {15 * MINUTE: [State.OK], 15 * MINUTE + SECOND: [State.WARNING],
                      60 * MINUTE: [State.WARNING], 60 * MINUTE + SECOND: [State.PROBLEM]}
    oldest = next(fact for fact in outbox_facts(T0, app.config) if fact.key == "outbox.oldest")
    assert oldest.value == T0 and "HELPDESK_SMTP_HOST" in oldest.detail  # nothing can leave: it says why
    assert "warning after 15 min, problem after 1 h" == oldest.threshold


def test_a_backlog_larger_than_one_delivery_round_warns(app):
    for number in range(200):
        queue_mail([f"persona{number}@vic.cat"], "Avís", "Hola")
    db.session.commit()
    assert states(outbox_facts(T0, app.config), "outbox.backlog") == [State.OK]
    queue_mail(["una.mes@vic.cat"], "Avís", "Hola")
    db.session.commit()
    backlog = next(fact for fact in outbox_facts(T0, app.config) if fact.key == "outbox.backlog")
    assert (backlog.value, backlog.state) == (201, State.WARNING)


def test_failed_and_uncertain_messages_of_the_last_week_warn(app):
    failed = queue_mail(["ningu@vic.cat"], "Resposta", "Hola")
    uncertain = queue_mail(["marta@vic.cat"], "Resposta", "Hola")
    db.session.commit()
    facts = outbox_facts(T0, app.config)
    assert states(facts, "outbox.failed") == states(facts, "outbox.uncertain") == [State.OK]
    failed.status, failed.last_error, failed.created_at = OutboxStatus.FAILED, "ningu@vic.cat: 550 no such user", T0
    uncertain.status, uncertain.created_at = OutboxStatus.UNCERTAIN, T0
    db.session.commit()
    facts = {fact.key: fact for fact in outbox_facts(T0 + timedelta(days=7), app.config)}
    assert facts["outbox.failed"].state is facts["outbox.uncertain"].state is State.WARNING
    assert facts["outbox.failed"].detail == "ningu@vic.cat: 550 no such user"
    later = outbox_facts(T0 + timedelta(days=7) + SECOND, app.config)
    assert states(later, "outbox.failed") == states(later, "outbox.uncertain") == [State.OK]


def automatic(subject, body="Torno dilluns."):
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = "marta@vic.cat", subject, f"<{subject}@vic.cat>"
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(body)
    return message.as_bytes()


def test_quarantined_mail_warns_and_filtered_mail_is_counted(app):
    ingest(automatic("fora"), "inbox")
    facts = {fact.key: fact for fact in held_mail_facts(T0, app.config)}
    assert (facts["held.filtered"].value, facts["held.filtered"].state) == (1, State.OK)
    assert (facts["held.quarantined"].value, facts["held.quarantined"].state) == (0, State.OK)
    app.config["MAIL_MAX_BYTES"] = 1024
    ingest(automatic("gran", "x" * 4000), "inbox")  # too large: kept whole in quarantine
    facts = {fact.key: fact for fact in held_mail_facts(T0, app.config)}
    assert (facts["held.quarantined"].value, facts["held.quarantined"].state) == (1, State.WARNING)


def test_the_scheduler_leader_and_its_heartbeat_follow_the_lease(app):
    facts = scheduler_facts(T0, app.config)
    assert states(facts, "scheduler.leader") == states(facts, "scheduler.heartbeat") == [State.PROBLEM]
    assert lease.acquire(LEASE, "desk1:42", T0, timedelta(seconds=60))
    judged = {seconds: (states(scheduler_facts(T0 + seconds * SECOND, app.config), "scheduler.leader")[0],
                        states(scheduler_facts(T0 + seconds * SECOND, app.config), "scheduler.heartbeat")[0])
              for seconds in (0, 40, 41, 59, 60, 61)}
    assert judged == {0: (State.OK, State.OK), 40: (State.OK, State.OK), 41: (State.OK, State.WARNING),
                      59: (State.OK, State.WARNING), 60: (State.PROBLEM, State.WARNING),
                      61: (State.PROBLEM, State.PROBLEM)}
    leader = next(fact for fact in scheduler_facts(T0, app.config) if fact.key == "scheduler.leader")
    assert leader.value == "desk1:42"


def test_a_job_that_never_ran_warns_one_that_failed_is_a_problem_one_that_is_late_warns(app, english):
    facts = scheduler_facts(T0, app.config)
    assert {fact.subject for fact in facts if fact.key == "scheduler.job"} == {job.name for job in all_jobs()}
    assert set(states(facts, "scheduler.job")) == {State.WARNING}
    run_job(app, Job("outbox", lambda: {"sent": 3}, seconds=20))
    ran = next(fact for fact in scheduler_facts(utcnow(), app.config) if fact.subject == "outbox")
    assert ran.state is State.OK and "{'sent': 3}" in ran.detail
    # Every 20 s, a lease of 60 s: late once none finished for 2 × 20 s + 60 s.
    assert states(scheduler_facts(ran.value + 100 * SECOND, app.config), "scheduler.job", "outbox") == [State.OK]
    assert states(scheduler_facts(ran.value + 101 * SECOND, app.config), "scheduler.job", "outbox") == \
        [State.WARNING]

    def broken():
        raise RuntimeError("the mail server's certificate expired")
    run_job(app, Job("outbox", broken, seconds=20))
    failed = next(fact for fact in scheduler_facts(utcnow(), app.config) if fact.subject == "outbox")
    assert failed.state is State.PROBLEM and failed.detail == "RuntimeError: the mail server's certificate expired"


def test_the_monitor_round_warns_after_three_intervals_and_is_a_problem_after_ten(app, english):
    assert states(monitor_facts(T0, app.config), "monitor.round") == [State.OK]  # nothing to watch
    instance = factories.instance(factories.council())
    assert states(monitor_facts(T0, app.config), "monitor.round") == [State.WARNING]  # not watched yet
    monitor(T0, probes={instance.id: Probe(False, None, None, "timeout")})
    judged = {offset: states(monitor_facts(T0 + offset, app.config), "monitor.round")
              for offset in (6 * MINUTE, 6 * MINUTE + SECOND, 20 * MINUTE, 20 * MINUTE + SECOND)}
    assert judged == {6 * MINUTE: [State.OK], 6 * MINUTE + SECOND: [State.WARNING],
                      20 * MINUTE: [State.WARNING], 20 * MINUTE + SECOND: [State.PROBLEM]}
    assert monitor_facts(T0, app.config)[0].detail == "1 probed, 0 not answering"


def test_a_mailbox_warns_after_10_minutes_without_a_good_fetch_and_is_a_problem_after_30(app, configured_mailbox):
    name = configured_mailbox.name
    facts = mailbox_facts(T0, app.config)
    assert states(facts, "mailbox.fetched", name) == [State.WARNING]  # not fetched yet
    db.session.add(MailboxState(name=name, last_uid=3, fetched_at=T0, checked_at=T0, is_idling=True))
    db.session.commit()
    judged = {offset: (states(mailbox_facts(T0 + offset, app.config), "mailbox.fetched", name)[0],
                       states(mailbox_facts(T0 + offset, app.config), "mailbox.idle", name)[0])
              for offset in (10 * MINUTE, 10 * MINUTE + SECOND, 30 * MINUTE, 30 * MINUTE + SECOND)}
    assert judged == {10 * MINUTE: (State.OK, State.OK), 10 * MINUTE + SECOND: (State.WARNING, State.WARNING),
                      30 * MINUTE: (State.WARNING, State.WARNING), 30 * MINUTE + SECOND: (State.PROBLEM, State.WARNING)}
    idle = next(fact for fact in mailbox_facts(T0, app.config) if fact.key == "mailbox.idle")
    stale = next(fact for fact in mailbox_facts(T0 + 11 * MINUTE, app.config) if fact.key == "mailbox.idle")
    assert idle.value is True and stale.value is False  # a fetcher that stopped is not waiting in IDLE


def test_a_mailbox_polled_every_hour_is_judged_by_its_interval(app, configured_mailbox):
    app.config["IMAP_POLL_SECONDS"] = 3600
    name = app.config["IMAP_USERNAME"] + "@127.0.0.1/INBOX"
    db.session.add(MailboxState(name=name, last_uid=0, fetched_at=T0, checked_at=T0, is_idling=False))
    db.session.commit()
    assert states(mailbox_facts(T0 + 2 * timedelta(hours=1), app.config), "mailbox.fetched") == [State.OK]
    assert states(mailbox_facts(T0 + 2 * timedelta(hours=1), app.config), "mailbox.idle") == [State.OK]
    assert states(mailbox_facts(T0 + 2 * timedelta(hours=1) + SECOND, app.config), "mailbox.fetched") == \
        [State.WARNING]


def test_the_last_error_is_a_problem_until_a_fetch_works_again(app, configured_mailbox):
    name = configured_mailbox.name
    db.session.add(MailboxState(name=name, last_uid=0, fetched_at=T0, failed_at=T0 + MINUTE,
                                last_error="[AUTHENTICATIONFAILED] Authentication failed."))
    db.session.commit()
    error = next(fact for fact in mailbox_facts(T0 + MINUTE, app.config) if fact.key == "mailbox.error")
    assert (error.state, error.value) == (State.PROBLEM, "[AUTHENTICATIONFAILED] Authentication failed.")
    state = db.session.get(MailboxState, name)
    state.fetched_at = T0 + 2 * MINUTE
    db.session.commit()
    error = next(fact for fact in mailbox_facts(T0 + 2 * MINUTE, app.config) if fact.key == "mailbox.error")
    assert error.state is State.OK and error.value == "[AUTHENTICATIONFAILED] Authentication failed."


def test_no_mailbox_at_all_warns(app):
    assert states(mailbox_facts(T0, app.config), "mailbox.count") == [State.WARNING]


def test_free_space_warns_below_10_percent_and_is_a_problem_below_5(app):
    def disk(free):
        return lambda path: (1000, 1000 - free, free)
    judged = {free: states(storage_facts(T0, app.config, usage=disk(free)), "storage.free")
              for free in (100, 99, 50, 49)}
    assert judged == {100: [State.OK], 99: [State.WARNING], 50: [State.WARNING], 49: [State.PROBLEM]}
    real = storage_facts(T0, app.config)
    assert real[0].subject.endswith("attachments") and 0 <= real[0].value <= 100


def test_the_database_is_reachable_and_a_schema_behind_the_migrations_is_a_problem(app):
    facts = {fact.key: fact for fact in database_facts(T0, app.config)}
    assert facts["database.reachable"].state is facts["database.migrations"].state is State.OK
    head = facts["database.migrations"].value
    db.session.execute(text("UPDATE alembic_version SET version_num = '0010'"))
    db.session.commit()
    try:
        behind = {fact.key: fact for fact in database_facts(T0, app.config)}["database.migrations"]
        assert (behind.value, behind.state) == ("0010", State.PROBLEM)
        assert head in behind.threshold
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()


def test_collect_gives_every_group(app):
    assert {fact.group for fact in collect(T0)} == {"database", "mail_in", "mail_out", "held_mail", "scheduler",
                                                     "monitor", "storage"}
