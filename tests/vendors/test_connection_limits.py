"""An adapter's HTTP clients never make a worker thread wait for a connection, nor for the GIL
between the parts of its request, nor walk other threads' connections, and the connections of
the calls in flight are the ones kept warm.

One adapter serves every thread of a worker process; a call leases a client from the adapter's
stack (vendors.http_clients). The one shared client used to allow 100 connections, so a worker
of 150 threads had 50 waiting for a connection while the vendor was idle.
"""

from __future__ import annotations

import http.cookiejar
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore._backends.sync
import httpx
import pytest

from vendors.advance.adapter import AdvanceAdapter
from vendors.base import CompareRequest, CompareResult, PreparedImage, ResultStatus
from vendors.http_clients import IDLE_CLIENT_SECONDS, ClientStack, tls_context

#: More calls in flight at once than the old cap of 100 allowed.
IN_FLIGHT = 120


class _Counting(BaseHTTPRequestHandler):
    """Keeps connections open between requests (HTTP/1.1) and counts the connections made."""

    protocol_version = "HTTP/1.1"
    connections: list[object] = []

    def setup(self) -> None:
        _Counting.connections.append(self.client_address)
        super().setup()

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[_Counting]) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    _Counting.connections = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server_holding_calls() -> Iterator[str]:
    """A server that answers only once IN_FLIGHT requests are waiting at the same time."""
    barrier = threading.Barrier(IN_FLIGHT)

    class Hold(_Counting):
        def do_GET(self) -> None:
            try:
                barrier.wait(timeout=10)
                self.answer(200)
            except threading.BrokenBarrierError:
                self.answer(503)

    try:
        yield from (url for url, _ in _serve(Hold))
    finally:
        barrier.abort()


@pytest.fixture
def server() -> Iterator[str]:
    """A server that answers every request at once."""

    class Answer(_Counting):
        def do_GET(self) -> None:
            self.answer(200)

    yield from (url for url, _ in _serve(Answer))


@pytest.fixture
def adapter() -> Iterator[AdvanceAdapter]:
    adapter = AdvanceAdapter(
        {"ADVANCE_ACCESS_KEY": "key", "ADVANCE_SECRET_KEY": "secret"}, timeout=15
    )
    yield adapter
    adapter.close()


def _get(adapter: AdvanceAdapter, url: str) -> tuple[int, httpx.Client]:
    with adapter.lease_client() as http:
        return http.get(url).status_code, http


def test_more_calls_than_the_old_cap_run_at_once_and_a_second_burst_reuses_their_connections(
    server_holding_calls: str, adapter: AdvanceAdapter
) -> None:
    """After a burst every connection stays open for a next call: none was closed for being
    over a keep-alive cap (a new TCP and TLS handshake per call)."""
    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as threads:
        for _ in range(2):
            answers = list(
                threads.map(lambda _: _get(adapter, server_holding_calls), range(IN_FLIGHT))
            )
            assert [status for status, _ in answers] == [200] * IN_FLIGHT
            assert len({id(client) for _, client in answers}) == IN_FLIGHT
    assert len(_Counting.connections) == IN_FLIGHT


class _Calling(AdvanceAdapter):
    """An adapter whose comparison is one GET to `url` with `self.http`."""

    url = ""
    callers: set[int]

    def _compare(self, request: CompareRequest) -> CompareResult:
        self.callers.add(threading.get_ident())
        self.http.get(self.url).raise_for_status()
        return CompareResult(vendor=self.name, status=ResultStatus.COMPLETED, score=99.0)


def test_calls_one_after_another_reuse_one_connection_whichever_thread_makes_them(
    server: str,
) -> None:
    """A worker's pool hands each task to a different idle thread in turn: with a client per
    thread, a call every few seconds found its thread's connection expired and opened another.
    Calls leasing from the stack use the client the last call gave back, and its connection."""
    adapter = _Calling({"ADVANCE_ACCESS_KEY": "key", "ADVANCE_SECRET_KEY": "secret"})
    adapter.url, adapter.callers = server, set()
    image = PreparedImage(b"\xff\xd8", "image/jpeg", 1, 1, 1, 1)
    request = CompareRequest(selfie=image, reference=image, reference_id="r")
    threads = ThreadPoolExecutor(max_workers=8)
    barrier = threading.Barrier(8)
    list(threads.map(lambda _: barrier.wait(), range(8)))  # all 8 threads are idle in the pool
    try:
        for _ in range(16):
            result = threads.submit(adapter.compare, request).result()
            assert result.status == ResultStatus.COMPLETED
    finally:
        threads.shutdown()
        adapter.close()
    assert len(adapter.callers) > 1
    assert len(_Counting.connections) == 1


def test_calls_at_once_lease_clients_of_their_own_and_all_share_one_tls_context(
    adapter: AdvanceAdapter,
) -> None:
    """A shared client walks every connection under one lock on each request and each response
    (vendors.http_clients); a leased client holds only what its calls opened."""
    with adapter.lease_client() as here:
        assert adapter.http is here
        with adapter.lease_client() as nested:
            assert nested is here
        with ThreadPoolExecutor(max_workers=1) as other:
            there = other.submit(lambda: _lease(adapter)).result()
    assert there is not here
    pools = [client._transport._pool for client in (here, there)]  # type: ignore[attr-defined]
    assert all(pool._ssl_context is tls_context() for pool in pools)


def _lease(adapter: AdvanceAdapter) -> httpx.Client:
    with adapter.lease_client() as client:
        return client


def test_the_client_is_only_reachable_inside_a_call(adapter: AdvanceAdapter) -> None:
    with pytest.raises(RuntimeError, match=r"inside compare\(\)"):
        adapter.http  # noqa: B018


def test_closing_the_adapter_closes_idle_and_leased_clients_and_a_later_call_gets_a_new_one(
    server: str, adapter: AdvanceAdapter
) -> None:
    idle = _lease(adapter)
    with adapter.lease_client() as leased:
        assert leased is idle  # the one given back is leased next
        with ThreadPoolExecutor(max_workers=1) as other:
            busy = other.submit(lambda: _lease(adapter)).result()  # given back: idle
        adapter.close()
        assert leased.is_closed and busy.is_closed
    status, later = _get(adapter, server)
    assert status == 200
    assert later not in (leased, busy)  # the closed one was not given back to the stack


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
        with adapter.lease_client() as http:
            response = http.post(
                f"http://127.0.0.1:{server.server_port}/check",
                data={"note": "n"},
                files={
                    "a": ("s.jpg", selfie, "image/jpeg"),
                    "b": ("r.jpg", reference, "image/jpeg"),
                },
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


def test_clients_left_idle_after_a_burst_are_closed_once_a_call_finds_them_a_minute_old(
    server: str,
) -> None:
    now = [1000.0]
    stack = ClientStack(httpx.Timeout(5), clock=lambda: now[0])
    burst = threading.Barrier(3, timeout=5)

    def call() -> httpx.Client:
        with stack.lease() as http:
            burst.wait()  # three calls at once: three clients
            assert http.get(server).status_code == 200
            return http

    with ThreadPoolExecutor(max_workers=3) as pool:
        clients = list(pool.map(lambda _: call(), range(3)))
    assert len(set(clients)) == 3

    now[0] += IDLE_CLIENT_SECONDS  # not yet more than a minute
    with stack.lease() as kept:
        assert kept.get(server).status_code == 200
    assert not any(client.is_closed for client in clients)

    now[0] += 1
    with stack.lease() as again:
        assert again is kept  # the one given back last is leased first
    others = [client for client in clients if client is not kept]
    assert all(client.is_closed for client in others)
    assert not kept.is_closed
    with stack.lease() as first, ThreadPoolExecutor(max_workers=1) as other:
        second = other.submit(lambda: _leased_from(stack)).result()
    assert first is kept
    assert second not in clients  # a new client, not a closed one
    stack.close()


def _leased_from(stack: ClientStack) -> httpx.Client:
    with stack.lease() as http:
        return http


class _SetsCookie(_Counting):
    cookies_sent: list[str | None] = []

    def do_GET(self) -> None:
        _SetsCookie.cookies_sent.append(self.headers["Cookie"])
        self.send_response(200)
        self.send_header("Set-Cookie", "session=abc; Path=/")
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_cookie_the_vendor_sets_is_neither_parsed_nor_sent_back(
    monkeypatch: pytest.MonkeyPatch, adapter: AdvanceAdapter
) -> None:
    """No vendor protocol uses cookies; parsing Set-Cookie costs a `urllib` request per call."""

    def refuse(*args: object) -> None:
        raise AssertionError("the cookie jar was consulted")

    monkeypatch.setattr(http.cookiejar.CookieJar, "extract_cookies", refuse)
    monkeypatch.setattr(http.cookiejar.CookieJar, "add_cookie_header", refuse)
    _SetsCookie.cookies_sent = []
    for url, _ in _serve(_SetsCookie):
        assert [_get(adapter, url)[0] for _ in range(2)] == [200, 200]

    assert _SetsCookie.cookies_sent == [None, None]


def test_no_cookie_can_be_set_on_a_cookieless_client(adapter: AdvanceAdapter) -> None:
    # Every client of the process shares one empty jar: a cookie set on it would go out on all.
    with adapter.lease_client() as http:
        with pytest.raises(TypeError, match="keeps no cookies"):
            http.cookies.set("session", "abc")
        with pytest.raises(TypeError, match="keeps no cookies"):
            http.cookies.update({"session": "abc"})
        assert not http.cookies
