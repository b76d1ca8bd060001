"""The HTTP clients an adapter calls its vendor with: a stack of clients, each call leasing
the top one, all sharing one TLS context.

A worker process runs one adapter per vendor in a pool of 150–300 threads. With one shared
client, every request and every response walks the whole connection pool under its lock
(httpcore 1.0's `_assign_requests_to_connections`), and after a burst the pool holds a
connection per thread, so the walk grows with the thread count. With 150 / 300 kept-alive
connections in the pool a call cost 2.7 / 3.4 ms of CPU, against 1.0 ms on a client holding
only its own (bench/vendor_http.py). Under bench/pipeline.py --vendor-keeps-connections at 150
threads the worker's median CPU per pair went from 13.5 / 14.1 / 15.7 ms to 11.9 / 13.2 /
9.2 ms in three alternating runs, and at 300 threads from 17.1–21.7 ms to 10.2–14.4 ms.

A client per thread avoided the walk but lost the connections between calls: the thread pool
wakes its idle threads in turn, so at 2 or 10 calls/s through 150 threads every call found its
thread's connection past the keep-alive and opened a new one; over TLS that cost 3.9–4.0 ms of
CPU per call against 1.6–1.7 ms on the stack, which opened one connection for the first call
and reused it (bench/vendor_http.py --tls, steady). A call makes one request at a time (two for
a token), so a leased client holds the connection its calls use and nothing else is walked.
"""

from __future__ import annotations

import functools
import http.cookiejar
import ssl
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

#: A client caps nothing: whatever it opens is kept for its next call (a new connection is a new
#: TCP, and TLS, handshake).
CONNECTION_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=None)

#: A client nobody has leased for this long is closed. Its connections passed httpx's keep-alive
#: long before (five seconds), so nothing reusable is lost; kept, a worker would hold a client,
#: and a socket the vendor has closed, for every call of its largest burst until it stops.
IDLE_CLIENT_SECONDS = 60.0


class _RefusingJar(http.cookiejar.CookieJar):
    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        raise TypeError("a CookielessClient keeps no cookies")


class _NoCookies(httpx.Cookies):
    """An empty jar that takes nothing from a response, and refuses a cookie set on it: one jar
    serves every client of the process, so a cookie set on one would go out on all of them."""

    def __init__(self) -> None:
        super().__init__(_RefusingJar())

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


class CookielessClient(httpx.Client):
    """An httpx client that keeps no cookies: none of our vendors (VENDOR-PROTOCOLS) has any use
    for them, and a kept one would be sent back on every later call on the client, as state a
    vendor set and we never asked for.

    It is also cheaper: httpx copies every response's request into a `urllib` request to let
    `http.cookiejar` look for Set-Cookie; without it a pipeline attempt (a vendor call, and a
    webhook then also sent through a client) took 17.24 M instructions instead of 17.83 M
    (bench/attempt_cost.py under callgrind). httpx 0.28 reads the jar through the `cookies`
    property only, which tests/vendors/test_connection_limits.py checks.
    """

    @property  # type: ignore[misc]  # read-only: no jar can be set on it
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES


_NO_COOKIES = _NoCookies()


def send_body_in_one_write(request: httpx.Request) -> None:
    """Join a request's body before it is sent (an httpx request hook).

    httpx streams a multipart form piece by piece: a dozen socket writes for a two-image call,
    and on a busy worker each one hands the GIL to another thread and waits to get it back. Read
    whole, the body goes out in one write after the headers; the bytes on the wire are the same.
    """
    request.read()


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context every vendor client shares, made once per process: loading the
    CA store costs milliseconds of CPU and memory per context. It honours SSL_CERT_FILE and
    SSL_CERT_DIR as httpx's own default does. SSLContext is safe to share between threads."""
    return httpx.create_ssl_context()


class ClientStack:
    """The adapter's idle clients, the most recently used on top. A call leases the top one.

    The clients of the calls in flight are the ones kept busy and their connections warm; those
    further down are needed only by a burst, and a connection of theirs that passed httpx's
    keep-alive (five seconds) is replaced when one is leased again. The bottom of the stack is
    the client given back longest ago: once that is `IDLE_CLIENT_SECONDS` ago, it is closed.
    """

    def __init__(self, timeout: httpx.Timeout, clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = timeout
        self._clock = clock
        self._idle: deque[tuple[httpx.Client, float]] = deque()  # (client, when given back)
        self._local = threading.local()
        # Every client made, leased or idle, for close(); one whose lease outlives close() is
        # not put back, and its sockets close when it is collected.
        self._clients: weakref.WeakSet[httpx.Client] = weakref.WeakSet()
        self._lock = threading.Lock()

    @contextmanager
    def lease(self) -> Iterator[httpx.Client]:
        """The calling thread's client until the block ends; nested leases share it."""
        held = self.leased()
        if held is not None:
            yield held
            return
        with self._lock:
            client = self._idle.pop()[0] if self._idle else None
        if client is None:
            client = self._new_client()
        self._local.client = client
        try:
            yield client
        finally:
            self._local.client = None
            self._give_back(client)

    def _give_back(self, client: httpx.Client) -> None:
        now = self._clock()
        unused = []
        with self._lock:
            if client in self._clients:  # not closed meanwhile
                self._idle.append((client, now))
            while self._idle and self._idle[0][1] < now - IDLE_CLIENT_SECONDS:
                stale, _ = self._idle.popleft()
                self._clients.discard(stale)
                unused.append(stale)
        for stale in unused:  # outside the lock: closing waits for the sockets
            stale.close()

    def leased(self) -> httpx.Client | None:
        """The client the calling thread holds, if it holds one."""
        return getattr(self._local, "client", None)

    def _new_client(self) -> httpx.Client:
        client = CookielessClient(
            timeout=self._timeout,
            limits=CONNECTION_LIMITS,
            verify=tls_context(),
            event_hooks={"request": [send_body_in_one_write]},
        )
        with self._lock:
            self._clients.add(client)
        return client

    def close(self) -> None:
        """Close every client, idle or leased; later leases get new ones."""
        with self._lock:
            clients = list(self._clients)
            self._clients.clear()
            self._idle.clear()
        for client in clients:
            client.close()
