"""An adapter's HTTP client never makes a worker thread wait for a connection, nor for the GIL
between the parts of its request.

One adapter (one httpx client) serves every thread of a worker process. The client used to allow
100 connections, so a worker of 150 threads had 50 waiting for a connection while the vendor
was idle, capping the process at 100 / latency calls per second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore._backends.sync
import pytest

from vendors.advance.adapter import AdvanceAdapter

#: More calls in flight at once than the old cap of 100 allowed.
IN_FLIGHT = 120


@pytest.fixture
def server_holding_calls() -> Iterator[tuple[str, threading.Barrier]]:
    """A server that answers only once IN_FLIGHT requests are waiting at the same time."""
    barrier = threading.Barrier(IN_FLIGHT)

    class Hold(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            try:
                barrier.wait(timeout=10)
                status = 200
            except threading.BrokenBarrierError:
                status = 503
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hold)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", barrier
    finally:
        barrier.abort()
        server.shutdown()
        server.server_close()


def test_one_adapter_keeps_more_calls_in_flight_than_the_old_cap(
    server_holding_calls: tuple[str, threading.Barrier],
) -> None:
    url, _ = server_holding_calls
    adapter = AdvanceAdapter(
        {"ADVANCE_ACCESS_KEY": "key", "ADVANCE_SECRET_KEY": "secret"}, timeout=15
    )
    try:
        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as threads:
            statuses = list(
                threads.map(lambda _: adapter.http.get(url).status_code, range(IN_FLIGHT))
            )
    finally:
        adapter.close()
    assert statuses == [200] * IN_FLIGHT


def test_idle_connections_are_kept_for_the_next_calls(
    server_holding_calls: tuple[str, threading.Barrier],
) -> None:
    """After a burst every connection stays open for reuse: none was closed for being over a
    keep-alive cap (a new TCP and TLS handshake per call)."""
    url, _ = server_holding_calls
    adapter = AdvanceAdapter(
        {"ADVANCE_ACCESS_KEY": "key", "ADVANCE_SECRET_KEY": "secret"}, timeout=15
    )
    try:
        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as threads:
            list(threads.map(lambda _: adapter.http.get(url), range(IN_FLIGHT)))
        pool = adapter.http._transport._pool  # type: ignore[attr-defined]
        idle = [connection for connection in pool.connections if connection.is_idle()]
    finally:
        adapter.close()
    assert len(idle) == IN_FLIGHT


class _Receive(BaseHTTPRequestHandler):
    """Keeps the body of each request it receives and answers 200."""

    protocol_version = "HTTP/1.1"
    received: list[bytes] = []

    def do_POST(self) -> None:
        _Receive.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_multipart_call_goes_out_as_headers_then_the_whole_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx writes a multipart form piece by piece (a write per boundary, part header and file),
    and each write lets another worker thread take the GIL; the adapter's client sends the same
    bytes in two."""
    writes: list[bytes] = []
    write = httpcore._backends.sync.SyncStream.write

    def recording_write(stream: object, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:  # the end of a sized body is an empty write, which sends nothing
            writes.append(buffer)
        write(stream, buffer, timeout)  # type: ignore[arg-type]

    monkeypatch.setattr(httpcore._backends.sync.SyncStream, "write", recording_write)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    adapter = AdvanceAdapter(
        {"ADVANCE_ACCESS_KEY": "key", "ADVANCE_SECRET_KEY": "secret"}, timeout=15
    )
    selfie, reference = b"\xff\xd8selfie" * 20_000, b"\xff\xd8reference" * 20_000
    try:
        response = adapter.http.post(
            f"http://127.0.0.1:{server.server_port}/check",
            data={"note": "n"},
            files={"a": ("s.jpg", selfie, "image/jpeg"), "b": ("r.jpg", reference, "image/jpeg")},
        )
    finally:
        adapter.close()
        server.shutdown()
        server.server_close()
    assert response.status_code == 200
    headers, body = writes
    assert headers.startswith(b"POST /check HTTP/1.1\r\n")
    assert body == _Receive.received[-1]
    assert body.index(selfie) < body.index(reference)
    assert f"content-length: {len(body)}".encode() in headers.lower()
