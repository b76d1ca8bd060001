"""A sandbox served as a real vendor serves it: HTTP/1.1, connections kept between calls.

Werkzeug's development server, which the sandboxes run on, ends every response with
`Connection: close`, so each call the worker makes opens a new connection and its HTTP client's
pool only ever holds the calls in flight. A vendor's API keeps connections alive, and then the
client's pool holds one connection per worker thread between bursts. This serves the same WSGI
app over the standard library's HTTP/1.1 handler, which keeps each connection for the next
request (the sandboxes' answers all carry a Content-Length). The benches' webhook receiver keeps
its connections too, and either can speak TLS with a certificate made for the run.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler


class _Handler11(ServerHandler):
    http_version = "1.1"


class _KeepAlive(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle(self) -> None:
        # BaseHTTPRequestHandler's loop: one request after another until a side closes.
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or not self.parse_request():
            self.close_connection = True
            return
        handler = _Handler11(
            self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:
        pass


class BurstServer(ThreadingHTTPServer):
    """A loopback server that a burst of calls can connect to all at once."""

    daemon_threads = True
    request_queue_size = 1024


class _Server(BurstServer):
    def __init__(self, app: Any) -> None:
        super().__init__(("127.0.0.1", 0), _KeepAlive)
        self.app = app
        # The parts of wsgiref's WSGIServer its request handler reads.
        self.base_environ = {
            "SERVER_NAME": "127.0.0.1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PORT": str(self.server_port),
            "REMOTE_HOST": "",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "",
        }

    def get_app(self) -> Any:
        return self.app


def serve_keeping_connections(app: Any) -> tuple[str, ThreadingHTTPServer]:
    """Serve `app` on a loopback port in a background thread: (its base URL, the server)."""
    server = _Server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


class _Accept(BaseHTTPRequestHandler):
    """A webhook receiver that answers 204 to everything, keeping connections open between
    requests as real receivers do (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def serve_webhook_receiver(*, tls_trusted_by: ssl.SSLContext | None = None) -> str:
    """A receiver accepting every webhook, on a loopback port in a background thread: its URL.
    With `tls_trusted_by`, it speaks https with a certificate that context is made to trust."""
    receiver = BurstServer(("127.0.0.1", 0), _Accept)
    if tls_trusted_by is not None:
        wrap_in_tls(receiver, trusted_by=tls_trusted_by)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    scheme = "http" if tls_trusted_by is None else "https"
    return f"{scheme}://127.0.0.1:{receiver.server_port}/hook"


def wrap_in_tls(server: ThreadingHTTPServer, *, trusted_by: ssl.SSLContext) -> None:
    """Make `server` (not yet serving) speak TLS with a self-signed certificate for 127.0.0.1,
    which the client context `trusted_by` is made to trust: a handshake costs what a real one
    does."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench server")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    with tempfile.NamedTemporaryFile(suffix=".pem") as chain:
        chain.write(certificate_pem)
        chain.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        chain.flush()
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(chain.name)
    trusted_by.load_verify_locations(cadata=certificate_pem.decode())
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
