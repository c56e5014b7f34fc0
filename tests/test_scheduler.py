"""The scheduler: two real `helpdesk scheduler` processes share the database; one runs the jobs, the
other stands by and takes over when the first dies."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from helpdesk.core.lease import Lease
from helpdesk.extensions import db
from tests.conftest import SECRET_KEY

HELPDESK = str(Path(sys.executable).parent / "helpdesk")
LEASE_SECONDS = 6


def start(app, tmp_path, name):
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    environ.update(HELPDESK_INSTANCE_PATH=str(tmp_path / name), HELPDESK_SECRET_KEY=SECRET_KEY,
                   HELPDESK_DATABASE_URL=app.config["DATABASE_URL"],
                   HELPDESK_SCHEDULER_LEASE_SECONDS=str(LEASE_SECONDS))
    with (tmp_path / f"{name}.log").open("w") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([HELPDESK, "scheduler"], stdout=log, stderr=subprocess.STDOUT, env=environ)
    return process, tmp_path / f"{name}.log"


def holder():
    db.session.remove()
    lease = db.session.scalar(select(Lease).where(Lease.name == "scheduler"))
    return lease.holder if lease else None


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_one_scheduler_runs_the_jobs_and_the_standby_takes_over(app, tmp_path):
    first, first_log = start(app, tmp_path, "first")
    second = None
    try:
        assert wait_for(lambda: (holder() or "").endswith(f":{first.pid}"), 20), first_log.read_text()
        assert wait_for(lambda: "job outbox ran" in first_log.read_text(), 20), first_log.read_text()
        second, second_log = start(app, tmp_path, "second")
        assert wait_for(lambda: "standing by" in second_log.read_text(), 20), second_log.read_text()
        time.sleep(LEASE_SECONDS)  # a whole lease later the first still holds it: it keeps renewing
        assert holder().endswith(f":{first.pid}")
        assert "job " not in second_log.read_text()  # the standby ran nothing
        first.send_signal(signal.SIGKILL)  # dies without releasing the lease
        first.wait(10)
        assert wait_for(lambda: holder().endswith(f":{second.pid}"), LEASE_SECONDS * 3), second_log.read_text()
        assert wait_for(lambda: "job outbox ran" in second_log.read_text(), 20), second_log.read_text()
        second.send_signal(signal.SIGTERM)  # a clean stop gives the lease back
        assert second.wait(20) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
