"""A real HTTP receiver on 127.0.0.1 (http.server in a thread) for delivery tests."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from standardwebhooks import Webhook


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self):  # noqa: N802 - http.server API
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = {"path": parts.path, "headers": headers, "body": body}
        self.server.requests.append(record)
        route = parts.path.strip("/").split("/")
        getattr(self, "route_" + route[0].replace("-", "_"))(record, route, query)

    def _send(self, code: int, body: bytes = b"", headers: dict | None = None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # -- routes ---------------------------------------------------------------
    def route_verify(self, record, route, query):
        """Verifies with the standardwebhooks library, as a clinic would."""
        try:
            for secret in self.server.secrets:
                record.setdefault("verified_with", [])
                payload = Webhook(secret).verify(record["body"], record["headers"])
                record["verified_with"].append(secret)
                record["payload"] = payload
        except Exception as exc:  # noqa: BLE001
            record["error"] = repr(exc)
            self._send(401, b"bad signature")
            return
        self._send(204)

    def route_status(self, record, route, query):
        headers = {}
        if "retry_after" in query:
            headers["Retry-After"] = query["retry_after"]
        self._send(int(route[1]), f"status {route[1]}".encode(), headers)

    def route_flaky(self, record, route, query):
        """Fails (503) until it has been called `ok_after` times."""
        if len(self.server.requests) < int(query["ok_after"]):
            self._send(503, b"try later")
        else:
            self._send(200, b"ok")

    def route_redirect(self, record, route, query):
        host, port = self.server.server_address[:2]
        self._send(301, b"", {"Location": f"http://{host}:{port}/verify"})

    def route_hang(self, record, route, query):
        self.server.release.wait(10)
        try:
            self._send(200, b"too late")
        except OSError:
            pass

    def route_trickle_headers(self, record, route, query):
        """Sends a status line, then one header byte at a time, forever."""
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self.wfile.flush()
            while not self.server.release.wait(0.05):
                self.wfile.write(b"X")
                self.wfile.flush()
        except OSError:
            pass

    def route_trickle_body(self, record, route, query):
        """A 500 whose declared body arrives one byte at a time, forever."""
        try:
            self.send_response(500)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.flush()
            while not self.server.release.wait(0.05):
                self.wfile.write(b"x")
                self.wfile.flush()
        except OSError:
            pass

    def route_huge(self, record, route, query):
        """A 200 with a 512 MiB body, written until the client goes away."""
        chunk = b"A" * 65536
        sent = 0
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(512 * 1024 * 1024))
            self.end_headers()
            while sent < 512 * 1024 * 1024 and not self.server.release.is_set():
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass
        finally:
            self.server.huge_sent = sent


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.secrets: list[str] = []
        self.release = threading.Event()
        self.huge_sent = None

    def url(self, path: str) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{path}"


@pytest.fixture
def receiver():
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        time.sleep(0.01)
