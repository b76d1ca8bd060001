"""What a vendor call's HTTP round trip costs a worker thread, by how its client is kept.

    python bench/vendor_http.py [--idle 1,50,150,300] [--calls 300]
                                [--steady 2,10,40] [--threads 150] [--seconds 10] [--tls]

A worker thread calls its vendor through httpx. Three ways to keep the clients are compared:
one client shared by every thread; a client per thread (how vendors.http_clients kept them
before the stack); and the adapter's stack, from which each call leases the client the last
call gave back (vendors.http_clients.ClientStack).

1. Burst (--idle): one shared client holds a kept-alive connection per thread that has called,
   and httpcore walks all of them under the pool's lock on every request and every response.
   For each --idle size this opens that many connections to a local keep-alive server at once,
   then times --calls sequential calls from one thread: on the shared client, then on a client
   leased from the stack, which holds only its own connection. Printed: ms of the calling
   thread's CPU per call (the server's threads are not counted), and how many connections the
   shared client held when its calls began.
2. Steady (--steady): calls at a steady rate for --seconds through a pool of --threads warm
   threads, as a worker's thread pool runs tasks. The pool hands each to whichever idle thread
   its queue wakes, so a client per thread is used once in about --threads calls, and past
   httpx's five-second keep-alive it opens a new connection. Printed per rate and way: new
   connections per call and the calling thread's median ms of CPU per call. With --tls the
   server speaks TLS (a certificate made for the run), as vendors do, and a new connection
   costs a handshake.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from http.server import BaseHTTPRequestHandler

import httpx

from bench.keep_alive import BurstServer, wrap_in_tls
from vendors.http_clients import CONNECTION_LIMITS, ClientStack, CookielessClient, tls_context

TIMEOUT = httpx.Timeout(60.0)
Lease = Callable[[], AbstractContextManager[httpx.Client]]


class _Answer(BaseHTTPRequestHandler):
    """Answers a small JSON body, keeping the connection (HTTP/1.1); holds each answer while
    `hold` is set, so a burst opens one connection per call."""

    protocol_version = "HTTP/1.1"
    hold = threading.Event()
    connections: list[object] = []  # one handler per connection; list.append is atomic

    def setup(self) -> None:
        _Answer.connections.append(self.client_address)
        super().setup()

    def do_GET(self) -> None:
        if _Answer.hold.is_set():
            time.sleep(1.0)
        body = b'{"code":"SUCCESS","data":{"similarity":"95.0"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _client() -> httpx.Client:
    """A client as the stack makes them, for the designs it is compared with."""
    return CookielessClient(limits=CONNECTION_LIMITS, timeout=TIMEOUT, verify=tls_context())


def shared_client() -> tuple[Lease, Callable[[], None]]:
    client = _client()
    return (lambda: nullcontext(client)), client.close


def client_per_thread() -> tuple[Lease, Callable[[], None]]:
    local, made = threading.local(), []

    def lease() -> AbstractContextManager[httpx.Client]:
        if not hasattr(local, "client"):
            local.client = _client()
            made.append(local.client)
        return nullcontext(local.client)

    def close() -> None:
        for client in made:
            client.close()

    return lease, close


def client_stack() -> tuple[Lease, Callable[[], None]]:
    stack = ClientStack(TIMEOUT)
    return stack.lease, stack.close


WAYS = {"shared client": shared_client, "per thread": client_per_thread, "stack": client_stack}


def burst_then_time(
    burst: ThreadPoolExecutor, lease: Lease, url: str, size: int, calls: int
) -> tuple[int, float]:
    """`size` calls at once through leased clients in the burst's threads, then `calls` one at
    a time in this thread: (connections this thread's client held, ms of CPU per call)."""

    def call() -> None:
        with lease() as client:
            client.get(url).raise_for_status()

    _Answer.hold.set()
    list(burst.map(lambda _: call(), range(size)))
    _Answer.hold.clear()
    with lease() as client:
        client.get(url)  # this thread's connection, opened before the clock starts
        held = len(client._transport._pool.connections)  # type: ignore[attr-defined]
        started = time.thread_time()
        for _ in range(calls):
            client.get(url).raise_for_status()
    return held, (time.thread_time() - started) / calls * 1000


def burst(url: str, sizes: list[int], calls: int) -> None:
    print(f"{calls} sequential calls from one thread, after a burst that opened N connections")
    print(f"{'N':>5}  {'pool holds':>10}  {'shared client':>14}  {'leased client':>14}")
    for size in sizes:
        with ThreadPoolExecutor(max_workers=size) as threads:
            timed = []
            for way in (shared_client, client_stack):
                lease, close = way()
                timed.append(burst_then_time(threads, lease, url, size, calls))
                close()  # its connections end before the next burst opens as many again
        (held, shared_ms), (_, leased_ms) = timed
        print(f"{size:>5}  {held:>10}  {shared_ms:>11.2f} ms  {leased_ms:>11.2f} ms")


@contextmanager
def warm_threads(count: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool whose `count` threads all exist and wait for work, as a busy worker's."""
    threads = ThreadPoolExecutor(max_workers=count)
    barrier = threading.Barrier(count)
    list(threads.map(lambda _: barrier.wait(), range(count)))
    try:
        yield threads
    finally:
        threads.shutdown()


def steady(url: str, rates: list[float], threads: int, seconds: float) -> None:
    print(f"\nCalls at a steady rate for {seconds:g} s through {threads} warm threads")
    print(f"{'calls/s':>8}  {'way':<14}  {'new connections per call':>24}  {'ms CPU per call':>15}")
    for rate in rates:
        for name, way in WAYS.items():
            lease, close = way()
            cpu: list[float] = []

            def call(lease: Lease = lease, cpu: list[float] = cpu) -> None:
                started = time.thread_time()
                with lease() as client:
                    client.get(url).raise_for_status()
                cpu.append(time.thread_time() - started)

            with warm_threads(threads) as pool:
                before, calls = len(_Answer.connections), round(rate * seconds)
                begun = time.monotonic()
                for n in range(calls):
                    time.sleep(max(0.0, begun + n / rate - time.monotonic()))
                    pool.submit(call)
            close()
            per_call = (len(_Answer.connections) - before) / calls
            print(
                f"{rate:>8g}  {name:<14}  {per_call:>24.2f}  {statistics.median(cpu) * 1000:>15.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", default="1,50,150,300", help="connections the burst opens")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--steady", default="2,10,40", help="calls per second, steady")
    parser.add_argument("--threads", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tls", action="store_true", help="the server speaks TLS")
    args = parser.parse_args()

    server = BurstServer(("127.0.0.1", 0), _Answer)
    if args.tls:
        wrap_in_tls(server, trusted_by=tls_context())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"{'https' if args.tls else 'http'}://127.0.0.1:{server.server_port}/compare"
    if args.idle:
        burst(url, [int(n) for n in args.idle.split(",")], args.calls)
    if args.steady:
        steady(url, [float(n) for n in args.steady.split(",")], args.threads, args.seconds)
    server.shutdown()


if __name__ == "__main__":
    main()
