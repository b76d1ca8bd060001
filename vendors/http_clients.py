"""The HTTP clients an adapter calls its vendor with: one per thread, sharing one TLS context.

A worker process runs one adapter per vendor in a pool of 150–300 threads. With one shared
client, every request and every response walks the whole connection pool under its lock
(httpcore 1.0's `_assign_requests_to_connections`), and the pool holds a connection per thread,
so the walk grows with the thread count. With 150 / 300 kept-alive connections in the pool a
call cost 2.7 / 3.4 ms of CPU, against 1.0 ms on a client of the thread's own
(bench/vendor_http.py). Under bench/pipeline.py --vendor-keeps-connections at 150 threads the
worker's median CPU per pair went from 13.5 / 14.1 / 15.7 ms to 11.9 / 13.2 / 9.2 ms in three
alternating runs, and at 300 threads from 17.1–21.7 ms to 10.2–14.4 ms.

A thread makes one call at a time, so a client of its own holds just the connection that thread
uses, kept alive between its calls, and nothing else is walked: the process keeps as many
connections as before, one per thread that called the vendor.
"""

from __future__ import annotations

import functools
import ssl
import threading
import weakref

import httpx

#: A thread's client caps nothing: whatever it opens is kept for its next call (a new connection
#: is a new TCP, and TLS, handshake).
CONNECTION_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=None)


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


class ThreadClients:
    """The calling thread's client, made on its first call with the adapter's timeout."""

    def __init__(self, timeout: httpx.Timeout) -> None:
        self._timeout = timeout
        self._local = threading.local()
        # A finished thread's client goes with it (its sockets close when it is collected);
        # close() reaches those still alive.
        self._clients: weakref.WeakSet[httpx.Client] = weakref.WeakSet()
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(
                timeout=self._timeout,
                limits=CONNECTION_LIMITS,
                verify=tls_context(),
                event_hooks={"request": [send_body_in_one_write]},
            )
            self._local.client = client
            with self._lock:
                self._clients.add(client)
        return client

    def close(self) -> None:
        """Close every thread's client; a thread that calls again gets a new one."""
        with self._lock:
            clients = list(self._clients)
            self._clients.clear()
        self._local = threading.local()
        for client in clients:
            client.close()
