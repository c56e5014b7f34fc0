"""What the scheduler records of each job's last run, so that the operations page can say it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.core.models import UTCDateTime
from helpdesk.extensions import db


class JobRun(db.Model):
    """The last run of one scheduler job (one row a job, overwritten by each run)."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    is_ok: Mapped[bool]
    result: Mapped[str] = mapped_column(Text, default="")  # what the job returned, or the error's text


def record_job_run(name: str, started_at: datetime, finished_at: datetime, is_ok: bool, result: str) -> JobRun:
    """Note a job's run in place of the one before; flushes, the caller commits."""
    run = db.session.get(JobRun, name) or JobRun(name=name)
    run.started_at, run.finished_at, run.is_ok, run.result = started_at, finished_at, is_ok, result[:2000]
    db.session.add(run)
    db.session.flush()
    return run
