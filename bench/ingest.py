"""Mail ingestion benchmark: N realistic Catalan support messages (text and HTML, accents, 30 % replies
with In-Reply-To/References, some attachments) imported with `helpdesk mail import`, timed as the whole
command, on SQLite and PostgreSQL. Prints JSON, with a check that every reply landed on its ticket.

    .venv/bin/python bench/ingest.py [--messages 2000] [--database sqlite|postgresql|both] [--growth]

Targets (issue #16): at least 400 messages/s on SQLite and 350 on PostgreSQL for 2,000 messages (aim: 600
on SQLite). With --growth, 50,000 messages are imported into one database in ten commands of 5,000 (in
arrival order, replies threading across them) and each tenth's rate is printed: the last tenth's must be
at least 80 % of the first's (the cost of a message must not grow with the database).
"""
from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
HELPDESK = str(Path(sys.executable).parent / "helpdesk")
TOWNS = ("vic", "manresa", "mataro", "granollers", "terrassa", "sabadell", "igualada", "berga", "calella", "sitges")
SUBJECTS = ("No puc canviar el logotip de la plataforma", "Error en carregar els pressupostos participatius",
            "Dubte sobre la inscripció de menors de 14 anys", "Com configurem el registre obligatori?",
            "Consulta sobre la renovació de la sol·licitud", "Problema amb les accions del procés participatiu",
            "La traducció al castellà no es veu", "Volem activar el mòdul de trobades")
SENTENCES = ("Bon dia, us escrivim des de l'ajuntament.", "Hem provat de fer-ho des del tauler d'administració.",
             "Adjuntem una captura de pantalla amb l'error.", "Ens caldria tenir-ho resolt abans de dijous.",
             "La tècnica de participació és fora aquesta setmana.", "Moltes gràcies per l'ajuda, com sempre.",
             "El procés s'ha d'obrir a la ciutadania el mes vinent.", "No sabem si és un problema de permisos.")


def generate(count: int, folder: Path, rng: random.Random) -> int:
    """Write the messages as .eml files (in name order = arrival order); return how many are replies."""
    originals, replies = [], 0
    for number in range(count):
        town = rng.choice(TOWNS)
        message = EmailMessage()
        message["From"] = f"Persona {number % 97} <persona{number % 97}@{town}.cat>"
        message["To"] = "suportparticipa311@diba.cat"
        message["Message-ID"] = f"<bench.{number}.{rng.getrandbits(40):x}@{town}.cat>"
        message["Date"] = "Mon, 23 Nov 2026 10:00:00 +0100"
        body = " ".join(rng.sample(SENTENCES, 4))
        if originals and rng.random() < 0.3:
            parent_id, parent_subject = rng.choice(originals)
            message["Subject"] = f"Re: {parent_subject}"
            message["In-Reply-To"] = parent_id
            message["References"] = parent_id
            replies += 1
        else:
            subject = f"{rng.choice(SUBJECTS)} ({number})"
            message["Subject"] = subject
            originals.append((message["Message-ID"], subject))
        message.set_content(body)
        message.add_alternative(f"<p>{body}</p><p><b>Ajuntament de {town.title()}</b></p>", subtype="html")
        if rng.random() < 0.1:
            message.add_attachment(rng.randbytes(20_000), maintype="application", subtype="pdf",
                                   filename=f"acta-{number}.pdf")
        (folder / f"{number:07d}.eml").write_bytes(message.as_bytes())
    return replies


def run(database_url: str, count: int, workdir: Path, tenths: bool = False) -> dict:
    mail_dir = workdir / "mail"
    mail_dir.mkdir()
    replies = generate(count, mail_dir, random.Random(311))
    folders = [mail_dir]
    if tenths:  # ten folders of consecutive messages, imported one after the other into the same database
        files = sorted(mail_dir.iterdir())
        folders = [workdir / f"tenth-{tenth}" for tenth in range(10)]
        for tenth, folder in enumerate(folders):
            folder.mkdir()
            for path in files[tenth * len(files) // 10:(tenth + 1) * len(files) // 10]:
                path.rename(folder / path.name)
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    environ.update(HELPDESK_INSTANCE_PATH=str(workdir / "instance"), HELPDESK_SECRET_KEY="bench-" * 6,
                   HELPDESK_DATABASE_URL=database_url)
    subprocess.run([HELPDESK, "db", "upgrade"], env=environ, check=True, capture_output=True)
    # An installed desk has its bytecode; a checkout run with PYTHONDONTWRITEBYTECODE would compile every start.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "helpdesk")], check=True)
    rates, seconds, summary = [], 0.0, ""
    for folder in folders:
        began = time.perf_counter()
        result = subprocess.run([HELPDESK, "mail", "import", str(folder)], env=environ, check=True,
                                capture_output=True, text=True)
        took = time.perf_counter() - began
        seconds += took
        rates.append(round(sum(1 for _ in folder.iterdir()) / took, 1))
        summary = result.stdout.strip()
    engine = create_engine(database_url)
    with engine.connect() as connection:
        tickets = connection.execute(text("SELECT count(*) FROM tickets")).scalar()
        inbound = connection.execute(text("SELECT count(*) FROM messages WHERE kind = 'inbound'")).scalar()
    engine.dispose()
    figures = {"database": database_url.split(":")[0], "messages": count, "seconds": round(seconds, 2),
               "messages_per_second": round(count / seconds, 1), "summary": summary,
               "threading_correct": tickets == count - replies and inbound == count,
               "tickets": tickets, "replies": replies}
    if tenths:
        figures.update(rate_by_tenth=rates, last_tenth_of_first=round(rates[-1] / rates[0], 2))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--growth", action="store_true",
                        help="50,000 messages (unless --messages says otherwise) in ten imports; the rate of each")
    arguments = parser.parse_args()
    if arguments.growth and arguments.messages == parser.get_default("messages"):
        arguments.messages = 50_000
    results = []
    with tempfile.TemporaryDirectory(prefix="helpdesk-ingest-") as workdir:
        if arguments.database in ("sqlite", "both"):
            path = Path(workdir) / "sqlite"
            path.mkdir()
            results.append(run(f"sqlite:///{path / 'bench.sqlite3'}", arguments.messages, path, arguments.growth))
        if arguments.database in ("postgresql", "both"):
            admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as connection:
                    connection.execute(text("DROP DATABASE IF EXISTS helpdesk_ingest WITH (FORCE)"))
                    connection.execute(text("CREATE DATABASE helpdesk_ingest"))
                path = Path(workdir) / "postgresql"
                path.mkdir()
                results.append(run("postgresql+psycopg://postgres@127.0.0.1:5432/helpdesk_ingest",
                                   arguments.messages, path, arguments.growth))
                with admin.connect() as connection:
                    connection.execute(text("DROP DATABASE IF EXISTS helpdesk_ingest WITH (FORCE)"))
            except Exception as error:  # noqa: BLE001 - no PostgreSQL here: report SQLite only
                print(f"PostgreSQL skipped: {error.__class__.__name__}: {error}", file=sys.stderr)
            admin.dispose()
    print(json.dumps({"benchmark": "ingest", "sqlite_version": sqlite3.sqlite_version,
                      "yardstick_seconds": yardstick(), "results": results}, indent=2))


def yardstick() -> float:
    """Seconds to parse 2,000 of these messages with the standard library alone, in one process: this
    machine's speed drifts by half within a session, so figures are compared with this beside them."""
    with tempfile.TemporaryDirectory(prefix="helpdesk-yardstick-") as folder:
        generate(2000, Path(folder), random.Random(311))
        raws = [path.read_bytes() for path in sorted(Path(folder).iterdir())]
    began = time.perf_counter()
    for raw in raws:
        email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",))
    return round(time.perf_counter() - began, 2)


if __name__ == "__main__":
    main()
