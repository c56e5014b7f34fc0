"""Jobs of accounts: forgetting what the retention period no longer keeps."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete

from helpdesk.auth import record
from helpdesk.auth.models import AccountToken, UserSession
from helpdesk.core.models import utcnow
from helpdesk.core.scheduling import Job
from helpdesk.extensions import db


def forget_old_sign_ins(now: datetime | None = None) -> int:
    """Delete the sign-in record's lines, ended sessions and spent links older than SIGN_IN_RECORD_DAYS; how
    many record lines went."""
    now = now or utcnow()
    days = current_app.config["SIGN_IN_RECORD_DAYS"]
    before = now - timedelta(days=days)
    removed = record.forget_older_than(days, now)
    db.session.execute(delete(UserSession).where(UserSession.ended_at < before))
    db.session.execute(delete(AccountToken).where(AccountToken.expires_at < before))
    db.session.commit()
    return removed


JOBS = [Job("sign-in-record", forget_old_sign_ins, seconds=24 * 3600)]
