"""CPU of one vendor call's HTTP round trip, by how many connections the client's pool holds.

    python bench/vendor_http.py [--idle 1,50,150,300] [--calls 300]

A worker thread calls its vendor through httpx. One client shared by every thread holds a
kept-alive connection per thread that has called, and httpcore walks all of them under the
pool's lock on every request and every response. For each --idle size this opens that many
connections to a local keep-alive server at once (a burst), then times --calls sequential calls
from one thread: first on that shared client, then on the adapter's per-thread client
(vendors.http_clients), which holds only the thread's own connection. Printed: ms of the
calling thread's CPU per call (the server's threads are not counted), and how many connections
the shared client held when its calls began.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import httpx

from bench.keep_alive import BurstServer
from vendors.http_clients import CONNECTION_LIMITS, ThreadClients


class _Answer(BaseHTTPRequestHandler):
    """Answers a small JSON body, keeping the connection (HTTP/1.1); holds each answer while
    `hold` is set, so a burst opens one connection per call."""

    protocol_version = "HTTP/1.1"
    hold = threading.Event()

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


def burst_then_time(
    burst: ThreadPoolExecutor,
    client_here: Callable[[], httpx.Client],
    url: str,
    size: int,
    calls: int,
) -> tuple[int, float]:
    """`size` calls at once through `client_here()` in the burst's threads, then `calls` one at
    a time in this thread: (connections this thread's client held, ms of CPU per call)."""
    _Answer.hold.set()
    list(burst.map(lambda _: client_here().get(url), range(size)))
    _Answer.hold.clear()
    client = client_here()
    client.get(url)  # this thread's connection, opened before the clock starts
    held = len(client._transport._pool.connections)  # type: ignore[attr-defined]
    started = time.thread_time()
    for _ in range(calls):
        client.get(url).raise_for_status()
    return held, (time.thread_time() - started) / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", default="1,50,150,300", help="connections the burst opens")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    server = BurstServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/compare"

    print(f"{args.calls} sequential calls from one thread, after a burst that opened N connections")
    print(f"{'N':>5}  {'pool holds':>10}  {'shared client':>14}  {'per-thread client':>18}")
    for size in (int(n) for n in args.idle.split(",")):
        shared = httpx.Client(limits=CONNECTION_LIMITS, timeout=60)
        per_thread = ThreadClients(httpx.Timeout(60.0))
        with ThreadPoolExecutor(max_workers=size) as burst:
            held, shared_ms = burst_then_time(
                burst, lambda shared=shared: shared, url, size, args.calls
            )
            shared.close()  # its connections end before the next burst opens as many again
            _, own_ms = burst_then_time(burst, per_thread.get, url, size, args.calls)
            per_thread.close()
        print(f"{size:>5}  {held:>10}  {shared_ms:>11.2f} ms  {own_ms:>15.2f} ms")
    server.shutdown()


if __name__ == "__main__":
    main()
