"""`helpdesk status` as an operator runs it: each fact with its state and threshold; exit 1 on a problem."""
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from helpdesk.core import lease
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.operations.models import record_job_run
from helpdesk.scheduler import LEASE, all_jobs
from tests.conftest import SECRET_KEY

HELPDESK = str(Path(sys.executable).parent / "helpdesk")


@pytest.fixture
def status(app, tmp_path):
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    environ.update(HELPDESK_INSTANCE_PATH=str(tmp_path / "cli-instance"), HELPDESK_SECRET_KEY=SECRET_KEY,
                   HELPDESK_DATABASE_URL=app.config["DATABASE_URL"])

    def run(*arguments):
        db.session.remove()
        return subprocess.run([HELPDESK, "status", *arguments], capture_output=True, text=True, timeout=120,
                              env=environ, check=False)
    return run


def a_running_scheduler():
    now = utcnow()
    assert lease.acquire(LEASE, "desk1:42", now, timedelta(seconds=60))
    for job in all_jobs():
        record_job_run(job.name, now, now, True, "")
    db.session.commit()


def test_a_problem_exits_1_and_says_which(status):
    result = status()
    assert result.returncode == 1, result.stderr
    assert "PROBLEM  Scheduler · Leader: — (no scheduler has run yet) [problem when no scheduler holds the lease]" \
        in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "Overall: problem"


def test_warnings_alone_exit_0(status):
    a_running_scheduler()
    result = status()
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert "WARNING  Mail in · Mailboxes: 0 [warning when there is none: no mail is fetched]" in lines
    assert any(line.startswith("OK       Scheduler · Leader: desk1:42") for line in lines)
    assert any(line.startswith("OK       Database · Schema at the migrations' head: ") for line in lines)
    assert lines[-1] == "Overall: warning"


def test_json_carries_the_facts_and_the_same_exit_status(status):
    a_running_scheduler()
    result = status("--json")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["healthy"] is True and report["status"] == "warning"
    assert report["issues"] == ["Warning: Mail in · Mailboxes: 0"]
    jobs = [fact for fact in report["facts"] if fact["key"] == "scheduler.job"]
    assert sorted(fact["subject"] for fact in jobs) == sorted(job.name for job in all_jobs())
    assert all(fact["state"] == "ok" for fact in jobs)


def test_a_scheduler_round_records_each_job_s_run(app, status, tmp_path):
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    environ.update(HELPDESK_INSTANCE_PATH=str(tmp_path / "cli-instance"), HELPDESK_SECRET_KEY=SECRET_KEY,
                   HELPDESK_DATABASE_URL=app.config["DATABASE_URL"])
    ran = subprocess.run([HELPDESK, "scheduler", "--once"], capture_output=True, text=True, timeout=120, env=environ,
                         check=False)
    assert ran.returncode == 0, ran.stderr
    report = json.loads(status("--json").stdout)
    jobs = {fact["subject"]: fact for fact in report["facts"] if fact["key"] == "scheduler.job"}
    assert set(jobs) == {job.name for job in all_jobs()}
    assert all(fact["state"] == "ok" and fact["value"] for fact in jobs.values()), jobs
    assert jobs["outbox"]["detail"].startswith("sent 0, deferred 0, failed 0, uncertain 0")
