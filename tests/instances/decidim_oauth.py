"""A council's Decidim as an OAuth2 provider, on a loopback port: Doorkeeper's ``/oauth/authorize`` (the person
is already signed in on the platform and approves at once), ``/oauth/token`` (authorization code with PKCE, codes
used once) and ``/oauth/me`` (id, e-mail, name, nickname, as decidim-core's credentials controller answers)."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID, CLIENT_SECRET = "desk-oauth-app", "desk-oauth-secret-0123"


@dataclass
class Person:
    id: int
    email: str
    name: str
    nickname: str


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    person: Person


@dataclass
class DecidimOAuth:
    person: Person = field(default_factory=lambda: Person(41, "marta@vic.cat", "Marta Puigdollers", "mpuig"))
    codes: dict[str, Grant] = field(default_factory=dict)
    spent: set[str] = field(default_factory=set)
    tokens: dict[str, Person] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    is_down: bool = False  # every endpoint answers 503, as a platform in trouble

    def __post_init__(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _send(self, status: int, body: dict | None = None, location: str = "") -> None:
                data = json.dumps(body or {}).encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 (http.server's naming)
                if provider.is_down:
                    return self._send(503, {"error": "service unavailable"})
                url = urlsplit(self.path)
                if url.path == "/oauth/authorize":
                    return self._send(*provider.authorize({k: v[0] for k, v in parse_qs(url.query).items()}))
                if url.path == "/oauth/me":
                    person = provider.tokens.get(self.headers.get("Authorization", "").removeprefix("Bearer "))
                    if person is None:
                        return self._send(401, {"error": "invalid_token"})
                    return self._send(200, {"id": person.id, "email": person.email, "name": person.name,
                                            "nickname": person.nickname, "image": None})
                return self._send(404, {"error": "not found"})

            def do_POST(self):  # noqa: N802
                if provider.is_down:
                    return self._send(503, {"error": "service unavailable"})
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if urlsplit(self.path).path != "/oauth/token":
                    return self._send(404, {"error": "not found"})
                return self._send(*provider.token({k: v[0] for k, v in parse_qs(raw).items()}))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def authorize(self, query: dict[str, str]) -> tuple[int, dict, str]:
        self.authorize_requests.append(query)
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return 400, {"error": "invalid_client"}, ""
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {"error": "invalid_request", "error_description": "PKCE required"}, ""
        code = secrets.token_urlsafe(16)
        self.codes[code] = Grant(CLIENT_ID, query["redirect_uri"], query["code_challenge"], self.person)
        return 302, {}, f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"

    def token(self, form: dict[str, str]) -> tuple[int, dict]:
        self.token_requests.append(form)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        code = form.get("code", "")
        grant = self.codes.pop(code, None)
        if grant is None or code in self.spent:
            return 400, {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid"}
        self.spent.add(code)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant.challenge or form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        token = secrets.token_urlsafe(24)
        self.tokens[token] = grant.person
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 7200, "scope": "public",
                     "created_at": 0}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
