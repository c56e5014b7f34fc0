"""The API through the test client: tokens, council isolation, pages, ETags, If-Match, idempotency, problems."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.api.models import ApiToken, TokenScope
from helpdesk.auth.models import digest
from helpdesk.auth.services import update_user
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import add_message
from helpdesk.tickets.states import MessageKind, Priority
from tests import factories
from tests.api.conftest import bearer, council, token_of, user

PROBLEM = "application/problem+json"


def assert_problem(response, status: int):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["type"] and body["title"] and body["detail"]
    return body


# --- tokens -------------------------------------------------------------------------------------------

def test_a_token_is_shown_once_kept_hashed_and_stops_working_when_revoked(client, world, english):
    client.login(world["agent_email"], factories.PASSWORD)
    assert 'id="api-tokens"' in client.get("/account").get_data(as_text=True)  # the section on My account
    page = client.submit("/account/api-tokens", {"token-name": "Registre municipal", "token-scope": "write"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    secret = page.get_data(as_text=True).split('id="api-token-secret">')[1].split("<")[0]
    assert secret.startswith("p311_")
    row = db.session.scalar(select(ApiToken).where(ApiToken.name == "Registre municipal"))
    assert row.token_digest == digest(secret) and secret not in (row.hint, row.token_digest)
    account = client.get("/account").get_data(as_text=True)
    assert "Registre municipal" in account and secret not in account  # never shown again

    answer = client.get("/api/v1/tickets", headers=bearer(secret))
    assert answer.status_code == 200
    db.session.remove()
    used = db.session.get(ApiToken, row.id)
    assert used.last_used_at is not None and used.last_used_address == "127.0.0.1"

    client.get("/account")
    client.submit(f"/account/api-tokens/{row.id}/revoke")
    assert_problem(client.get("/api/v1/tickets", headers=bearer(secret)), 401)
    from helpdesk.core.audit import AuditEvent
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "api_tokens")))
    assert actions == {"api_token_created", "api_token_revoked"}


def test_a_token_without_a_name_is_refused_next_to_the_field(client, world, english):
    client.login(world["agent_email"], factories.PASSWORD)
    client.get("/account")
    page = client.submit("/account/api-tokens", {"token-name": "", "token-scope": "read"})
    assert page.status_code == 422 and 'id="token-name-error"' in page.get_data(as_text=True)


def test_a_read_token_cannot_write(client, world):
    secret = token_of(user(world, "agent"), TokenScope.READ)
    assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 200
    body = assert_problem(client.post("/api/v1/tickets", json={"subject": "x", "body": "y"}, headers=bearer(secret)),
                          403)
    assert body["type"].endswith("insufficient-scope")
    assert db.session.scalar(select(Ticket.id)) is None


def test_expired_missing_and_deactivated_tokens_are_refused(client, world):
    expired = token_of(user(world, "agent"), expires_at=utcnow() + timedelta(seconds=1))
    db.session.execute(ApiToken.__table__.update().values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert_problem(client.get("/api/v1/tickets", headers=bearer(expired)), 401)
    missing = assert_problem(client.get("/api/v1/tickets"), 401)
    assert missing["title"] == "Unauthorized"
    assert client.get("/api/v1/tickets").headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(client.get("/api/v1/tickets", headers=bearer("p311_nothing")), 401)
    agent = user(world, "agent")
    update_user(None, agent, email=agent.email, name=agent.name, role=agent.role, council_id=None,
                language=agent.language, is_active=False)
    db.session.commit()
    assert_problem(client.get("/api/v1/tickets", headers=bearer(world["agent_token"])), 401)


def test_a_session_cookie_does_not_open_the_api(client, world):
    client.login(world["agent_email"], factories.PASSWORD)
    assert_problem(client.get("/api/v1/tickets"), 401)


# --- isolation -----------------------------------------------------------------------------------------

def test_a_council_token_sees_only_its_council(client, world, tmp_path):
    vic_ticket = factories.ticket(of=council(world, "vic"), subject="Vic").id
    manresa_ticket = factories.ticket(of=council(world, "manresa"), subject="Manresa").id
    manresa_message = add_message(user(world, "agent"), db.session.get(Ticket, manresa_ticket), MessageKind.REPLY,
                                  "Hola", utcnow()).id
    db.session.commit()
    headers = bearer(world["vic_token"])
    listed = client.get("/api/v1/tickets", headers=headers).get_json()["items"]
    assert [item["id"] for item in listed] == [vic_ticket]
    assert client.get(f"/api/v1/tickets/{vic_ticket}", headers=headers).status_code == 200
    # A file on the other council's ticket, through the agent's token.
    created = client.post(f"/api/v1/tickets/{manresa_ticket}/messages", headers=bearer(world["agent_token"]),
                          json={"body": "Adjunt", "attachments": [{"filename": "a.txt", "content_type": "text/plain",
                                "content_base64": base64.b64encode(b"hola").decode()}]}).get_json()
    attachment = created["attachments"][0]
    for address in (f"/api/v1/tickets/{manresa_ticket}", f"/api/v1/tickets/{manresa_ticket}/messages",
                    f"/api/v1/messages/{manresa_message}", f"/api/v1/attachments/{attachment['id']}",
                    f"/api/v1/attachments/{attachment['id']}/content",
                    f"/api/v1/instances/{world['manresa_instance']}", f"/api/v1/councils/{world['manresa']}",
                    f"/api/v1/councils/{world['manresa']}/contacts"):
        assert_problem(client.get(address, headers=headers), 404)
    for address in (f"/api/v1/tickets/{manresa_ticket}/messages", f"/api/v1/tickets/{manresa_ticket}/notes"):
        assert client.post(address, json={"body": "x"}, headers=headers).status_code in (403, 404)
    assert_problem(client.patch(f"/api/v1/tickets/{manresa_ticket}", json={"status": "closed"}, headers=headers),
                   404)
    instances = client.get("/api/v1/instances", headers=headers).get_json()["items"]
    assert [item["id"] for item in instances] == [world["vic_instance"]]
    councils = client.get("/api/v1/councils", headers=headers).get_json()["items"]
    assert [item["id"] for item in councils] == [world["vic"]]
    # The agent downloads the file; the council's notes stay staff-only.
    download = client.get(attachment["download_url"].removeprefix("http://localhost"),
                          headers=bearer(world["agent_token"]))
    assert download.status_code == 200 and download.data == b"hola"
    assert_problem(client.post(f"/api/v1/tickets/{vic_ticket}/notes", json={"body": "x"}, headers=headers), 403)
    assert_problem(client.get(f"/api/v1/audit-events?object_type=ticket&object_id={vic_ticket}",
                              headers=headers), 403)


def test_a_council_token_opens_and_writes_on_its_own_tickets(client, world):
    headers = bearer(world["vic_token"])
    created = client.post("/api/v1/tickets", headers=headers, json={
        "subject": "No carrega la portada", "body": "Des d'avui.", "council_id": world["manresa"]})
    assert_problem(created, 403)  # another council's
    created = client.post("/api/v1/tickets", headers=headers, json={"subject": "No carrega", "body": "Des d'avui."})
    assert created.status_code == 201
    ticket = created.get_json()
    assert ticket["council_id"] == world["vic"] and ticket["channel"] == "web" and "sla" not in ticket
    assert created.headers["Location"].endswith(f"/api/v1/tickets/{ticket['id']}")
    message = client.post(f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "Més detalls"}, headers=headers)
    assert message.status_code == 201 and message.get_json()["kind"] == "inbound"
    thread = client.get(f"/api/v1/tickets/{ticket['id']}/messages", headers=headers).get_json()["items"]
    assert [item["body_text"] for item in thread] == ["Des d'avui.", "Més detalls"]
    trail = client.get(f"/api/v1/audit-events?object_type=ticket&object_id={ticket['id']}",
                       headers=bearer(world["agent_token"])).get_json()["items"]
    assert {"created", "message_inbound"} <= {event["action"] for event in trail}


# --- pages, ETags, If-Match, idempotency -----------------------------------------------------------------------

def test_cursor_pages_walk_a_filtered_list_without_gaps_or_repeats(client, world):
    now = utcnow()
    urgent = []
    for number in range(23):
        ticket = factories.ticket(of=council(world, "vic"), subject=f"Ticket {number}", now=now - timedelta(minutes=number),
                                  priority=Priority.URGENT if number % 2 else Priority.LOW)
        if number % 2:
            urgent.append(ticket.id)
    headers = bearer(world["agent_token"])
    seen, cursor, pages = [], None, 0
    while True:
        address = "/api/v1/tickets?priority=urgent&limit=3&sort=-updated" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(address, headers=headers).get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4 and seen == urgent  # newest update first, 11 urgent tickets in pages of 3
    council_seen, cursor = [], None
    while True:
        body = client.get("/api/v1/tickets?limit=5&sort=created" + (f"&cursor={cursor}" if cursor else ""),
                          headers=bearer(world["vic_token"])).get_json()
        council_seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert council_seen == sorted(council_seen) and len(council_seen) == 23
    bad = assert_problem(client.get("/api/v1/tickets?cursor=nonsense", headers=headers), 400)
    assert bad["errors"][0]["field"] == "cursor"
    other = client.get("/api/v1/tickets?limit=1&sort=created", headers=headers).get_json()["next_cursor"]
    assert_problem(client.get(f"/api/v1/tickets?sort=-updated&cursor={other}", headers=headers), 400)
    assert_problem(client.get("/api/v1/tickets?limit=1000", headers=headers), 422)


def test_search_finds_tickets_by_their_text(client, world):
    factories.ticket(of=council(world, "vic"), subject="El logotip no es veu")
    factories.ticket(of=council(world, "vic"), subject="Canvi d'adreça web")
    found = client.get("/api/v1/tickets?q=logotip", headers=bearer(world["agent_token"])).get_json()["items"]
    assert [item["subject"] for item in found] == ["El logotip no es veu"]


def test_etag_and_if_none_match(client, world):
    ticket = factories.ticket(of=council(world, "vic"))
    headers = bearer(world["agent_token"])
    first = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers)
    tag = first.headers["ETag"]
    again = client.get(f"/api/v1/tickets/{ticket.id}", headers={**headers, "If-None-Match": tag})
    assert again.status_code == 304 and not again.data
    client.patch(f"/api/v1/tickets/{ticket.id}", json={"priority": "high"}, headers=headers)
    changed = client.get(f"/api/v1/tickets/{ticket.id}", headers={**headers, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.get_json()["priority"] == "high"


def test_a_stale_change_is_refused_with_412(client, world, english):
    ticket = factories.ticket(of=council(world, "vic"))
    headers = bearer(world["agent_token"])
    tag = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).headers["ETag"]
    done = client.patch(f"/api/v1/tickets/{ticket.id}", json={"priority": "urgent", "assignee_id": world["agent"]},
                        headers={**headers, "If-Match": tag})
    assert done.status_code == 200 and done.get_json()["assignee"]["id"] == world["agent"]
    stale = client.patch(f"/api/v1/tickets/{ticket.id}", json={"priority": "low"},
                         headers={**headers, "If-Match": tag})
    assert_problem(stale, 412)
    assert db.session.get(Ticket, ticket.id).priority is Priority.URGENT
    moved = client.patch(f"/api/v1/tickets/{ticket.id}", json={"status": "resolved"},
                         headers={**headers, "If-Match": done.headers["ETag"]})
    assert moved.status_code == 200 and moved.get_json()["status"] == "resolved"
    refused = assert_problem(client.patch(f"/api/v1/tickets/{ticket.id}", json={"status": "new"}, headers=headers),
                             409)
    assert refused["errors"][0]["field"] == "/status"


def test_the_same_idempotency_key_creates_one_ticket(client, world):
    headers = bearer(world["agent_token"], **{"Idempotency-Key": "crm-4411"})
    payload = {"subject": "Trucada de l'alcaldia", "body": "Volen canviar el logo.", "council_id": world["vic"]}
    first = client.post("/api/v1/tickets", json=payload, headers=headers)
    second = client.post("/api/v1/tickets", json=payload, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json() and second.headers["Idempotent-Replayed"] == "true"
    assert len(db.session.scalars(select(Ticket.id)).all()) == 1
    reused = client.post("/api/v1/tickets", json={**payload, "subject": "Una altra"}, headers=headers)
    assert_problem(reused, 422)
    other = client.post("/api/v1/tickets", json=payload, headers=bearer(world["agent_token"], **{
        "Idempotency-Key": "crm-4412"}))
    assert other.status_code == 201 and len(db.session.scalars(select(Ticket.id)).all()) == 2


# --- problems -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("send, status, field", [
    ({"data": "{not json", "content_type": "application/json"}, 400, ""),
    ({"json": {"subject": "x", "body": "y", "colour": "red"}}, 422, "/colour"),
    ({"json": {"subject": "x", "body": "y", "priority": "whenever"}}, 422, "/priority"),
    ({"json": {"subject": "", "body": "y"}}, 422, "/subject"),
    ({"json": {"subject": "x", "body": "y", "council_id": 999999}}, 422, "/council_id"),
    ({"json": {"subject": "x", "body": "y", "requester_email": "not an address"}}, 422, "/requester_email"),
    ({"json": ["a list"]}, 422, None),
    ({"data": "subject=x", "content_type": "application/x-www-form-urlencoded"}, 415, None),
])
def test_bad_requests_are_problem_documents_naming_the_field(client, world, send, status, field):
    response = client.post("/api/v1/tickets", headers=bearer(world["agent_token"]), **send)
    body = assert_problem(response, status)
    if field is not None:
        assert field in [error["field"] for error in body["errors"]]
    assert db.session.scalar(select(Ticket.id)) is None


def test_unknown_addresses_and_methods_are_problem_documents(client, world):
    headers = bearer(world["agent_token"])
    assert_problem(client.get("/api/v1/nowhere", headers=headers), 404)
    assert_problem(client.get("/api/v1/tickets/999999", headers=headers), 404)
    not_allowed = client.delete("/api/v1/tickets", headers=headers)
    assert_problem(not_allowed, 405)
    assert "GET" in not_allowed.headers["Allow"]


def test_the_rate_limit_answers_429_with_retry_after(app, client, world):
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 3
    headers = bearer(world["agent_token"])
    statuses = [client.get("/api/v1/councils", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/api/v1/councils", headers=headers)
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1
    # Another token has its own allowance.
    assert client.get("/api/v1/councils", headers=bearer(world["vic_token"])).status_code == 200


# --- documents ----------------------------------------------------------------------------------------------

def test_the_openapi_document_and_its_page(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/tickets/{number}" in document["paths"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "<script>" not in page.get_data(as_text=True)
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"):
        with client.get(f"/api/v1/docs/assets/{name}") as asset:
            assert asset.status_code == 200
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404


def test_representations_match_their_models(client, world):
    from helpdesk.api import representations, schemas
    ticket = factories.ticket(of=council(world, "vic"))
    contact = factories.contact(council(world, "vic"))
    for viewer in (user(world, "agent"), user(world, "vic_user"), None):
        schemas.TicketOut.model_validate(representations.ticket(ticket, viewer), strict=False)
        schemas.MessageOut.model_validate(representations.message(ticket.messages[0], viewer))
        schemas.CouncilOut.model_validate(representations.council(council(world, "vic"), viewer))
        schemas.ContactOut.model_validate(representations.contact(contact, viewer))
        schemas.InstanceOut.model_validate(representations.instance(db.session.get(PlatformInstance, world["vic_instance"]), viewer))
    assert set(representations.ticket(ticket)) == set(schemas.TicketOut.model_fields)


# --- hardening: what no client should be able to turn into a 5xx or a leak ---------------------------------------

def _cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("send, status, field", [
    ({"data": "[" * 100_000 + "]" * 100_000}, 400, ""),  # deeper than any parser goes
    ({"data": '{"a": ' * 50_000 + "1" + "}" * 50_000}, 400, ""),
    ({"data": b'{"subject": "\xff\xfe", "body": "x"}'}, 400, ""),  # not UTF-8
    ({"data": '{"subject": "Hola\\u0000", "body": "x"}'}, 422, "/subject"),  # no column takes a NUL
    ({"data": '{"subject": "x", "body": "y", "attachments": [{"filename": "a\\u0000.txt", "content_base64": ""}]}'},
     422, "/attachments/0/filename"),
])
def test_bodies_no_column_could_hold_are_refused_not_a_5xx(client, world, send, status, field):
    response = client.post("/api/v1/tickets", headers=bearer(world["agent_token"]),
                           content_type="application/json", **send)
    body = assert_problem(response, status)
    assert field in [error["field"] for error in body["errors"]]
    assert db.session.scalar(select(Ticket.id)) is None


@pytest.mark.parametrize("sort, values", [
    ("created", (10**30,)),  # past any id column
    ("created", (-(10**30),)),
    ("-updated", ("2026-01-01T00:00:00", 5)),  # a time without its zone: the desk writes none
    ("-updated", ("2026-01-01T00:00:00Z", 10**19)),
])
def test_a_cursor_made_by_hand_is_a_400(client, world, sort, values):
    factories.ticket(of=council(world, "vic"))
    for secret in (world["agent_token"], world["vic_token"]):
        answer = client.get(f"/api/v1/tickets?sort={sort}&cursor={_cursor('tickets' + sort, *values)}",
                            headers=bearer(secret))
        assert assert_problem(answer, 400)["errors"][0]["field"] == "cursor"
    assert_problem(client.get(f"/api/v1/councils?cursor={_cursor('councils', 10**30)}",
                              headers=bearer(world["vic_token"])), 400)


def test_huge_ids_in_addresses_and_filters_find_nothing(client, world):
    headers = bearer(world["vic_token"])
    for address in ("/api/v1/tickets/99999999999999999999999", "/api/v1/messages/9223372036854775808",
                    "/api/v1/attachments/99999999999999999999/content", "/api/v1/tickets/-1"):
        assert_problem(client.get(address, headers=headers), 404)
    for address in ("/api/v1/instances?council=99999999999999999999", "/api/v1/tickets?limit=-1",
                    "/api/v1/grants?council=abc"):
        assert_problem(client.get(address, headers=headers), 422)


def test_a_council_reads_no_trace_of_the_teams_internal_work(client, world):
    ticket_id = factories.ticket(of=council(world, "vic")).id
    agent = user(world, "agent")
    reply = add_message(agent, db.session.get(Ticket, ticket_id), MessageKind.REPLY, "Ho mirem", utcnow()).id
    agent_id, agent_name, agent_email = agent.id, agent.name, agent.email
    db.session.commit()
    council_headers = bearer(world["vic_token"])
    before = client.get(f"/api/v1/tickets/{ticket_id}", headers=council_headers)
    shown = before.get_json()
    assert "activity_at" not in shown and "version" not in shown and "sla" not in shown
    answer = client.get(f"/api/v1/messages/{reply}", headers=council_headers).get_json()
    assert answer["from_name"] == agent_name and answer["from_address"] == ""  # a staff member's own address
    assert answer["author"] == {"id": agent_id, "name": agent_name}
    staff_view = client.get(f"/api/v1/messages/{reply}", headers=bearer(world["agent_token"])).get_json()
    assert staff_view["from_address"] == agent_email

    note = client.post(f"/api/v1/tickets/{ticket_id}/notes", json={"body": "Intern: trucar a l'IT"},
                       headers=bearer(world["agent_token"]))
    assert note.status_code == 201
    note_id = note.get_json()["id"]
    # The note changed nothing the council sees: the same ticket, the same ETag, and not found by id.
    again = client.get(f"/api/v1/tickets/{ticket_id}", headers={**council_headers,
                                                                "If-None-Match": before.headers["ETag"]})
    assert again.status_code == 304
    assert_problem(client.get(f"/api/v1/messages/{note_id}", headers=council_headers), 404)
    thread = client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=council_headers).get_json()["items"]
    assert note_id not in [item["id"] for item in thread]


def test_another_tokens_idempotency_key_replays_nothing(client, world):
    payload = {"subject": "Canvi de logotip", "body": "El nou logotip.", "council_id": world["vic"]}
    first = client.post("/api/v1/tickets", json=payload, headers=bearer(world["agent_token"], **{
        "Idempotency-Key": "same-key"}))
    assert first.status_code == 201
    other = client.post("/api/v1/tickets", json={"subject": "Canvi de logotip", "body": "El nou logotip."},
                        headers=bearer(world["vic_token"], **{"Idempotency-Key": "same-key"}))
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
    assert other.get_json()["id"] != first.get_json()["id"]


@pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
def test_a_read_token_writes_through_no_method(client, world, method):
    ticket_id = factories.ticket(of=council(world, "vic")).id
    secret = token_of(user(world, "agent"), TokenScope.READ)
    for address in ("/api/v1/tickets", f"/api/v1/tickets/{ticket_id}", f"/api/v1/tickets/{ticket_id}/notes",
                    f"/api/v1/tickets/{ticket_id}/messages"):
        answer = getattr(client, method)(address, json={"body": "x", "priority": "urgent"}, headers=bearer(secret))
        assert answer.status_code in (403, 405) and answer.mimetype == PROBLEM, (method, address)
    assert db.session.get(Ticket, ticket_id).priority is not Priority.URGENT
    assert len(db.session.get(Ticket, ticket_id).messages) == 1
