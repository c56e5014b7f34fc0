"""A stand-in Decidim on loopback (a real HTTP server) answering from shared/fixtures/decidim, and told
to misbehave the ways real installations do: forced login, 429, 500, garbage, slowness, 0.29's
translated organisation name."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "decidim"


class DecidimServer:
    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[str] = []
        self.agents: list[str] = []
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
                query = json.loads(self.rfile.read(length) or b"{}").get("query", "")
                server.requests.append(query)
                server.agents.append(self.headers.get("User-Agent", ""))
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

        self.fixtures = fixtures
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

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
