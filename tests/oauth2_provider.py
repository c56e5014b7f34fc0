"""A throw-away OAuth2 provider on a loopback port: the token endpoint (client-credentials and refresh-token
grants, short-lived tokens, refresh tokens rotated on every use, clients that can be revoked) and the token
introspection endpoint (RFC 7662) that Dovecot's oauth2 passdb and the test SMTP server ask."""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

CLIENT_ID, CLIENT_SECRET = "helpdesk-app", "client-secret-0123"


@dataclass
class TokenRequest:
    grant_type: str
    client_id: str
    refresh_token: str = ""
    scope: str = ""


@dataclass
class Provider:
    """``user``: the mailbox a client-credentials token opens (as the application's permission on it);
    ``lifetime``: seconds an access token lives."""

    user: str = "support@test"
    lifetime: int = 3600
    clients: dict[str, str] = field(default_factory=lambda: {CLIENT_ID: CLIENT_SECRET})
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # valid refresh token → its user
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → (user, expires)
    requests: list[TokenRequest] = field(default_factory=list)
    introspected: list[str] = field(default_factory=list)
    is_down: bool = False  # answers 503, as a provider in trouble

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                length = int(self.headers.get("Content-Length") or 0)
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path == "/token":
                    status, answer = provider.token(form, self.headers.get("Authorization", ""))
                elif self.path == "/introspect":
                    status, answer = 200, provider.introspect(form.get("token", ""))
                else:
                    status, answer = 404, {"error": "not_found"}
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.token_url, self.introspection_url = f"{self.url}/token", f"{self.url}/introspect"

    def issue_refresh_token(self, user: str | None = None) -> str:
        """A refresh token as the provider gives after its user signed in and allowed the desk."""
        token = "rt-" + secrets.token_urlsafe(16)
        self.refresh_tokens[token] = user or self.user
        return token

    def revoke_client(self, client_id: str = CLIENT_ID) -> None:
        self.clients.pop(client_id, None)

    def revoke_access_tokens(self) -> None:
        """Every access token given so far stops working (as after a password reset or a revoked session)."""
        with self.lock:
            self.access_tokens.clear()

    def grants(self) -> list[str]:
        return [request.grant_type for request in self.requests]

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        if self.is_down:
            return 503, {"error": "temporarily_unavailable"}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        grant = form.get("grant_type", "")
        with self.lock:
            self.requests.append(TokenRequest(grant, client_id, form.get("refresh_token", ""), form.get("scope", "")))
            if client_id not in self.clients or (client_secret and self.clients[client_id] != client_secret):
                return 401, {"error": "invalid_client",
                             "error_description": "AADSTS7000215: Invalid client secret provided."}
            if grant == "client_credentials":
                if not client_secret:
                    return 401, {"error": "invalid_client", "error_description": "client_secret is missing"}
                return 200, self._issue(self.user)
            if grant == "refresh_token":
                user = self.refresh_tokens.pop(form.get("refresh_token", ""), None)  # one use: rotated
                if user is None:
                    return 400, {"error": "invalid_grant", "error_description":
                                 "AADSTS70008: The refresh token has expired or is invalid."}
                return 200, {**self._issue(user), "refresh_token": self.issue_refresh_token(user)}
            return 400, {"error": "unsupported_grant_type"}

    def _issue(self, user: str) -> dict:
        token = "at-" + secrets.token_urlsafe(24)
        self.access_tokens[token] = (user, time.monotonic() + self.lifetime)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}

    def introspect(self, token: str) -> dict:
        with self.lock:
            self.introspected.append(token)
            user, expires = self.access_tokens.get(token, ("", 0.0))
        if not user or time.monotonic() >= expires:
            return {"active": False}
        return {"active": True, "username": user, "token_type": "Bearer"}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
