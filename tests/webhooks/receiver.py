"""A webhook receiver on loopback (a real HTTP server in a thread) that checks each delivery's signature the
way the README tells receivers to, and records what it got. It can be down (nothing listens on its port:
connections are refused), answer 500, or take deliveries (200), with a JSON answer, an HTML one, or one that
never ends."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature_is_valid(header: str, body: bytes, secret: str, now: float | None = None) -> bool:
    """The README's check, written again here: HMAC-SHA256 of "{t}.{body}", any v1, t within 5 minutes."""
    now = time.time() if now is None else now
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    timestamps = [value for key, value in parts if key == "t"]
    signatures = [value for key, value in parts if key == "v1"]
    if len(timestamps) != 1 or abs(now - int(timestamps[0])) > 300:
        return False
    expected = hmac.new(secret.encode(), f"{timestamps[0]}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


@dataclass
class Received:
    event: str
    delivery: str
    payload: dict
    signed: bool
    answered: int
    host: str = ""


class Receiver:
    def __init__(self) -> None:
        self.mode = "ok"  # ok, error500, html, or an answer without end: huge, trickle
        self.secret = ""
        self.received: list[Received] = []  # every request, whatever it was answered
        self.lock = threading.Lock()
        with socket.socket() as probe:  # a free port, kept for the receiver's whole life
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/participa311"

    @property
    def taken(self) -> list[Received]:
        """The deliveries it took (answered 2xx) with a valid signature."""
        return [item for item in self.received if item.answered == 200 and item.signed]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                signed = signature_is_valid(self.headers.get("X-Participa311-Signature", ""), body, receiver.secret)
                status = 500 if receiver.mode == "error500" else 200 if signed else 400
                with receiver.lock:
                    receiver.received.append(Received(self.headers.get("X-Participa311-Event", ""),
                                                      self.headers.get("X-Participa311-Delivery", ""),
                                                      json.loads(body or b"{}"), signed, status,
                                                      self.headers.get("Host", "")))
                if receiver.mode in ("huge", "trickle"):
                    self.answer_without_end(receiver.mode)
                    return
                answer = b'{"ok": true}' if status == 200 else b"busy" if status == 500 else b"bad signature"
                if receiver.mode == "html":
                    answer = b"<p>Thanks</p><img src=x onerror=alert(1)>"
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if receiver.mode == "html" else "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def answer_without_end(self, mode: str) -> None:
                """200, then a body that never ends: fast and endless ("huge") or a byte at a time ("trickle"),
                until the desk hangs up."""
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(b"x" * 65536 if mode == "huge" else b"x")
                        self.wfile.flush()
                        if mode == "trickle":
                            time.sleep(0.05)
                except OSError:  # the desk hung up
                    pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Down: nothing listens on the port any more (connections are refused)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.server = self.thread = None
