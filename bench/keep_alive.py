"""A sandbox served as a real vendor serves it: HTTP/1.1, connections kept between calls.

Werkzeug's development server, which the sandboxes run on, ends every response with
`Connection: close`, so each call the worker makes opens a new connection and its HTTP client's
pool only ever holds the calls in flight. A vendor's API keeps connections alive, and then the
client's pool holds one connection per worker thread between bursts. This serves the same WSGI
app over the standard library's HTTP/1.1 handler, which keeps each connection for the next
request (the sandboxes' answers all carry a Content-Length).
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
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
