"""A receiver's connection is kept between events, only for its own name, only when it is clean.

The receiver here speaks HTTP/1.1 with keep-alive, as real ones do, and counts the TCP
connections it accepted; the delivery tests' receiver (HTTP/1.0) closes every connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kyc.models import DeliveryStatus, WebhookDelivery
from kyc.webhooks import deliver
from kyc.webhooks.delivery import receiver_transport
from tests.kyc import test_webhooks as delivery_tests
from tests.kyc.test_webhooks import pending_delivery

scheduled = delivery_tests.scheduled
_allow_loopback_targets = delivery_tests._allow_loopback_targets

pytestmark = pytest.mark.django_db


class KeepAliveReceiver(ThreadingHTTPServer):
    """Answers every POST with `status` and `body`; with `close_after_answer`, it closes the
    connection after each answer without saying so (as a server whose idle timeout ran out)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.status = 204
        self.body = b""
        self.close_after_answer = False
        self.set_cookie = ""
        self.cookies_sent: list[str | None] = []
        self.connections = 0
        self.requests = 0
        self.closed = threading.Semaphore(0)
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/hooks"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: KeepAliveReceiver

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def finish(self) -> None:
        super().finish()
        self.server.closed.release()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests += 1
        self.server.cookies_sent.append(self.headers["Cookie"])
        self.send_response(self.server.status)
        if self.server.set_cookie:
            self.send_header("Set-Cookie", self.server.set_cookie)
        if self.server.status != 204:
            self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)
        self.close_connection = self.server.close_after_answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def keep_alive() -> Iterator[KeepAliveReceiver]:
    receiver_transport.cache_clear()
    server = KeepAliveReceiver()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    yield server
    server.shutdown()
    server.server_close()
    receiver_transport.cache_clear()


def delivered(url: str) -> WebhookDelivery:
    delivery = pending_delivery(url)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED, delivery.last_error
    return delivery


def test_events_to_one_receiver_answering_without_a_body_share_one_connection(
    keep_alive, scheduled
):
    for _ in range(3):
        delivered(keep_alive.url())

    assert (keep_alive.requests, keep_alive.connections) == (3, 1)


def test_a_connection_is_closed_when_the_answer_has_a_body_which_is_never_read(
    keep_alive, scheduled
):
    keep_alive.status, keep_alive.body = 200, b'{"received": true}'
    for _ in range(2):
        delivery = delivered(keep_alive.url())
        assert delivery.last_status_code == 200

    assert (keep_alive.requests, keep_alive.connections) == (2, 2)


def test_an_empty_200_keeps_the_connection_too(keep_alive, scheduled):
    keep_alive.status = 200
    for _ in range(2):
        delivered(keep_alive.url())

    assert (keep_alive.requests, keep_alive.connections) == (2, 1)


def test_two_names_for_one_address_never_share_a_connection(keep_alive, scheduled):
    # "localhost" and "127.0.0.1" reach the same socket; a connection (and, over https, the TLS
    # session checked for one name) must not carry the other's events.
    delivered(keep_alive.url("127.0.0.1"))
    delivered(keep_alive.url("localhost"))
    delivered(keep_alive.url("127.0.0.1"))

    assert keep_alive.requests == 3
    assert keep_alive.connections == 2
    assert receiver_transport("http", "localhost", keep_alive.port) is not receiver_transport(
        "http", "127.0.0.1", keep_alive.port
    )


def test_a_kept_connection_the_receiver_closed_is_replaced_and_the_event_delivered(
    keep_alive, scheduled
):
    keep_alive.close_after_answer = True
    delivered(keep_alive.url())
    assert keep_alive.closed.acquire(timeout=5)  # the receiver has closed it, unannounced

    delivered(keep_alive.url())

    assert (keep_alive.requests, keep_alive.connections) == (2, 2)


def test_a_cookie_the_receiver_sets_is_never_sent_back(keep_alive, scheduled):
    keep_alive.set_cookie = "session=abc; Path=/"
    for _ in range(2):
        delivered(keep_alive.url())

    assert keep_alive.cookies_sent == [None, None]
    assert (keep_alive.requests, keep_alive.connections) == (2, 1)


def test_a_proxy_named_in_the_environment_is_not_used(keep_alive, scheduled, monkeypatch):
    # A proxy resolves the receiver's name itself, past the address check (kyc.webhooks.targets).
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    delivered(keep_alive.url())

    assert keep_alive.requests == 1
