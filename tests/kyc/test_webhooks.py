"""Outgoing webhooks (Standard Webhooks): signing, rotation, retries, target checks, enqueueing.

A real HTTP receiver runs on loopback; `deliver()` is called directly and the Celery scheduling
is recorded instead of sent, so each test drives the retry schedule step by step.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from kyc import dispatch, webhooks
from kyc.audit.chain import Actor
from kyc.audit.models import AuditEvent
from kyc.models import ApiClient, DeliveryStatus, ImagePair, WebhookDelivery
from kyc.services.api_clients import retire_webhook_secret, rotate_webhook_secret
from kyc.tasks import deliver_webhook, sweep_due_webhooks
from kyc.webhooks import (
    WebhookTargetRefused,
    WebhookVerificationError,
    check_target_url,
    deliver,
    enqueue_pair_event,
    generate_secret,
    sign,
    sweep_due,
    verify,
)
from kyc.webhooks.delivery import MAX_ATTEMPTS, RETRY_SCHEDULE
from tests.factories import ImagePairFactory

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


# --- A receiver on loopback -------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An HTTP server that records every POST and answers with scripted statuses."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/kyc"

    def answer(self, *statuses: int) -> None:
        """The next answers, in order; 200 once they are used up."""
        self.statuses.extend(statuses)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        # Restarting on the same port (allow_reuse_address) lets a test take the receiver down
        # and bring it back at the URL a delivery already holds.
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    running.start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _allow_loopback_targets(settings):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True


def record_webhook_messages(
    monkeypatch: pytest.MonkeyPatch, record: Callable[[tuple[Any, ...], float | None], None]
) -> None:
    """Instead of sending webhook task messages, hand each one's (arguments, countdown) to
    `record`."""

    def send(task_name: str, *args: Any, countdown: float | None = None) -> None:
        assert task_name == dispatch.DELIVER_WEBHOOK
        record(args, countdown)

    monkeypatch.setattr(dispatch, "send", send)


@pytest.fixture
def scheduled(monkeypatch) -> list[tuple[int, float | None]]:
    """(delivery id, countdown or None) for every task message the code would send."""
    calls: list[tuple[int, float | None]] = []
    record_webhook_messages(monkeypatch, lambda args, countdown: calls.append((args[0], countdown)))
    return calls


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Frozen time: a test moves it to each scheduled attempt."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def committed(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Run a service as if its transaction committed, so its on_commit scheduling happens."""

    def run(function: Callable[..., Any], *args: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args)

    return run


# --- Rows -----------------------------------------------------------------------------------------


def pair_of_client(*, webhook_url: str = "", secret: str = "", **fields: Any) -> ImagePair:
    """A pair of a client of its own, with that webhook URL and signing secret."""
    return ImagePairFactory(
        applicant__client__webhook_url=webhook_url,
        applicant__client__webhook_secret=secret,
        **fields,
    )


def pending_delivery(url: str, secret: str | None = None) -> WebhookDelivery:
    """A "pair.approved" delivery to `url`, enqueued for a pair of a client of its own."""
    secret = generate_secret() if secret is None else secret
    delivery = enqueue_pair_event(
        pair_of_client(webhook_url=url, secret=secret), "pair.approved", {}
    )
    assert delivery is not None
    return delivery


def expected_signature(secret: str, received: Received) -> str:
    """The Standard Webhooks algorithm, written out independently of kyc.webhooks."""
    key = base64.b64decode(secret[len("whsec_") :])
    content = (
        received.headers["webhook-id"].encode()
        + b"."
        + received.headers["webhook-timestamp"].encode()
        + b"."
        + received.body
    )
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def refused_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- Signing ------------------------------------------------------------------------------------


def test_a_generated_secret_is_whsec_and_base64_of_32_random_bytes():
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert first != second


def test_sign_reproduces_the_standard_webhooks_reference_vector():
    # The vector shared by the Standard Webhooks / Svix reference libraries' test suites.
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.django_db
def test_a_delivered_webhook_carries_the_three_headers_and_a_signature_that_recomputes(
    receiver, scheduled, committed
):
    secret = generate_secret()
    pair = pair_of_client(webhook_url=receiver.url, secret=secret)
    delivery = committed(enqueue_pair_event, pair, "pair.approved", {"status": "approved"})
    assert scheduled == [(delivery.pk, None)]

    deliver(delivery.pk)

    [received] = receiver.requests
    assert received.path == "/hooks/kyc"
    assert received.headers["webhook-id"] == delivery.event_id
    assert received.headers["webhook-id"].startswith("msg_")
    assert received.headers["webhook-timestamp"].isdigit()
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == webhooks.delivery.USER_AGENT
    assert received.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert received.headers["webhook-signature"] == expected_signature(secret, received)
    assert verify(secret, received.headers, received.body) == {
        "type": "pair.approved",
        "timestamp": delivery.payload["timestamp"],
        "data": {"status": "approved"},
    }
    assert delivery.payload["timestamp"].endswith("Z")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None


@pytest.mark.django_db
def test_during_a_rotation_two_signatures_are_sent_and_each_verifies_with_its_own_secret(
    receiver, scheduled
):
    old_secret = generate_secret()
    pair = pair_of_client(webhook_url=receiver.url, secret=old_secret)
    new_secret = rotate_webhook_secret(pair.client, Actor.system("test"))
    delivery = enqueue_pair_event(pair, "pair.rejected", {"status": "rejected"})
    assert delivery is not None

    deliver(delivery.pk)

    [received] = receiver.requests
    signatures = received.headers["webhook-signature"].split(" ")
    assert signatures == [
        expected_signature(new_secret, received),
        expected_signature(old_secret, received),
    ]
    assert verify(new_secret, received.headers, received.body)["type"] == "pair.rejected"
    assert verify(old_secret, received.headers, received.body)["type"] == "pair.rejected"
    with pytest.raises(WebhookVerificationError):
        verify(generate_secret(), received.headers, received.body)


@pytest.mark.django_db
def test_deliveries_share_one_verifying_tls_context_made_once_per_process(
    receiver, scheduled, committed, monkeypatch
):
    made: list[ssl.SSLContext] = []
    original = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    webhooks.delivery.tls_context.cache_clear()
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())
    for event in ("pair.approved", "pair.rejected"):
        deliver(committed(enqueue_pair_event, pair, event, {}).pk)

    assert len(receiver.requests) == 2
    assert len(made) == 1
    [context] = made
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    webhooks.delivery.tls_context.cache_clear()


@pytest.mark.django_db
def test_after_the_previous_secret_is_retired_only_the_new_one_signs(receiver, scheduled):
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())
    new_secret = rotate_webhook_secret(pair.client, Actor.system("test"))
    retire_webhook_secret(pair.client, Actor.system("test"))
    delivery = enqueue_pair_event(pair, "pair.approved", {})
    assert delivery is not None

    deliver(delivery.pk)

    [received] = receiver.requests
    assert received.headers["webhook-signature"] == expected_signature(new_secret, received)
    assert ApiClient.objects.get(pk=pair.client.pk).webhook_secret_previous == ""


def test_verify_refuses_a_tampered_body_a_stale_timestamp_and_missing_headers():
    secret = generate_secret()
    body = b'{"type":"pair.approved"}'
    with time_machine.travel(START, tick=False):
        now = int(START.timestamp())
        headers = {
            "Webhook-Id": "msg_1",
            "Webhook-Timestamp": str(now),
            "Webhook-Signature": sign(secret, "msg_1", now, body),
        }
        assert verify(secret, headers, body) == {"type": "pair.approved"}
        with pytest.raises(WebhookVerificationError, match="No signature matches"):
            verify(secret, headers, b'{"type":"pair.rejected"}')
        with pytest.raises(WebhookVerificationError, match="Missing"):
            verify(secret, {"webhook-id": "msg_1"}, body)
    # Too old (a replay) and too far ahead (a forged timestamp) are refused alike.
    for receiver_clock in (START + timedelta(seconds=301), START - timedelta(seconds=301)):
        with (
            time_machine.travel(receiver_clock, tick=False),
            pytest.raises(WebhookVerificationError, match="tolerance"),
        ):
            verify(secret, headers, body)


# --- Secret rotation ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotating_the_secret_keeps_the_old_one_as_previous_and_writes_an_audit_event():
    old_secret = generate_secret()
    pair = pair_of_client(secret=old_secret)
    client = pair.client

    new_secret = rotate_webhook_secret(client, Actor.system("admin-test"))

    stored = ApiClient.objects.get(pk=client.pk)
    assert stored.webhook_secret == new_secret != old_secret
    assert stored.webhook_secret_previous == old_secret
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert event.event_type == "webhook_secret.rotated"
    assert event.subject_type == "api_client"
    assert event.subject_id == str(client.public_id)
    assert event.actor_label == "admin-test"
    assert old_secret not in json.dumps(event.params)
    assert new_secret not in json.dumps(event.params)


# --- Retries -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_receiver_that_is_down_is_retried_on_schedule_with_the_same_id_until_it_answers(
    receiver, scheduled, committed, clock
):
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())
    delivery = committed(enqueue_pair_event, pair, "pair.approved", {"status": "approved"})
    receiver.answer(500)

    committed(deliver, delivery.pk)  # attempt 1: the receiver answers 500
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert (delivery.last_status_code, delivery.last_error) == (500, "HTTP 500")
    assert delivery.next_attempt_at == START + timedelta(seconds=5)

    receiver.stop()
    clock.move_to(delivery.next_attempt_at)
    committed(deliver, delivery.pk)  # attempt 2: connection refused
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 2)
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("ConnectError")
    assert delivery.next_attempt_at == START + timedelta(seconds=5 + 300)

    receiver.start()
    clock.move_to(delivery.next_attempt_at)
    committed(deliver, delivery.pk)  # attempt 3: delivered
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert (delivery.last_status_code, delivery.last_error) == (200, "")
    assert delivery.delivered_at == START + timedelta(seconds=305)

    assert scheduled == [(delivery.pk, None), (delivery.pk, 5), (delivery.pk, 300)]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.event_id] * 2
    assert [r.headers["webhook-timestamp"] for r in receiver.requests] == [
        str(int(START.timestamp())),
        str(int(START.timestamp()) + 305),
    ]


@pytest.mark.django_db
def test_a_receiver_that_never_answers_200_is_given_up_after_the_eighth_attempt(
    receiver, scheduled, committed, clock
):
    delivery = pending_delivery(receiver.url)
    receiver.answer(*[503] * MAX_ATTEMPTS)
    gaps = []

    for attempt in range(1, MAX_ATTEMPTS + 1):
        before = timezone.now()
        committed(deliver, delivery.pk)
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
        if delivery.next_attempt_at is not None:
            gaps.append(int((delivery.next_attempt_at - before).total_seconds()))
            clock.move_to(delivery.next_attempt_at)

    assert gaps == list(RETRY_SCHEDULE[1:]) == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert delivery.status == DeliveryStatus.FAILED
    assert (delivery.last_status_code, delivery.last_error) == (503, "HTTP 503")
    assert len(receiver.requests) == MAX_ATTEMPTS
    # Countdowns only for the short waits; longer ones are due to the sweeper (visibility timeout).
    assert [countdown for _, countdown in scheduled] == [5, 300]

    clock.move_to(START + timedelta(days=3))
    deliver(delivery.pk)
    assert len(receiver.requests) == MAX_ATTEMPTS


@pytest.mark.django_db
def test_a_delivery_that_is_not_due_yet_is_not_sent(receiver, scheduled, clock):
    delivery = pending_delivery(receiver.url)
    receiver.answer(500)
    deliver(delivery.pk)

    clock.move_to(START + timedelta(seconds=2))
    deliver(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_second_worker_arriving_while_a_delivery_is_in_flight_sends_nothing(
    receiver, scheduled, monkeypatch
):
    delivery = pending_delivery(receiver.url)
    send = webhooks.delivery._post

    def redelivered_meanwhile(target: Any, claimed: WebhookDelivery) -> Any:
        deliver(claimed.pk)  # the same Celery message, redelivered to another worker
        return send(target, claimed)

    monkeypatch.setattr(webhooks.delivery, "_post", redelivered_meanwhile)
    deliver(delivery.pk)

    delivery.refresh_from_db()
    assert len(receiver.requests) == 1
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


@pytest.mark.django_db
def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(receiver, scheduled, committed):
    delivery = pending_delivery(receiver.url)
    receiver.answer(302)

    committed(deliver, delivery.pk)

    delivery.refresh_from_db()
    assert [r.path for r in receiver.requests] == ["/hooks/kyc"]
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, 302)
    assert delivery.last_error == "HTTP 302"
    assert scheduled == [(delivery.pk, 5)]


@pytest.mark.django_db
def test_a_client_without_a_secret_gets_nothing_unsigned_and_the_delivery_is_retried(
    receiver, scheduled, committed
):
    delivery = pending_delivery(receiver.url, secret="")

    committed(deliver, delivery.pk)

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == "the client has no webhook secret"
    assert scheduled == [(delivery.pk, 5)]


@pytest.mark.django_db
def test_the_sweeper_re_enqueues_only_deliveries_overdue_by_more_than_fifteen_seconds(
    scheduled, clock
):
    pair = pair_of_client(webhook_url="https://hooks.example.com/kyc", secret=generate_secret())

    def delivery(event_type: str, **fields: Any) -> WebhookDelivery:
        return WebhookDelivery.objects.create(
            event_id=f"msg_{uuid.uuid4().hex}",
            client=pair.client,
            pair=pair,
            event_type=event_type,
            url=pair.client.webhook_url,
            payload={},
            **fields,
        )

    lost = delivery("lost", next_attempt_at=START - timedelta(seconds=16), attempts=1)
    delivery("just_due", next_attempt_at=START - timedelta(seconds=14))
    delivery("later", next_attempt_at=START + timedelta(hours=2), attempts=3)
    delivery("done", status=DeliveryStatus.DELIVERED, next_attempt_at=START - timedelta(hours=1))
    orphan = delivery(
        "orphan", next_attempt_at=START - timedelta(minutes=10), attempts=MAX_ATTEMPTS
    )

    assert sweep_due() == 1

    assert scheduled == [(lost.pk, None)]
    orphan.refresh_from_db()
    assert orphan.status == DeliveryStatus.FAILED
    assert orphan.last_error == "the worker making the last attempt was lost"


# --- Where webhooks may go ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("https://10.0.0.5/hook", "private"),
        ("http://[::1]/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://localhost:8000/hook", "loopback"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://100.64.0.1/hook", "non-public"),
    ],
)
def test_a_non_public_target_is_refused_when_private_targets_are_not_allowed(settings, url, reason):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(WebhookTargetRefused) as refused:
        check_target_url(url)
    assert refused.value.reason == f"the host resolves to a {reason} address"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://10.0.0.5/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8000/hook",
    ],
)
def test_a_non_public_target_is_accepted_when_private_targets_are_allowed(settings, url):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True
    check_target_url(url)


def test_a_public_address_is_accepted_when_private_targets_are_not_allowed(settings):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = False
    check_target_url("https://93.184.215.14/hook")  # an IP literal: nothing is resolved remotely


@pytest.mark.parametrize(
    "url", ["ftp://93.184.215.14/hook", "file:///etc/passwd", "gopher://93.184.215.14/"]
)
def test_a_scheme_other_than_http_or_https_is_refused_whatever_the_setting(settings, url):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True
    with pytest.raises(WebhookTargetRefused, match="is not http or https"):
        check_target_url(url)


@pytest.mark.django_db
def test_a_delivery_whose_target_is_refused_at_send_time_fails_without_being_sent(
    receiver, scheduled, committed, settings
):
    delivery = pending_delivery(receiver.url)
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = False

    committed(deliver, delivery.pk)

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "target refused: the host resolves to a loopback address"
    assert scheduled == []  # a refusal is final: no retry


@pytest.mark.django_db
def test_a_refused_connection_is_recorded_briefly_and_retried(scheduled, committed):
    url = f"http://127.0.0.1:{refused_port()}/hook"
    pair = pair_of_client(webhook_url=url, secret=generate_secret())
    delivery = enqueue_pair_event(pair, "pair.approved", {"secret_field": "never-recorded"})
    assert delivery is not None

    committed(deliver, delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error.startswith("ConnectError: ")
    assert "never-recorded" not in delivery.last_error
    assert len(delivery.last_error) <= 300
    assert scheduled == [(delivery.pk, 5)]


# --- Enqueueing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_enqueueing_the_same_event_of_a_pair_twice_creates_one_delivery(scheduled, committed):
    pair = pair_of_client(webhook_url="https://hooks.example.com/kyc", secret=generate_secret())

    first = committed(enqueue_pair_event, pair, "pair.approved", {"status": "approved"})
    second = committed(enqueue_pair_event, pair, "pair.approved", {"status": "approved"})
    other = committed(enqueue_pair_event, pair, "pair.needs_review", {"status": "needs_review"})

    assert first is not None and other is not None
    assert second == first and second.event_id == first.event_id
    assert WebhookDelivery.objects.filter(pair=pair, event_type="pair.approved").count() == 1
    assert scheduled == [(first.pk, None), (other.pk, None)]


@pytest.mark.django_db
def test_a_pair_without_any_webhook_url_enqueues_nothing(scheduled, committed):
    pair = pair_of_client(secret=generate_secret())

    assert committed(enqueue_pair_event, pair, "pair.approved", {}) is None

    assert not WebhookDelivery.objects.exists()
    assert scheduled == []


@pytest.mark.django_db
def test_the_pair_callback_url_wins_over_the_client_webhook_url(scheduled):
    pair = pair_of_client(
        webhook_url="https://client.example.com/hook",
        callback_url="https://pair.example.com/hook",
        secret=generate_secret(),
    )

    delivery = enqueue_pair_event(pair, "pair.approved", {"status": "approved"})

    assert delivery is not None
    assert delivery.url == "https://pair.example.com/hook"
    assert delivery.client == pair.client
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 0
    assert delivery.payload["type"] == "pair.approved"
    assert delivery.payload["data"] == {"status": "approved"}
    assert len(delivery.event_id) == len("msg_") + 32


def test_the_tasks_have_explicit_names_for_the_beat_schedule_and_the_broker():
    assert deliver_webhook.name == "kyc.deliver_webhook"
    assert sweep_due_webhooks.name == "kyc.sweep_due_webhooks"


@pytest.mark.django_db
def test_a_delivery_costs_two_statements_on_postgresql_and_no_transaction(receiver, scheduled):
    # Every statement is a round trip a busy worker waits its turn for (issue 19).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sent = pending_delivery(receiver.url)
    with CaptureQueriesContext(connection) as queries:
        deliver(sent.pk)

    # Not even a transaction around the outcome: its one UPDATE commits on its own (inside
    # this test's transaction a transaction block would show as SAVEPOINT and RELEASE).
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    # The claim reads the row it leased in the same statement on PostgreSQL.
    claim = ["WITH"] if connection.vendor == "postgresql" else ["UPDATE", "SELECT"]
    assert statements == [*claim, "UPDATE"]
    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.next_attempt_at) == (DeliveryStatus.DELIVERED, 1, None)
    assert sent.delivered_at is not None
    assert abs(sent.delivered_at - timezone.now()) < timedelta(minutes=1)
