"""HTTPS with IP pinning: SNI and certificate checks use the URL's host name."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from domain.webhooks.delivery import deliver, make_session

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl CLI")


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.hosts.append(self.headers.get("Host"))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def tls_receiver(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=receiver.test", "-addext", "subjectAltName=DNS:receiver.test"],
        check=True, capture_output=True, timeout=30,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.hosts = []
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server, str(cert)
    finally:
        server.shutdown()
        server.server_close()


def _to_loopback(host, port, *a, **kw):
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]


def test_https_to_pinned_ip_verifies_certificate_for_url_host(tls_receiver):
    server, ca = tls_receiver
    port = server.server_address[1]
    session = make_session()
    session.verify = ca
    out = deliver(f"https://receiver.test:{port}/hook", b"{}", {}, allow_private=True,
                  timeout_s=5, session=session, resolver=_to_loopback)
    assert out.delivered, out
    assert server.hosts == [f"receiver.test:{port}"]


def test_https_certificate_for_other_name_is_refused(tls_receiver):
    server, ca = tls_receiver
    port = server.server_address[1]
    session = make_session()
    session.verify = ca
    out = deliver(f"https://impostor.test:{port}/hook", b"{}", {}, allow_private=True,
                  timeout_s=5, session=session, resolver=_to_loopback)
    assert not out.delivered
    assert out.error_code == "connection_error"
    assert "impostor.test" in out.error_message or "hostname" in out.error_message.lower()
    assert server.hosts == []
