"""Smoke test of a production-like run: gunicorn with two workers and the scheduler on one PostgreSQL database.

    python tools/smoke_gunicorn.py [POSTGRESQL_URL]

The URL (or ``HELPDESK_TEST_DATABASE_URL``) names a server and a database that exists there; the test creates a
scratch database beside it, runs ``helpdesk db upgrade`` and ``helpdesk demo`` on it, starts ``helpdesk scheduler``
and ``gunicorn --workers 2`` (gthread, on a free loopback port), then, over HTTP as a browser would: the demo
agent signs in, opens the inbox and a ticket, replies with the page's CSRF token, and reads the ticket again until
both workers have shown the reply; the demo council user signs in and opens its tickets and its platform's status;
``/health`` names the scheduler as leader. Every answer must be below 500, and the logs of gunicorn and the scheduler
free of tracebacks. Exits 0 with one line of summary, or 1 naming the step that failed. The scratch database and
the instance folder are removed at the end, also on failure.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
MAX_READS = 60  # reads of the replied ticket before giving up on seeing both workers answer
# (e-mail, password) of the demo users, as helpdesk/demo.py seeds them
DEMO_AGENT = ("agent@demo.participa311.cat", "Agent-Demo-311")
DEMO_COUNCIL_USER = ("referent@vic.cat", "Vic-Demo-311")
# What gunicorn writes for each request: the worker's pid (as <pid>), the status and the request line.
ACCESS_FORMAT = '%(p)s %(s)s "%(r)s"'
ACCESS_LINE = re.compile(r'^<(?P<pid>\d+)> (?P<status>\d{3}) "(?P<method>[A-Z]+) (?P<target>\S+)')


class StepFailed(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step, self.detail = step, detail


class Smoke:
    """One run: the scratch database, the processes, the HTTP clients, and the step being run."""

    def __init__(self, server_url: URL) -> None:
        self.server_url = server_url
        self.database = f"helpdesk_smoke_{os.getpid()}_{secrets.token_hex(3)}"
        self.url = server_url.set(database=self.database)
        self.folder = Path(tempfile.mkdtemp(prefix="helpdesk-smoke-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.health_token = secrets.token_urlsafe(32)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.step = "start"
        self.requests = 0
        self.env = {
            **os.environ,
            "HELPDESK_DATABASE_URL": self.url.render_as_string(hide_password=False),
            "HELPDESK_INSTANCE_PATH": str(self.folder / "instance"),
            "HELPDESK_SECRET_KEY": secrets.token_urlsafe(32),
            "HELPDESK_SESSION_COOKIE_SECURE": "false",  # plain HTTP on loopback
            "HELPDESK_SECOND_FACTOR_ROLES": "",  # nobody is asked for a second factor in this run
            "HELPDESK_HEALTH_TOKEN": self.health_token,
            "HELPDESK_SMTP_HOST": "",  # outgoing mail waits in the outbox
            "HELPDESK_IMAP_HOST": "",
            "HELPDESK_DECIDIM_TIMEOUT_SECONDS": "2",  # the demo platforms' addresses do not answer from here
            "HELPDESK_MONITOR_TIMEOUT_SECONDS": "2",
        }
        self.env.pop("HELPDESK_BASE_URL", None)

    # -- the scratch database -----------------------------------------------------------------------------------
    def _admin(self) -> Any:
        return create_engine(self.server_url, isolation_level="AUTOCOMMIT")

    def create_database(self) -> None:
        engine = self._admin()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.database}"'))
        finally:
            engine.dispose()

    def drop_database(self) -> None:
        engine = self._admin()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        finally:
            engine.dispose()

    # -- processes ----------------------------------------------------------------------------------------------
    def command(self, *arguments: str) -> None:
        done = subprocess.run([str(BIN / "helpdesk"), *arguments], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            raise StepFailed(self.step, f"`helpdesk {' '.join(arguments)}` exited {done.returncode}: "
                                        f"{tail(done.stderr or done.stdout)}")

    def start(self, name: str, arguments: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")
        try:
            process = subprocess.Popen(arguments, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()  # the child has its own copy
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def check_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StepFailed(self.step, f"{name} exited with status {process.returncode}: {tail(self.log(name))}")

    # -- HTTP ---------------------------------------------------------------------------------------------------
    def client(self) -> httpx.Client:
        # No keep-alive: each request is a new connection, which either worker may accept.
        return httpx.Client(base_url=self.base, timeout=30, follow_redirects=False, trust_env=False,
                            limits=httpx.Limits(max_keepalive_connections=0))

    def get(self, client: httpx.Client, path: str, expect: int = 200, **kwargs: Any) -> httpx.Response:
        return self.expect(client.get(path, **kwargs), expect)

    def post(self, client: httpx.Client, path: str, data: dict[str, str], expect: int = 302) -> httpx.Response:
        return self.expect(client.post(path, data=data), expect)

    def expect(self, response: httpx.Response, status: int) -> httpx.Response:
        self.requests += 1
        if response.status_code != status:
            raise StepFailed(self.step, f"{response.request.method} {response.request.url.raw_path.decode()} "
                                        f"answered {response.status_code}, expected {status}")
        return response

    def sign_in(self, client: httpx.Client, email: str, password: str) -> None:
        page = self.get(client, "/login")
        answer = self.post(client, "/login", {"csrf_token": csrf_token(page.text, "csrf_token"), "email": email,
                                              "password": password, "next": ""})
        if "/login" in answer.headers.get("location", ""):
            raise StepFailed(self.step, f"{email} was sent back to the sign-in page")

    def access_log(self, markers: set[str]) -> list[dict[str, str]]:
        """gunicorn's access log, once every marked request is in it (a worker writes its line after answering)."""
        lines: list[dict[str, str]] = []
        for _ in range(50):
            lines = [match.groupdict() for line in self.log("access").splitlines()
                     if (match := ACCESS_LINE.match(line))]
            if markers <= {line["target"] for line in lines}:
                return lines
            time.sleep(0.1)
        missing = markers - {line["target"] for line in lines}
        raise StepFailed(self.step, f"gunicorn's access log lacks {len(missing)} request(s), e.g. {min(missing)}")

    @contextlib.contextmanager
    def running(self, step: str) -> Iterator[None]:
        self.step = step
        yield
        self.check_running()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tail(output: str, lines: int = 15) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])


def csrf_token(html: str, name: str) -> str:
    """The value of the hidden input ``name`` (Flask-WTF's CSRF token, prefixed as the form is)."""
    for tag in re.findall(r"<input\b[^>]*>", html):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            value = re.search(r'\bvalue="([^"]*)"', tag)
            if value:
                return unescape(value.group(1))
    raise LookupError(f"no input named {name} on the page")


def hidden_value(html: str, name: str) -> str:
    try:
        return csrf_token(html, name)
    except LookupError:
        return ""


def ticket_numbers(html: str) -> list[int]:
    return list(dict.fromkeys(int(number) for number in re.findall(r'href="/tickets/(\d+)"', html)))


def wait_until_serving(smoke: Smoke) -> None:
    deadline = time.monotonic() + 60
    with smoke.client() as client:
        while time.monotonic() < deadline:
            smoke.check_running()
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise StepFailed(smoke.step, f"gunicorn did not answer /healthz within 60 s: {tail(smoke.log('gunicorn'))}")


def run(smoke: Smoke) -> str:
    with smoke.running("create the scratch database"):
        smoke.create_database()
    with smoke.running("helpdesk db upgrade"):
        smoke.command("db", "upgrade")
    with smoke.running("helpdesk demo"):
        smoke.command("demo")
    with smoke.running("start the scheduler"):
        scheduler = smoke.start("scheduler", [str(BIN / "helpdesk"), "scheduler"])
    with smoke.running("start gunicorn"):
        smoke.start("gunicorn", [
            str(BIN / "gunicorn"), "--workers", str(WORKERS), "--worker-class", "gthread", "--threads", "2",
            "--bind", f"127.0.0.1:{smoke.port}", "--access-logfile", str(smoke.folder / "access.log"),
            "--access-logformat", ACCESS_FORMAT, "--graceful-timeout", "10",
            "helpdesk.wsgi:app"])
        wait_until_serving(smoke)

    agent = smoke.client()
    council = smoke.client()
    try:
        with smoke.running("agent signs in"):
            smoke.sign_in(agent, *DEMO_AGENT)
        with smoke.running("agent opens the inbox"):
            inbox = smoke.get(agent, "/inbox", params={"view": "all"})
            numbers = ticket_numbers(inbox.text)
            if not numbers:
                raise StepFailed(smoke.step, "the inbox lists no ticket")
            number = numbers[0]
        with smoke.running(f"agent opens ticket #{number}"):
            page = smoke.get(agent, f"/tickets/{number}")
        with smoke.running(f"agent replies to ticket #{number}"):
            reply = f"Smoke test reply {secrets.token_hex(6)}"
            answer = smoke.post(agent, f"/tickets/{number}/reply", {
                "reply-csrf_token": csrf_token(page.text, "reply-csrf_token"), "seen": hidden_value(page.text, "seen"),
                "reply-body": reply, "reply-then": ""})
            if f"/tickets/{number}" not in answer.headers.get("location", ""):
                raise StepFailed(smoke.step, f"the reply led to {answer.headers.get('location')!r}")
        with smoke.running(f"both workers show the reply on ticket #{number}"):
            markers: set[str] = set()
            answered_by: dict[str, str] = {}
            for read in range(1, MAX_READS + 1):
                marker = f"/tickets/{number}?smoke={read}"
                markers.add(marker)
                if reply not in smoke.get(agent, marker).text:
                    raise StepFailed(smoke.step, f"read {read} of the ticket does not show the reply")
                if read >= 20 and read % 10 == 0:
                    answered_by = {line["target"]: line["pid"] for line in smoke.access_log(markers)}
                    if len(set(answered_by.values())) >= WORKERS:
                        break
            else:
                raise StepFailed(smoke.step, f"{MAX_READS} reads all answered by worker {set(answered_by.values())}")
            reads = Counter(answered_by[marker] for marker in markers)
        with smoke.running("council user signs in"):
            smoke.sign_in(council, *DEMO_COUNCIL_USER)
        with smoke.running("council user opens its tickets"):
            own = ticket_numbers(smoke.get(council, "/tickets").text)
            if not own:
                raise StepFailed(smoke.step, "the council's list shows no ticket")
            smoke.get(council, f"/tickets/{own[0]}")
        with smoke.running("council user opens its platform's status"):
            own_status = smoke.get(council, "/status", expect=302).headers.get("location", "")
            if not re.fullmatch(r"/councils/\d+/status", own_status):
                raise StepFailed(smoke.step, f"/status led to {own_status!r}, not the council's status page")
            smoke.get(council, own_status)
        with smoke.running("/health"):
            smoke.get(council, "/health", expect=401)  # the token, not a session, opens it
            leader = scheduler_leader(smoke, agent, scheduler.pid)
    finally:
        agent.close()
        council.close()

    with smoke.running("no server error in the logs"):
        lines = smoke.access_log(set())
        errors = [line for line in lines if line["status"].startswith("5")]
        if errors:
            first = errors[0]
            raise StepFailed(smoke.step, f"{len(errors)} answer(s) 5xx, e.g. {first['method']} {first['target']}")
        for name in ("gunicorn", "scheduler"):
            if "Traceback" in smoke.log(name):
                raise StepFailed(smoke.step, f"a traceback in {name}'s log:\n{tail(smoke.log(name), 30)}")
        post = [line["pid"] for line in lines
                if line["method"] == "POST" and line["target"] == f"/tickets/{number}/reply"]
    workers = ", ".join(f"pid {pid}: {count}" for pid, count in sorted(reads.items()))
    return (f"smoke test passed: {smoke.requests} requests through gunicorn ({WORKERS} gthread workers) on "
            f"PostgreSQL; reply to #{number} written by worker {post[0] if post else '?'} and read back by each "
            f"worker ({workers}); scheduler pid {scheduler.pid} leading ({leader}); 0 server errors")


def scheduler_leader(smoke: Smoke, client: httpx.Client, pid: int) -> str:
    """The leader /health names, once the scheduler started beside gunicorn holds the lease."""
    deadline = time.monotonic() + 30
    leader: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = smoke.get(client, "/health", headers={"Authorization": f"Bearer {smoke.health_token}"})
        facts = answer.json()["facts"]
        leader = next((fact for fact in facts if fact["key"] == "scheduler.leader"), {})
        if str(leader.get("value", "")).endswith(f":{pid}") and leader.get("state") == "ok":
            return str(leader["value"])
        time.sleep(0.5)
    raise StepFailed(smoke.step, f"the scheduler (pid {pid}) is not the leader /health names: {leader}")


def main(argv: list[str]) -> int:
    given = argv[1] if len(argv) > 1 else os.environ.get("HELPDESK_TEST_DATABASE_URL", "")
    if not given:
        print("usage: smoke_gunicorn.py POSTGRESQL_URL (or set HELPDESK_TEST_DATABASE_URL)", file=sys.stderr)
        return 2
    url = make_url(given)
    if not url.drivername.startswith("postgresql"):
        print(f"smoke test needs PostgreSQL, got {url.drivername}", file=sys.stderr)
        return 2
    smoke = Smoke(url)

    def stopped(*_: object) -> None:
        # A TERM (CI cancelled) unwinds through the finally below, so the scratch database is dropped.
        print(f"smoke test stopped at step '{smoke.step}' (SIGTERM)", file=sys.stderr)
        sys.exit(1)

    signal.signal(signal.SIGTERM, stopped)
    try:
        print(run(smoke))
        return 0
    except StepFailed as failure:
        print(f"smoke test failed at step '{failure.step}': {failure.detail}", file=sys.stderr)
        return 1
    except Exception as error:
        print(f"smoke test failed at step '{smoke.step}': {error.__class__.__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        smoke.stop_all()
        try:
            smoke.drop_database()
        except Exception as error:
            print(f"could not drop the scratch database {smoke.database}: {error}", file=sys.stderr)
        shutil.rmtree(smoke.folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
