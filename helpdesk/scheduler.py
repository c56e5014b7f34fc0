"""The scheduler process: gathers each domain's jobs and runs them while it holds the database lease.

``helpdesk scheduler`` runs one; a second one (on this machine or another) stands by and takes over
when the first stops renewing its lease. Jobs run with ``max_instances=1`` and ``coalesce=True``.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from helpdesk.accompaniment.jobs import JOBS as ACCOMPANIMENT_JOBS
from helpdesk.auth.jobs import JOBS as AUTH_JOBS
from helpdesk.catalog.jobs import JOBS as CATALOG_JOBS
from helpdesk.core import lease
from helpdesk.core.jobs import JOBS as CORE_JOBS
from helpdesk.core.models import utcnow
from helpdesk.core.scheduling import Job
from helpdesk.extensions import db
from helpdesk.instances.jobs import JOBS as INSTANCE_JOBS
from helpdesk.operations.models import record_job_run
from helpdesk.mail.fetching import FetcherPool
from helpdesk.privacy.jobs import JOBS as PRIVACY_JOBS
from helpdesk.status.jobs import JOBS as STATUS_JOBS
from helpdesk.tickets.jobs import JOBS as TICKET_JOBS
from helpdesk.webhooks.jobs import JOBS as WEBHOOK_JOBS

log = logging.getLogger("helpdesk.scheduler")
LEASE = "scheduler"


def all_jobs() -> list[Job]:
    return [*CORE_JOBS, *AUTH_JOBS, *INSTANCE_JOBS, *TICKET_JOBS, *CATALOG_JOBS, *ACCOMPANIMENT_JOBS, *PRIVACY_JOBS,
            *WEBHOOK_JOBS, *STATUS_JOBS]


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(app: Flask, job: Job) -> None:
    """Run one job and record how it went (for the operations page), in a transaction of its own."""
    with app.app_context():
        started = utcnow()
        try:
            result = job.run()
            log.info("job %s ran: %s", job.name, result)
            is_ok, outcome = True, "" if result is None else str(result)
        except Exception as error:
            log.exception("job %s failed", job.name)
            is_ok, outcome = False, f"{error.__class__.__name__}: {error}"
        try:
            db.session.rollback()  # what the job left uncommitted is not ours to commit
            record_job_run(job.name, started, utcnow(), is_ok, outcome)
            db.session.commit()
        except Exception:
            db.session.rollback()  # the database may be what failed: the next run records again
            log.exception("could not record the run of job %s", job.name)
        finally:
            db.session.remove()


def run_once(app: Flask) -> bool:
    """Run every job once if the lease can be had; False when another scheduler holds it."""
    holder = holder_name()
    with app.app_context():
        if not lease.acquire(LEASE, holder, utcnow(), timedelta(seconds=app.config["SCHEDULER_LEASE_SECONDS"])):
            return False
    for job in all_jobs():
        run_job(app, job)
    with app.app_context():
        lease.release(LEASE, holder, utcnow())
    return True


def run_forever(app: Flask, stop: threading.Event | None = None) -> None:
    """Hold the lease and run the jobs; stand by while another process holds it."""
    stop = stop or threading.Event()
    holder = holder_name()
    duration = timedelta(seconds=app.config["SCHEDULER_LEASE_SECONDS"])
    renew_every = max(1.0, duration.total_seconds() / 3)
    scheduler: BackgroundScheduler | None = None
    fetchers = FetcherPool(app)
    log.info("scheduler %s starting (lease %ss)", holder, int(duration.total_seconds()))
    try:
        while not stop.is_set():
            with app.app_context():
                try:
                    held = lease.acquire(LEASE, holder, utcnow(), duration)
                except Exception:
                    db.session.rollback()
                    log.exception("could not reach the database to renew the lease")
                    held = False
                finally:
                    db.session.remove()
            if held and scheduler is None:
                log.info("scheduler %s holds the lease: running jobs", holder)
                scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True})
                for job in all_jobs():
                    scheduler.add_job(run_job, "interval", args=(app, job), seconds=job.interval(app.config), id=job.name,
                                      next_run_time=utcnow())
                scheduler.start()
            elif not held and scheduler is not None:
                log.warning("scheduler %s lost the lease: standing by", holder)
                scheduler.shutdown(wait=True)
                scheduler = None
                fetchers.stop_all()
            elif not held:
                log.info("scheduler %s standing by: another process holds the lease", holder)
            if held:
                try:
                    fetchers.sync()  # mailboxes added or changed in the administration screens
                except Exception:
                    log.exception("could not read the mailboxes to fetch from")
            stop.wait(renew_every)
    finally:
        fetchers.stop_all()
        if scheduler is not None:
            scheduler.shutdown(wait=True)
            with app.app_context():
                lease.release(LEASE, holder, utcnow())
        log.info("scheduler %s stopped", holder)
