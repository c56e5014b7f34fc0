"""Hostile and broken input on every route, as a role that may use it: never a server error, and a request
that is refused changes nothing.

The walk reads `app.url_map`, so a route added tomorrow is walked too. For each POST route it finds a
binding of the route's ids and a signed-in demo role that the route does not turn away, then sends every
form field the desk knows (each form's fields and every `name=` seen on its pages) filled with one kind of
bad value at a time. For each list page it sends junk in every query parameter the desk reads."""
from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from helpdesk.core.forms import Form
from helpdesk.core.models import utcnow
from helpdesk.extensions import db

ROLES = ("admin@demo.participa311.cat", "agent@demo.participa311.cat", "tecnic@demo.participa311.cat",
         "cataleg@demo.participa311.cat", "otpgl@demo.participa311.cat", "referent@vic.cat")
PASSWORDS = {"admin@demo.participa311.cat": "Admin-Demo-311", "agent@demo.participa311.cat": "Agent-Demo-311",
             "tecnic@demo.participa311.cat": "Tecnic-Demo-311", "cataleg@demo.participa311.cat": "Cataleg-Demo-311",
             "otpgl@demo.participa311.cat": "Otpgl-Demo-311", "referent@vic.cat": "Vic-Demo-311"}
# Routes the walk leaves alone: signing out, or ending one's own session from *My account*, ends the walker's
# own session (they have their own tests).
LEFT_ALONE = {"auth.logout", "auth.end_session", "static"}
# Tables a refused request may rightly write: a failed sign-in is recorded (and counted towards throttling), a
# request counts towards its rate limit whatever its answer, and a session's last activity is noted (once a
# minute) before any view runs.
MAY_CHANGE_WHEN_REFUSED = {"sign_in_events", "rate_limits", "user_sessions"}
TOO_LARGE = str(2**31)
BAD_VALUES = {
    "blank": "",
    "wrongly typed": "not a number or date",
    "past the integer range": "99999999999999999999",
    "just past PostgreSQL's integer": TOO_LARGE,
    "negative": "-1",
    "over any column's length": "x" * 3000,
    "impossible date": "2026-02-30",
    "after the year 9999": "9999-12-31T23:59",
    "before 1900": "1000-01-01",
    "NUL byte": "a\x00b",
    "markup": "<script>alert(1)</script>{{ 7*7 }}%(x)s",
    "unknown choice": "no-such-choice",
    "digits that are no number": "²³",  # "²".isdigit() is True
}
QUERY_JUNK = ("abc%' OR 1=1 --", "99999999999999999999", "-5", "2026-02-30\x00", "x" * 3000)
QUERY_NAMES = ("page", "q", "sort", "order", "dir", "view", "status", "priority", "category", "channel", "council",
               "council_id", "instance", "instance_id", "assignee", "kind", "year", "format", "days", "group",
               "grouping", "from", "to", "start", "end", "week", "month", "next", "tag", "language", "ticket",
               "within", "state", "csv")


@pytest.fixture
def world(app):
    """The demo desk, with a record of each kind the routes name."""
    from helpdesk import demo
    from helpdesk.accompaniment import services as accompaniment
    from helpdesk.auth.models import User
    from helpdesk.councils.models import Council
    from helpdesk.mail.intake import ingest
    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.services import MessageKind, add_message

    demo.seed()
    db.session.flush()
    now = utcnow()
    vic = db.session.scalar(select(Council).where(Council.ine_code == "08298"))
    adviser = db.session.scalar(select(User).where(User.email == "agent@demo.participa311.cat"))
    otpgl = db.session.scalar(select(User).where(User.email == "otpgl@demo.participa311.cat"))
    request = accompaniment.ask(None, vic, accompaniment.RequestData(
        instance_id=vic.instances[0].id, action="Pressupostos participatius", needs=["configuration"]), now)
    accompaniment.authorise(otpgl, request, "D'acord.", now)
    accompaniment.schedule_session(adviser, request, accompaniment.SessionData(
        kind="configuration", starts_at=now + timedelta(days=3), duration_minutes=60, online=True,
        location="https://meet.example.org/x", adviser_id=adviser.id), now)
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id))
    add_message(adviser, ticket, MessageKind.NOTE, "Nota interna", now)
    db.session.commit()
    ingest(b"From: MAILER-DAEMON@example.org\r\nSubject: Undelivered\r\nAuto-Submitted: auto-replied\r\n\r\nx\r\n",
           "INBOX")
    ingest(b"\x00\xff not a message at all", "INBOX")
    db.session.commit()


def fingerprint() -> dict[str, str]:
    """A digest of every table's rows, to tell whether a request changed anything."""
    digests = {}
    with db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            if table in MAY_CHANGE_WHEN_REFUSED or table == "alembic_version":
                continue
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            digests[table] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return digests


@pytest.fixture
def errors(app):
    """Server errors answered as the 500 page (as in production), each with its exception kept to report."""
    from flask import got_request_exception
    app.config["PROPAGATE_EXCEPTIONS"] = False
    caught: list[BaseException] = []

    def keep(sender, exception, **extra):
        caught.append(exception)
    got_request_exception.connect(keep, app)
    yield caught
    got_request_exception.disconnect(keep, app)


def explained(response, caught: list[BaseException]) -> str:
    if caught:
        error = caught.pop()
        caught.clear()
        return f"{type(error).__name__}: {str(error)[:200]}"
    return str(response.status_code)


def signed_in(app, email: str):
    client = app.test_client()
    response = client.login(email, PASSWORDS[email])
    assert response.status_code == 302, f"{email} could not sign in"
    return client


def form_field_names(app, clients) -> tuple[set[str], set[str]]:
    """Every field name of the desk's forms and of its pages; and those of text areas."""
    names: set[str] = set()
    forms = list(Form.__subclasses__())
    while forms:
        form = forms.pop()
        forms.extend(form.__subclasses__())
        names.update(name for name, value in vars(form).items() if hasattr(value, "field_class"))
    areas: set[str] = set()
    for client in clients.values():
        for url in ("/inbox", "/tickets/1", "/tickets/new", "/calls/new", "/account", "/admin/users/new",
                    "/councils/new", "/instances/new", "/catalog/requests/new", "/accompaniment/requests/new",
                    "/admin/calendars/1", "/admin/policies/new", "/admin/mail/mailboxes/new", "/faq"):
            page = client.get(url).get_data(as_text=True)
            names.update(re.findall(r'name="([^"]+)"', page))
            areas.update(re.findall(r'<textarea[^>]*name="([^"]+)"', page))
    names.discard("csrf_token")
    return names, areas


def bindings(rule) -> list[dict]:
    """Ways to fill the route's parameters: ids 1 to 3, each choice of an `any(...)`."""
    options: dict[str, list] = {}
    for name, converter in rule._converters.items():
        if hasattr(converter, "items"):  # any(...)
            options[name] = sorted(converter.items)
        elif converter.__class__.__name__ in ("IntegerConverter", "DatabaseInteger"):
            options[name] = [1, 2, 3]
        else:
            options[name] = ["1", "que-cal-saber-de-les-versions"]
    combos: list[dict] = [{}]
    for name, values in options.items():
        combos = [{**combo, name: value} for combo in combos for value in values]
    return combos[:12]


def refused(response) -> bool:
    return response.status_code >= 400


def turned_away(response) -> bool:
    return response.status_code in (401, 403, 404, 405) or (
        response.status_code == 302 and "/login" in response.headers.get("Location", ""))


def multipart_with_invalid_utf8(names: set[str], token: str) -> tuple[bytes, str]:
    boundary = "robustnessboundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode()]
    for name in sorted(names):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + b"\xff\xfe\xc3(" + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_no_post_route_fails_on_bad_input_and_refusals_change_nothing(app, world, errors):
    clients = {email: signed_in(app, email) for email in ROLES}
    names, areas = form_field_names(app, clients)
    failures: list[str] = []
    walked = 0
    state = fingerprint()

    def send(client, url, label, **kwargs):
        nonlocal state
        response = client.post(url, **kwargs)
        response.close()  # a streamed answer holds its request until it is closed
        if response.status_code >= 500:
            failures.append(f"POST {url} ({label}): {explained(response, errors)}")
        after = fingerprint()
        if refused(response) and after != state:
            changed = sorted(table for table in after if after[table] != state.get(table))
            failures.append(f"POST {url} ({label}) answered {response.status_code} but changed {changed}")
        state = after
        return response

    rules = sorted((rule for rule in app.url_map.iter_rules()
                    if "POST" in rule.methods and rule.endpoint not in LEFT_ALONE), key=lambda rule: rule.rule)
    unwalked = []
    for rule in rules:
        chosen = None
        for binding in bindings(rule):
            url = rule.build(binding, append_unknown=False)[1]
            for email in ROLES:
                client = clients[email]
                response = send(client, url, f"empty, as {email}", data={"csrf_token": client.csrf_token})
                if not turned_away(response):
                    chosen = (url, email)
                    break
            if chosen:
                break
        if chosen is None:
            unwalked.append(rule.endpoint)
            continue
        url, email = chosen
        client = clients[email]
        walked += 1
        for label, value in BAD_VALUES.items():
            send(client, url, f"{label}, as {email}",
                 data={"csrf_token": client.csrf_token, **{name: value for name in names}})
        send(client, url, f"text areas far too long, as {email}",
             data={"csrf_token": client.csrf_token, **{name: "y" * 120_001 for name in areas}})
        send(client, url, f"every field twice, as {email}",
             data={"csrf_token": client.csrf_token, **{name: ["1", "abc"] for name in names}})
        send(client, url, f"odd files, as {email}",
             data={"csrf_token": client.csrf_token, "attachments": [
                 (io.BytesIO(b""), "../../etc/passwd"), (io.BytesIO(b"\x00" * 10), "\x00.exe")]},
             content_type="multipart/form-data")
        body, content_type = multipart_with_invalid_utf8(names, client.csrf_token)
        send(client, url, f"invalid UTF-8, as {email}", data=body, content_type=content_type)
        send(client, url, f"no CSRF token, as {email}", data={name: "1" for name in names})

    assert not failures, "\n".join(failures)
    # The walk reaches most routes; those no demo role may use with these records are named here.
    assert walked >= len(rules) * 0.8, f"walked {walked} of {len(rules)} POST routes; not reached: {unwalked}"


def test_no_page_fails_on_junk_query_parameters(app, world, errors):
    clients = {email: signed_in(app, email) for email in ROLES}
    names, _ = form_field_names(app, clients)
    query_names = sorted(set(QUERY_NAMES) | names)
    failures = []
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and rule.endpoint != "static"
             and rule.endpoint not in LEFT_ALONE]
    for rule in sorted(rules, key=lambda rule: rule.rule):
        url = rule.build(bindings(rule)[0], append_unknown=False)[1]
        for email in ROLES:
            for junk in QUERY_JUNK:
                response = clients[email].get(url, query_string={name: junk for name in query_names})
                response.close()
                if response.status_code >= 500:
                    failures.append(f"GET {url} ({junk[:20]!r}, as {email}): {explained(response, errors)}")
    assert not failures, "\n".join(failures)


def test_ids_past_the_integer_range_are_not_found(app, world):
    client = signed_in(app, "admin@demo.participa311.cat")
    for rule in app.url_map.iter_rules():
        if any(rule._converters[name].__class__.__name__ == "DatabaseInteger" for name in rule._converters) \
                and "GET" in rule.methods:
            values = {name: (99999999999999999999 if rule._converters[name].__class__.__name__ == "DatabaseInteger"
                             else sorted(getattr(rule._converters[name], "items", ["x"]))[0])
                      for name in rule._converters}
            url = _huge_url(rule, values)
            assert client.get(url).status_code == 404, url


def _huge_url(rule, values) -> str:
    """The rule's address with the huge ids written in (the rule itself refuses to build them)."""
    url = rule.rule
    for name, value in values.items():
        url = re.sub(r"<[^>]*\b" + name + ">", str(value), url)
    return url


def test_a_body_too_large_gets_413_in_the_users_language(app, world):
    client = signed_in(app, "referent@vic.cat")
    client.get("/tickets/new")
    limit = app.config["MAX_CONTENT_LENGTH"]
    boundary = "largeboundary"
    fields = {"csrf_token": client.csrf_token, "subject": "Adjunt massa gran", "body": "Vegeu l'adjunt"}
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                    for name, value in fields.items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="gran.pdf"\r\n'
             "Content-Type: application/pdf\r\n\r\n").encode() + b"0" * (limit + 1)
    body += f"\r\n--{boundary}--\r\n".encode()
    response = client.post("/tickets/new", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert 'lang="ca"' in page and "32 MB" in page
    from helpdesk.tickets.models import Ticket
    assert db.session.scalar(select(Ticket).where(Ticket.subject == "Adjunt massa gran")) is None
