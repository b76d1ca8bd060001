"""A delivery whose worker died is sent again within a minute; a stalled one never counts twice.

The worker's death is a claim never followed by its result; the sweeper and a second worker are
`sweep_due()` and `deliver()` called at the moments beat would call them.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kyc import webhooks
from kyc.celery import app
from kyc.models import DeliveryStatus, WebhookDelivery
from kyc.webhooks import deliver, sweep_due
from kyc.webhooks.delivery import LEASE, SEND_LIMIT, SWEEP_GRACE
from tests.kyc import test_webhooks as delivery_tests
from tests.kyc.test_webhooks import START, pending_delivery

# The delivery tests' fixtures: their loopback receiver, recorded task messages, frozen clock.
receiver = delivery_tests.receiver
scheduled = delivery_tests.scheduled
clock = delivery_tests.clock
_allow_loopback_targets = delivery_tests._allow_loopback_targets

pytestmark = pytest.mark.django_db


def claimed_by_a_worker_that_dies(delivery: WebhookDelivery) -> None:
    """The first half of `deliver()`: the claim, then nothing (the process was killed)."""
    claimed = webhooks.delivery._claim(delivery.pk)
    assert claimed is not None
    assert claimed.attempts == 1


def test_the_lease_outlasts_an_attempt_and_a_lost_one_is_swept_within_a_minute(settings):
    sweep_every = timedelta(seconds=settings.CELERY_BEAT_SCHEDULE["sweep-due-webhooks"]["schedule"])
    assert timedelta(seconds=SEND_LIMIT + 5) <= LEASE
    # Worst case: the sweep runs just before the lease and its grace run out, then once more.
    assert LEASE + SWEEP_GRACE + sweep_every <= timedelta(minutes=1)


def test_the_redelivery_sweep_runs_on_the_maintenance_queue_and_delivery_on_its_own():
    router = app.amqp.router
    assert router.route({}, "kyc.sweep_due_webhooks")["queue"].name == "maintenance"
    assert router.route({}, "kyc.deliver_webhook")["queue"].name == "webhooks"


def test_a_delivery_whose_worker_died_is_sent_again_once_its_lease_and_grace_run_out(
    receiver, scheduled, clock
):
    delivery = pending_delivery(receiver.url)
    claimed_by_a_worker_that_dies(delivery)

    clock.move_to(START + LEASE + SWEEP_GRACE - timedelta(seconds=1))
    assert sweep_due() == 0  # still leased: the worker may be alive and sending
    clock.move_to(START + LEASE + SWEEP_GRACE + timedelta(seconds=1))
    assert sweep_due() == 1
    assert scheduled == [(delivery.pk, None)]

    deliver(delivery.pk)  # the re-enqueued message
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.event_id]


def test_a_stalled_worker_past_its_lease_neither_overrides_the_next_attempt_nor_uses_a_new_id(
    receiver, scheduled, clock, monkeypatch
):
    delivery = pending_delivery(receiver.url)
    receiver.answer(200, 500)  # the second worker's attempt succeeds; the stalled one's fails
    send = webhooks.delivery._post
    calls = []

    def stalled_past_the_lease(target: Any, claimed: WebhookDelivery) -> Any:
        calls.append(claimed.pk)
        if len(calls) == 1:
            clock.move_to(START + LEASE + SWEEP_GRACE + timedelta(seconds=1))
            assert sweep_due() == 1
            deliver(claimed.pk)  # another worker takes attempt 2 and delivers
        return send(target, claimed)

    monkeypatch.setattr(webhooks.delivery, "_post", stalled_past_the_lease)
    deliver(delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert delivery.last_status_code == 200  # the stalled worker's 500 was fenced out
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.event_id] * 2
    assert WebhookDelivery.objects.filter(pair=delivery.pair).count() == 1


def test_a_receiver_that_holds_the_request_is_cut_off_at_the_send_limit(scheduled, monkeypatch):
    answered = threading.Event()
    release = threading.Event()

    class Hanging(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            release.wait(30)
            self.send_response(200)
            self.end_headers()
            answered.set()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hanging)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(webhooks.delivery, "SEND_LIMIT", 0.5)
    try:
        delivery = pending_delivery(f"http://127.0.0.1:{server.server_port}/hook")
        deliver(delivery.pk)
        # The attempt ended while the receiver was still holding the request.
        assert not answered.is_set()
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("ReadTimeout")
