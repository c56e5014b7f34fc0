"""A stand-in Decidim on loopback (a real HTTP server) answering from shared/fixtures/decidim, and told
to misbehave the ways real installations do: forced login, 429, 500, garbage, slowness, 0.29's
translated organisation name.

It can also require API authentication as Decidim 0.31+ does with DECIDIM_API_FORCE_API_AUTHENTICATION
(``require_credentials``): ``POST /api/sign_in`` with ``api_user[key]`` and ``api_user[secret]`` (form
fields) answers a signed JWT with an ``exp`` claim in the ``Authorization: Bearer`` header and as
``jwt_token`` in the body, or 401 for a wrong pair; ``POST /api`` without a valid, unexpired bearer answers
401 ``{"error": "Access denied"}`` to JSON and 302 to the sign-in page to HTML. Its clock can be moved
(``advance``) and its signing key changed (``rotate_jwt_secret``, which makes every token given invalid)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "decidim"


class DecidimServer:
    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[str] = []
        self.agents: list[str] = []
        # API authentication (0.31+): off unless a test turns it on.
        self.require_credentials = False
        self.api_users: dict[str, str] | None = {}  # key → secret; None: no /api/sign_in (before 0.31)
        self.jwt_expires_in = 7200  # seconds, as DECIDIM_API_JWT_EXPIRES_IN's default (120 minutes)
        self.jwt_secret = b"decidim-api-jwt-secret"
        self.clock_offset = 0.0
        self.sign_ins: list[str] = []  # the key of each sign-in attempt
        self.bearers: list[str | None] = []  # the token each /api request came with
        fixtures = {name: json.loads((FIXTURES / f"{name}.json").read_text()) for name in
                    ("q1_decidim_version", "q2_organization", "q3_participatory_spaces", "q5_error_unknown_field")}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _send(self, status: int, body: bytes, content_type="application/json", headers=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 (http.server's naming)
                if self.path == "/manifest.webmanifest" and server.mode not in ("down", "error500"):
                    self._send(200, b'{"name": "Participa"}', "application/manifest+json")
                else:
                    self._send(500 if server.mode == "error500" else 404, b"no")

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path == "/api/sign_in":
                    return self._sign_in(raw)
                query = json.loads(raw or b"{}").get("query", "")
                server.requests.append(query)
                server.agents.append(self.headers.get("User-Agent", ""))
                authorization = self.headers.get("Authorization", "")
                bearer = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else None
                server.bearers.append(bearer)
                if server.require_credentials and not server.token_is_valid(bearer):
                    if "application/json" in self.headers.get("Accept", ""):
                        return self._send(401, b'{"error":"Access denied"}')
                    return self._send(302, b"", "text/html", {"Location": "https://x.example/users/sign_in"})
                mode = server.mode
                if mode == "slow":
                    time.sleep(2)
                if mode == "forced_login":
                    return self._send(302, b"", "text/html", {"Location": "https://x.example/users/sign_in"})
                if mode == "rate_limited":
                    return self._send(429, b"Retry later", "text/plain", {"Retry-After": "60"})
                if mode == "error500":
                    return self._send(500, b'{"errors":[{"message":"Internal Server error"}],"data":{}}')
                if mode == "garbage":
                    return self._send(200, b"<html>maintenance</html>", "text/html")
                self._send(200, json.dumps(server.answer(query)).encode())

            def _sign_in(self, raw: bytes):
                if server.api_users is None:
                    return self._send(404, b"Not found", "text/plain")
                fields = parse_qs(raw.decode())
                key = (fields.get("api_user[key]") or [""])[0]
                secret = (fields.get("api_user[secret]") or [""])[0]
                server.sign_ins.append(key)
                if key not in server.api_users or not hmac.compare_digest(server.api_users[key], secret):
                    body = {"id": None, "name": None, "nickname": None, "jwt_token": None, "avatar": None}
                    return self._send(401, json.dumps(body).encode())
                token = server.issue_token(key)
                body = {"id": 1, "name": "Participa311 desk", "nickname": "desk", "jwt_token": token, "avatar": None}
                self._send(200, json.dumps(body).encode(), headers={"Authorization": f"Bearer {token}"})

        self.fixtures = fixtures
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the server's clock (so tokens it gave expire without the test waiting)."""
        self.clock_offset += seconds

    def rotate_jwt_secret(self) -> None:
        """A new DECIDIM_API_JWT_SECRET: every token given so far is refused, even before its exp."""
        self.jwt_secret += b"-rotated"

    def require(self, key: str = "desk-key", secret: str = "desk-secret") -> None:
        """Require API authentication, with one API user."""
        self.require_credentials = True
        self.api_users = {key: secret}

    def issue_token(self, key: str) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        issued = int(self.now())
        claims = _b64(json.dumps({"sub": key, "scp": "api_user", "iat": issued, "exp": issued + self.jwt_expires_in,
                                  "jti": f"{key}-{len(self.sign_ins)}"}).encode())
        signature = _b64(hmac.new(self.jwt_secret, f"{header}.{claims}".encode(), hashlib.sha256).digest())
        return f"{header}.{claims}.{signature}"

    def token_is_valid(self, token: str | None) -> bool:
        if not token or token.count(".") != 2:
            return False
        header, claims, signature = token.split(".")
        expected = _b64(hmac.new(self.jwt_secret, f"{header}.{claims}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            return False
        exp = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))).get("exp", 0)
        return self.now() < exp

    def answer(self, query: str) -> dict:
        data = self.fixtures
        if "__typename }" in query or query.strip() == "{ __typename }":
            return {"data": {"__typename": "Query"}}
        if "decidim {" in query:
            return data["q1_decidim_version"]
        if "organization" in query:
            translated = "translation" in query
            if (self.mode == "v029") != translated:
                return {"errors": [{"message": "Selections can't be made on scalars" if translated else
                                    "Field must have selections (field 'name' returns TranslatedField!)"}]}
            name = data["q2_organization"]["data"]["organization"]["name"]
            return {"data": {"organization": {"name": {"translation": name} if translated else name}}}
        if "initiatives" in query:
            return data["q5_error_unknown_field"]
        spaces = data["q3_participatory_spaces"]["data"]
        for field_name in ("participatoryProcesses", "assemblies", "conferences"):
            if field_name in query:
                return {"data": {field_name: spaces.get(field_name, [])}}
        return {"errors": [{"message": "unexpected query"}]}

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
