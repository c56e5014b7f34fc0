"""Inbox benchmark: seed N tickets (3 messages each on average) and time, through the app, the inbox's
first page, a filtered view, a ticket page and a full-text search. Prints JSON.

    .venv/bin/python bench/inbox.py                      # SQLite, and PostgreSQL if it answers
    .venv/bin/python bench/inbox.py --tickets 20000 --database sqlite

PostgreSQL: HELPDESK_BENCH_DATABASE_URL, else a scratch database helpdesk_bench on 127.0.0.1 (created
and dropped here). Targets (issue #3): inbox first page p95 < 50 ms, search p95 < 150 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import flask_migrate  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from helpdesk import create_app  # noqa: E402
from helpdesk.auth.models import Role, User  # noqa: E402
from helpdesk.auth.services import create_user  # noqa: E402
from helpdesk.core import search  # noqa: E402
from helpdesk.councils.models import Council  # noqa: E402
from helpdesk.extensions import db  # noqa: E402
from helpdesk.instances.models import PlatformInstance  # noqa: E402
from helpdesk.tickets.models import Message, Ticket  # noqa: E402

PASSWORD = "Bench-Password-311"
TOWNS = ("Vic", "Manresa", "Mataró", "Granollers", "Terrassa", "Sabadell", "Igualada", "Berga", "Calella",
         "Sitges", "Vilanova i la Geltrú", "Martorell", "Cardedeu", "Olesa de Montserrat", "Sant Cugat del Vallès",
         "Rubí", "Manlleu", "Tona", "Torelló", "Centelles", "Arenys de Mar", "Premià de Mar", "Molins de Rei")
TOPICS = ("el logotip de la plataforma", "els pressupostos participatius", "la inscripció de menors de 14 anys",
          "el registre obligatori", "les accions del procés participatiu", "la renovació de la sol·licitud",
          "el codi ètic i el contracte social", "la formació per a administradors", "les enquestes",
          "la traducció al castellà", "l'error 500 en obrir les propostes", "el mòdul de trobades",
          "el canvi d'adreça URL", "la versió de Decidim", "els resultats de la votació", "el consell d'infants")
OPENINGS = ("Bon dia, tenim un dubte sobre", "Hola, no funciona", "Us escrivim per", "Necessitem ajuda amb",
            "Ens podeu explicar com configurar", "Des d'ahir falla", "Volem activar", "Com podem canviar")
REPLIES = ("Gràcies pel missatge. Ho estem revisant i us direm alguna cosa aviat.",
           "Ho hem provat i ja funciona. Ens confirmeu si també us va bé?",
           "Podeu fer-ho des del tauler d'administració, a l'apartat de configuració.",
           "Us hem enviat la guia pas a pas per correu.")
FILLER = ("La plataforma és molt útil per al municipi però encara hi ha coses a millorar.",
          "Hem revisat la documentació i no hem trobat la resposta.",
          "La tècnica de participació no hi és aquesta setmana.",
          "Adjuntem una captura de pantalla amb el missatge d'error.",
          "El procés s'ha d'obrir a la ciutadania abans de final de mes.")


def seed(tickets: int, rng: random.Random) -> None:
    """Bulk-insert councils, instances, users, tickets, messages and the search index."""
    councils = [{"name": f"Ajuntament de {TOWNS[n % len(TOWNS)]} {n // len(TOWNS) or ''}".strip(),
                 "kind": "town_council", "ine_code": f"{8001 + n:05d}", "notes": ""} for n in range(311)]
    now = datetime.now(timezone.utc)
    for row in councils:
        row["created_at"] = row["updated_at"] = now
    db.session.execute(insert(Council.__table__), councils)
    council_ids = list(db.session.scalars(select(Council.id)))
    db.session.execute(insert(PlatformInstance.__table__), [
        {"council_id": id_, "base_url": f"https://p{id_}.participa311.diba.cat", "decidim_version": "0.28.5",
         "enabled_modules": ["proposals"], "status": "active", "notes": "", "created_at": now, "updated_at": now}
        for id_ in council_ids])
    instance_of = dict(db.session.execute(select(PlatformInstance.council_id, PlatformInstance.id)).all())
    for n, role in enumerate((Role.AGENT, Role.AGENT, Role.TECHNICIAN, Role.ADMIN)):
        create_user(None, email=f"bench{n}@example.org", name=f"Bench {n}", role=role, password=PASSWORD)
    db.session.commit()
    agents = list(db.session.scalars(select(User.id).where(User.role == Role.AGENT)))
    statuses = ["new"] * 2 + ["open"] * 4 + ["pending"] * 2 + ["resolved"] * 12 + ["closed"] * 80
    start = now - timedelta(days=3 * 365)
    batch = 5000
    for first in range(0, tickets, batch):
        rows, messages, documents = [], [], []
        for number in range(first + 1, min(first + batch, tickets) + 1):
            council = rng.choice(council_ids)
            created = start + timedelta(seconds=number * (3 * 365 * 86400 // tickets))
            updated = created + timedelta(hours=rng.randint(1, 400))
            topic = rng.choice(TOPICS)
            subject = f"{rng.choice(OPENINGS)} {topic}"
            status = rng.choice(statuses)
            rows.append({"id": number, "subject": subject, "status": status,
                         "priority": rng.choice(["low", "normal", "normal", "normal", "high", "urgent"]),
                         "category": rng.choice(["configuration", "usage", "incident", "other", "catalogue"]),
                         "channel": rng.choice(["email", "email", "phone", "web"]), "council_id": council,
                         "instance_id": instance_of[council], "requester_name": "Persona de contacte",
                         "requester_email": f"persona{council}@example.cat",
                         "assignee_id": rng.choice(agents + [None]), "created_at": created, "updated_at": updated,
                         "activity_at": updated, "version": 1})
            texts = [subject]
            for index in range(rng.choice((2, 3, 3, 4))):
                body = (f"{rng.choice(OPENINGS)} {topic}. {rng.choice(FILLER)} {rng.choice(FILLER)}"
                        if index % 2 == 0 else rng.choice(REPLIES))
                texts.append(body)
                messages.append({"ticket_id": number, "kind": "inbound" if index % 2 == 0 else "reply",
                                 "body_text": body, "body_html": "", "subject": subject,
                                 "created_at": created + timedelta(hours=index), "from_name": "",
                                 "from_address": "", "to_addresses": "", "cc_addresses": ""})
            documents.append((number, "\n".join(texts)))
        db.session.execute(insert(Ticket.__table__), rows)
        db.session.execute(insert(Message.__table__), messages)
        for number, content in documents:
            search.replace(db.session, "ticket", number, content)
        db.session.commit()
    if db.engine.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
            connection.execute(text("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def timed(client, url: str, repeat: int) -> dict:
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    samples.sort()
    return {"url": url, "p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1), "max_ms": round(samples[-1], 1)}


def run(database_url: str, tickets: int, repeat: int, workdir: Path) -> dict:
    app = create_app({"INSTANCE_PATH": workdir, "DATABASE_URL": database_url, "SECRET_KEY": "bench-" * 6,
                      "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False})
    rng = random.Random(311)
    with app.app_context():
        flask_migrate.upgrade(directory=str(Path(__file__).resolve().parents[1] / "migrations"))
        began = time.perf_counter()
        seed(tickets, rng)
        seeded = time.perf_counter() - began
        counts = {"tickets": db.session.scalar(select(db.func.count(Ticket.id))),
                  "messages": db.session.scalar(select(db.func.count(Message.id)))}
        db.session.remove()
    client = app.test_client()
    client.post("/login", data={"email": "bench0@example.org", "password": PASSWORD})
    ticket_ids = [rng.randint(1, tickets) for _ in range(repeat)]
    results = {
        "inbox_first_page": timed(client, "/inbox?view=open", repeat),
        "filtered_view": timed(client, "/inbox?view=all&category=incident&priority=high&sort=-updated", repeat),
        "ticket_page": _timed_many(client, [f"/tickets/{id_}" for id_ in ticket_ids]),
        "search": _timed_many(client, [f"/inbox?view=all&q={term}" for term in
                                       ("pressupostos", "logotip", "accions", "error 500", "menors registre",
                                        "Decidim versió")] * (repeat // 6 + 1)),
    }
    with app.app_context():
        db.engine.dispose()
    return {"database": database_url.split(":")[0], **counts, "seed_seconds": round(seeded, 1), **results}


def _timed_many(client, urls: list[str]) -> dict:
    for url in urls[:3]:
        client.get(url)
    samples = []
    for url in urls:
        began = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return {"requests": len(urls), "p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1), "max_ms": round(samples[-1], 1)}


def postgresql_url() -> tuple[str, callable] | None:
    url = os.environ.get("HELPDESK_BENCH_DATABASE_URL")
    if url:
        return url, lambda: None
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS helpdesk_bench WITH (FORCE)"))
            connection.execute(text("CREATE DATABASE helpdesk_bench"))
    except Exception as error:  # noqa: BLE001 - no server: the PostgreSQL half is reported as skipped
        print(f"PostgreSQL not available: {error.__class__.__name__}", file=sys.stderr)
        return None

    def drop():
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS helpdesk_bench WITH (FORCE)"))
        admin.dispose()
    return "postgresql+psycopg://postgres@127.0.0.1:5432/helpdesk_bench", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    arguments = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-") as workdir:
        if arguments.database in ("sqlite", "both"):
            path = Path(workdir) / "sqlite"
            path.mkdir()
            results.append(run(f"sqlite:///{path / 'bench.sqlite3'}", arguments.tickets, arguments.repeat, path))
        if arguments.database in ("postgresql", "both"):
            found = postgresql_url()
            if found:
                url, drop = found
                path = Path(workdir) / "postgresql"
                path.mkdir()
                try:
                    results.append(run(url, arguments.tickets, arguments.repeat, path))
                finally:
                    drop()
    print(json.dumps({"benchmark": "inbox", "results": results}, indent=2))


if __name__ == "__main__":
    main()
