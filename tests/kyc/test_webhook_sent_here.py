"""The first attempt at a pipeline's event is made by the thread that decided the pair.

Right after the commit, with no task message; but never more than SENT_HERE_PER_RECEIVER at
once to one host from one process, and never at the cost of what the transaction committed.
"""

from __future__ import annotations

import functools
import json

import pytest

from kyc import dispatch
from kyc.models import ApiClient, DeliveryStatus, PairStatus, WebhookDelivery
from kyc.webhooks import delivery as webhook_delivery
from kyc.webhooks import enqueue_pair_event, generate_secret
from kyc.webhooks.delivery import SENT_HERE_PER_RECEIVER
from tests.kyc import test_webhooks as delivery_tests
from tests.kyc.test_webhooks import pair_of_client

receiver = delivery_tests.receiver
scheduled = delivery_tests.scheduled
committed = delivery_tests.committed
_allow_loopback_targets = delivery_tests._allow_loopback_targets

pytestmark = pytest.mark.django_db

send_here = functools.partial(enqueue_pair_event, send_here=True)
EVENT = ("pair.approved", {"status": "approved"})


def test_an_event_sent_here_is_delivered_at_commit_by_this_thread_with_no_task_message(
    receiver, scheduled, committed
):
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())

    delivery = committed(send_here, pair, "pair.approved", {"status": "approved"})

    assert delivery is not None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == delivery.event_id
    assert scheduled == []


def test_nothing_is_sent_before_the_transaction_commits(receiver, scheduled):
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())

    delivery = send_here(pair, "pair.approved", {"status": "approved"})  # not committed

    assert delivery is not None
    assert receiver.requests == []
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 0
    assert scheduled == []


def test_a_first_attempt_made_here_that_fails_is_retried_through_the_queue_on_schedule(
    receiver, scheduled, committed
):
    receiver.answer(500)
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())

    delivery = committed(send_here, pair, "pair.approved", {"status": "approved"})

    assert delivery is not None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.PENDING,
        1,
        "HTTP 500",
    )
    assert scheduled == [(delivery.pk, 5)]


def test_past_the_limit_per_host_the_event_waits_on_the_queue_and_other_hosts_are_still_sent(
    receiver, scheduled, committed
):
    busy_host = "127.0.0.1"
    for _ in range(SENT_HERE_PER_RECEIVER):  # as many threads of this process sending there
        assert webhook_delivery._sending_here.take(busy_host)
    try:
        queued = committed(
            send_here, pair_of_client(webhook_url=receiver.url, secret=generate_secret()), *EVENT
        )
        other_host = receiver.url.replace("127.0.0.1", "localhost")
        sent = committed(
            send_here, pair_of_client(webhook_url=other_host, secret=generate_secret()), *EVENT
        )
    finally:
        for _ in range(SENT_HERE_PER_RECEIVER):
            webhook_delivery._sending_here.give_back(busy_host)

    assert queued is not None and sent is not None
    assert scheduled == [(queued.pk, None)]
    assert WebhookDelivery.objects.get(pk=queued.pk).attempts == 0
    assert WebhookDelivery.objects.get(pk=sent.pk).status == DeliveryStatus.DELIVERED
    assert [request.headers["webhook-id"] for request in receiver.requests] == [sent.event_id]


def test_a_first_attempt_that_breaks_here_keeps_the_commit_and_leaves_the_event_to_the_sweeper(
    receiver, scheduled, committed, monkeypatch
):
    def broken(delivery_id: int) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(webhook_delivery, "deliver", broken)
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())

    delivery = committed(send_here, pair, "pair.approved", {"status": "approved"})

    assert delivery is not None
    delivery.refresh_from_db()
    # Pending and due: the sweeper re-enqueues it once SWEEP_GRACE has passed.
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    assert scheduled == []
    # The slot was given back: this thread can send to that host again.
    assert webhook_delivery._sending_here.take("127.0.0.1")
    webhook_delivery._sending_here.give_back("127.0.0.1")


def test_a_decided_pairs_webhook_is_delivered_within_its_comparison_task(harness, receiver):
    ApiClient.objects.update(webhook_url=receiver.url, webhook_secret=generate_secret())
    harness.enable("advance", approve_at=90, reject_below=40)
    harness.sandboxes["advance"].script({"score": 97, "risk_tags": []})
    pair = harness.submit()

    harness.tasks.run_all()

    pair.refresh_from_db()
    assert pair.status == PairStatus.APPROVED
    delivery = WebhookDelivery.objects.get(pair=pair)
    assert delivery.status == DeliveryStatus.DELIVERED
    (request,) = receiver.requests
    body = json.loads(request.body)
    assert (body["type"], body["data"]["id"]) == ("pair.approved", str(pair.public_id))
    assert dispatch.DELIVER_WEBHOOK not in [task.name for task in harness.tasks.history]
