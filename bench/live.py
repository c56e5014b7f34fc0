"""Live desk benchmark: the delay from a commit to the browser, with 50 inbox pages open.

    .venv/bin/python bench/live.py [--pages 50] [--changes 10] [--database sqlite|postgresql]
                                   [--server development|gunicorn] [--workers 2]

It makes a scratch desk (SQLite in a temporary folder, or a scratch PostgreSQL database helpdesk_bench_live on
127.0.0.1), serves it with the threaded development server or with gunicorn's workers (``pip install
gunicorn``: each worker its own process, so a change written in one reaches pages served by the other), opens N inbox pages in headless chromium (one
agent, the pages of one browser), then opens a ticket at a time in this process, as another worker or the mail
intake would, commits, and waits until every page shows it. Each page notes, in the page itself, the instant
the ticket's row appeared (a MutationObserver), so the figure is the page's, not the time this script took to
look. Prints JSON: per change the slowest page, and over all pages and changes p50, p95 and max, in ms.
Target (issue #18): every open page within 3 s.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

PASSWORD = "Bench-Password-311"
CHROMIUM = "/usr/bin/chromium"
OBSERVE = """(subject) => { window.__seen = new Promise((resolve) => {
  const found = () => [...document.querySelectorAll("table.inbox a")].some((a) => a.textContent.trim().endsWith(subject));  // after "Unread:"
  if (found()) return resolve(Date.now());
  new MutationObserver((_, observer) => {
    if (found()) { observer.disconnect(); resolve(Date.now()); }
  }).observe(document.body, { childList: true, subtree: true });
}); }"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--server", choices=("development", "gunicorn"), default="development")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn's worker processes")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-live-"))
    admin_url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    if args.database == "postgresql":
        url = "postgresql+psycopg://postgres@127.0.0.1:5432/helpdesk_bench_live"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS helpdesk_bench_live WITH (FORCE)"))
            connection.execute(text("CREATE DATABASE helpdesk_bench_live"))
    else:
        url = f"sqlite:///{scratch / 'live.sqlite3'}"
    port = free_port()
    env = {**os.environ, "HELPDESK_INSTANCE_PATH": str(scratch), "HELPDESK_DATABASE_URL": url,
           "HELPDESK_SECRET_KEY": "bench-live-secret-key-0123456789", "HELPDESK_SESSION_COOKIE_SECURE": "false",
           "HELPDESK_SECOND_FACTOR_ROLES": "", "HELPDESK_SMTP_HOST": ""}
    os.environ.update(env)
    helpdesk = str(Path(sys.executable).parent / "helpdesk")
    subprocess.run([helpdesk, "db", "upgrade"], check=True, capture_output=True, env=env)
    from helpdesk import create_app
    from helpdesk.auth.models import Role
    from helpdesk.auth.services import create_user
    from helpdesk.core.models import utcnow
    from helpdesk.extensions import db
    from helpdesk.tickets.services import TicketData, open_ticket
    from helpdesk.tickets.states import Channel
    app = create_app()
    with app.app_context():
        create_user(None, email="agent@bench.example", name="Agent", role=Role.AGENT, password=PASSWORD)
        db.session.commit()
    if args.server == "gunicorn":
        command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(args.workers), "--threads", "4",
                   "--bind", f"127.0.0.1:{port}", "helpdesk.wsgi:app"]
    else:
        command = [helpdesk, "run", "--port", str(port), "--with-threads"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    delays: list[float] = []
    slowest: list[float] = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        from playwright.sync_api import sync_playwright
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"])
            context = browser.new_context()
            first = context.new_page()
            first.goto(f"{base}/login")
            first.fill("#email", "agent@bench.example")
            first.fill("#password", PASSWORD)
            first.click("button.primary")
            first.wait_for_load_state()
            if "/login" in first.url:
                raise SystemExit(f"could not sign in: {first.url}")
            pages = [first] + [context.new_page() for _ in range(args.pages - 1)]
            for page in pages:
                page.goto(f"{base}/inbox?view=all")
            time.sleep(3)  # every page has asked once
            print(f"{len(pages)} pages open at {pages[-1].url}", file=sys.stderr)
            with app.app_context():
                for number in range(args.changes):
                    subject = f"Consulta en directe {number}"
                    for page in pages:
                        page.evaluate(OBSERVE, subject)
                    open_ticket(None, TicketData(subject=subject, body="Bon dia.", channel=Channel.EMAIL), utcnow())
                    db.session.commit()
                    committed = time.time() * 1000
                    seen = [page.evaluate("() => window.__seen") for page in pages]
                    print(f"change {number}: seen by every page", file=sys.stderr)
                    page_delays = [max(0.0, when - committed) for when in seen]
                    delays.extend(page_delays)
                    slowest.append(max(page_delays))
                    time.sleep(0.5)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    ordered = sorted(delays)
    print(json.dumps({
        "database": args.database, "server": args.server if args.server == "development" else
        f"gunicorn, {args.workers} workers", "pages": args.pages, "changes": args.changes,
        "delay_ms": {"p50": round(statistics.median(ordered)), "p95": round(ordered[int(len(ordered) * 0.95) - 1]),
                     "max": round(ordered[-1])},
        "slowest_page_per_change_ms": [round(value) for value in slowest],
        "target_ms": 3000, "met": ordered[-1] <= 3000,
    }, indent=2))
    if args.database == "postgresql":
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS helpdesk_bench_live WITH (FORCE)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
