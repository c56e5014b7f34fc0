"""Export benchmark: seed N tickets (about 3 messages each, with bench/inbox.py's seeding) and run
`helpdesk tickets export` as a child process in JSON and CSV, reporting tickets/s and the child's peak
resident memory (VmHWM), beside the same command's peak on the empty database. Prints JSON.

    .venv/bin/python bench/export.py                          # SQLite, 100,000 tickets
    .venv/bin/python bench/export.py --tickets 20000 --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres

--postgresql names a server (any database on it to connect to): a scratch database helpdesk_bench_export
is created there and dropped afterwards. What matters is that the peak stays flat as N grows.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.inbox import seed  # noqa: E402
from helpdesk import create_app  # noqa: E402
from helpdesk.extensions import db  # noqa: E402
from helpdesk.tickets.models import Message, Ticket  # noqa: E402

SCRATCH = "helpdesk_bench_export"


# The `helpdesk` command, reporting at exit its own peak resident memory (VmHWM). Not ru_maxrss from
# wait4: Linux carries the forking parent's high-water mark over exec, so a child of this (large, seeding)
# process would report the parent's size rather than its own.
COMMAND = """
import atexit, sys
def peak():
    with open("/proc/self/status") as status:
        sys.stderr.write(next(line for line in status if line.startswith("VmHWM:")))
atexit.register(peak)
from helpdesk.cli import main
sys.argv[0] = "helpdesk"
sys.exit(main())
"""


def export(environ: dict, format_: str, output: Path) -> dict:
    """Run `helpdesk tickets export` once in a child process; its wall time and peak resident memory."""
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", COMMAND, "tickets", "export", "--format", format_, "--output",
                             str(output)], env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"helpdesk tickets export --format {format_} failed:\n{result.stderr}")
    lines = result.stderr.strip().splitlines()
    peak_kib = int(next(line for line in lines if line.startswith("VmHWM:")).split()[1])
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(peak_kib / 1024, 1),
            "file_mib": round(output.stat().st_size / 2**20, 1),
            "summary": " ".join(line for line in lines if not line.startswith("VmHWM:"))}


def run(database_url: str, tickets: int, workdir: Path) -> dict:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    environ.update(HELPDESK_INSTANCE_PATH=str(workdir / "instance"), HELPDESK_SECRET_KEY="bench-" * 6,
                   HELPDESK_DATABASE_URL=database_url)
    app = create_app({"INSTANCE_PATH": workdir / "instance", "DATABASE_URL": database_url,
                      "SECRET_KEY": "bench-" * 6})
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    empty = {format_: export(environ, format_, workdir / f"empty.{format_}") for format_ in ("json", "csv")}
    with app.app_context():
        began = time.perf_counter()
        seed(tickets, random.Random(311))
        seeded = time.perf_counter() - began
        counts = {"tickets": db.session.scalar(select(func.count(Ticket.id))),
                  "messages": db.session.scalar(select(func.count(Message.id)))}
        db.session.remove()
        db.engine.dispose()
    result = {"database": database_url.split(":")[0], **counts, "seed_seconds": round(seeded, 1)}
    for format_ in ("json", "csv"):
        figures = export(environ, format_, workdir / f"tickets.{format_}")
        figures["tickets_per_second"] = round(counts["tickets"] / figures["seconds"])
        # The same command on the empty database: the app's own start-up time and memory.
        figures["empty_database_seconds"] = empty[format_]["seconds"]
        figures["empty_database_peak_rss_mib"] = empty[format_]["peak_rss_mib"]
        result[format_] = figures
        (workdir / f"tickets.{format_}").unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--postgresql", metavar="URL", help="a PostgreSQL server to run on as well")
    arguments = parser.parse_args()
    # An installed desk has its bytecode; a checkout run with PYTHONDONTWRITEBYTECODE would compile every start.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "helpdesk")], check=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="helpdesk-export-") as workdir:
        path = Path(workdir) / "sqlite"
        path.mkdir()
        results.append(run(f"sqlite:///{path / 'bench.sqlite3'}", arguments.tickets, path))
        if arguments.postgresql:
            admin = create_engine(arguments.postgresql, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)"))
                connection.execute(text(f"CREATE DATABASE {SCRATCH}"))
            try:
                path = Path(workdir) / "postgresql"
                path.mkdir()
                url = make_url(arguments.postgresql).set(database=SCRATCH).render_as_string(hide_password=False)
                results.append(run(url, arguments.tickets, path))
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)"))
                admin.dispose()
    print(json.dumps({"benchmark": "export", "results": results}, indent=2))


if __name__ == "__main__":
    main()
