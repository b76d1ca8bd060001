"""An adapter's HTTP clients never make a worker thread wait for a connection, nor for the GIL
between the parts of its request, nor walk other threads' connections.

One adapter serves every thread of a worker process, each thread with a client of its own. The
one shared client used to allow 100 connections, so a worker of 150 threads had 50 waiting for a
connection while the vendor was idle, capping the process at 100 / latency calls per second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore._backends.sync
import pytest

from vendors.advance.adapter import AdvanceAdapter
from vendors.http_clients import tls_context

#: More calls in flight at once than the old cap of 100 allowed.
IN_FLIGHT = 120


class _Hold(BaseHTTPRequestHandler):
    """Keeps connections open between requests (HTTP/1.1) and counts the connections made."""

    protocol_version = "HTTP/1.1"
    connections: list[object] = []

    def setup(self) -> None:
        _Hold.connections.append(self.client_address)
        super().setup()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server_holding_calls() -> Iterator[tuple[str, threading.Barrier]]:
    """A server that answers only once IN_FLIGHT requests are waiting at the same time."""
    barrier = threading.Barrier(IN_FLIGHT)

    class Hold(_Hold):
        def do_GET(self) -> None:
            try:
                barrier.wait(timeout=10)
                status = 200
            except threading.BrokenBarrierError:
                status = 503
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    _Hold.connections = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hold)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", barrier
    finally:
        barrier.abort()
        server.shutdown()
        server.server_close()


@pytest.fixture
def adapter() -> Iterator[AdvanceAdapter]:
    adapter = AdvanceAdapter(
        {"ADVANCE_ACCESS_KEY": "key", "ADVANCE_SECRET_KEY": "secret"}, timeout=15
    )
    yield adapter
    adapter.close()


def test_more_calls_than_the_old_cap_run_at_once_and_a_second_burst_reuses_their_connections(
    server_holding_calls: tuple[str, threading.Barrier], adapter: AdvanceAdapter
) -> None:
    """After a burst every connection stays open for its thread's next call: none was closed for
    being over a keep-alive cap (a new TCP and TLS handshake per call)."""
    url, _ = server_holding_calls
    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as threads:
        for _ in range(2):
            statuses = list(
                threads.map(lambda _: adapter.http.get(url).status_code, range(IN_FLIGHT))
            )
            assert statuses == [200] * IN_FLIGHT
    assert len(_Hold.connections) == IN_FLIGHT


def test_each_thread_calls_with_its_own_client_and_all_share_one_tls_context(
    adapter: AdvanceAdapter,
) -> None:
    """A shared client walks every thread's connection under one lock on each request and each
    response (vendors.http_clients); a thread's own client holds only what that thread opened."""
    here = adapter.http
    with ThreadPoolExecutor(max_workers=1) as other:
        there = other.submit(lambda: adapter.http).result()
    assert adapter.http is here
    assert there is not here
    pools = [client._transport._pool for client in (here, there)]  # type: ignore[attr-defined]
    assert all(pool._ssl_context is tls_context() for pool in pools)


def test_closing_the_adapter_closes_every_threads_client_and_a_later_call_gets_a_new_one(
    server_holding_calls: tuple[str, threading.Barrier], adapter: AdvanceAdapter
) -> None:
    url, barrier = server_holding_calls
    here = adapter.http
    with ThreadPoolExecutor(max_workers=1) as other:
        there = other.submit(lambda: adapter.http).result()
        adapter.close()
        assert here.is_closed and there.is_closed
        assert other.submit(lambda: adapter.http).result() not in (here, there)
    barrier.abort()  # the server answers at once from now on
    assert adapter.http.get(url).status_code == 503


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
    monkeypatch: pytest.MonkeyPatch, adapter: AdvanceAdapter
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
    selfie, reference = b"\xff\xd8selfie" * 20_000, b"\xff\xd8reference" * 20_000
    try:
        response = adapter.http.post(
            f"http://127.0.0.1:{server.server_port}/check",
            data={"note": "n"},
            files={"a": ("s.jpg", selfie, "image/jpeg"), "b": ("r.jpg", reference, "image/jpeg")},
        )
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 200
    headers, body = writes
    assert headers.startswith(b"POST /check HTTP/1.1\r\n")
    assert body == _Receive.received[-1]
    assert body.index(selfie) < body.index(reference)
    assert f"content-length: {len(body)}".encode() in headers.lower()
