"""The first attempt at a pipeline's event is made by the thread that decided the pair.

Right after the commit, with no task message; but never more than SENT_HERE_PER_RECEIVER at
once to one host from one process, and never at the cost of what the transaction committed.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kyc import dispatch
from kyc.models import ApiClient, DeliveryStatus, PairStatus, WebhookDelivery
from kyc.webhooks import deliver, enqueue_pair_event, generate_secret, sweep_due
from kyc.webhooks import delivery as webhook_delivery
from kyc.webhooks.delivery import LEASE, SENT_HERE_PER_RECEIVER, SWEEP_GRACE
from tests.kyc import test_webhooks as delivery_tests
from tests.kyc.test_webhooks import pair_of_client

receiver = delivery_tests.receiver
scheduled = delivery_tests.scheduled
committed = delivery_tests.committed
_allow_loopback_targets = delivery_tests._allow_loopback_targets

pytestmark = pytest.mark.django_db

send_here = functools.partial(enqueue_pair_event, send_here=True)


@contextlib.contextmanager
def slots_full(host: str) -> Iterator[None]:
    """As many threads of this process sending to `host` as it allows."""
    for _ in range(SENT_HERE_PER_RECEIVER):
        assert webhook_delivery._sending_here.take(host)
    try:
        yield
    finally:
        for _ in range(SENT_HERE_PER_RECEIVER):
            webhook_delivery._sending_here.give_back(host)


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
    recorded = WebhookDelivery.objects.get(pk=delivery.pk)
    # Recorded leased for its first attempt, which only the commit starts.
    assert (recorded.status, recorded.attempts, recorded.last_status_code) == (
        DeliveryStatus.PENDING,
        1,
        None,
    )
    assert recorded.next_attempt_at is not None
    assert abs(recorded.next_attempt_at - (recorded.created_at + LEASE)) < timedelta(seconds=1)
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
    with slots_full("127.0.0.1"):
        queued = committed(
            send_here, pair_of_client(webhook_url=receiver.url, secret=generate_secret()), *EVENT
        )
        other_host = receiver.url.replace("127.0.0.1", "localhost")
        sent = committed(
            send_here, pair_of_client(webhook_url=other_host, secret=generate_secret()), *EVENT
        )

    assert queued is not None and sent is not None
    assert scheduled == [(queued.pk, None)]
    assert WebhookDelivery.objects.get(pk=queued.pk).attempts == 1  # leased, not yet sent
    assert WebhookDelivery.objects.get(pk=sent.pk).status == DeliveryStatus.DELIVERED
    assert [request.headers["webhook-id"] for request in receiver.requests] == [sent.event_id]


def test_a_first_attempt_that_breaks_here_keeps_the_commit_and_leaves_the_event_to_the_sweeper(
    receiver, scheduled, committed, monkeypatch
):
    def broken(delivery: WebhookDelivery) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(webhook_delivery, "_attempt", broken)
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())

    delivery = committed(send_here, pair, "pair.approved", {"status": "approved"})

    assert delivery is not None
    delivery.refresh_from_db()
    # Pending and leased: the sweeper re-enqueues it once the lease and SWEEP_GRACE have passed,
    # as it would a delivery whose worker died while sending it.
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    with time_machine.travel(delivery.next_attempt_at + SWEEP_GRACE - timedelta(seconds=1)):
        assert sweep_due() == 0
    with time_machine.travel(delivery.next_attempt_at + SWEEP_GRACE + timedelta(seconds=1)):
        assert sweep_due() == 1
    assert scheduled == [(delivery.pk, None)]
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


def test_an_event_sent_here_costs_one_statement_after_the_commit_its_outcome(
    receiver, scheduled, django_capture_on_commit_callbacks
):
    # Recorded leased for its first attempt, the event needs no claim (issue 19: statements).
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())
    with django_capture_on_commit_callbacks() as callbacks:
        delivery = send_here(pair, *EVENT)
    assert delivery is not None

    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()

    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["UPDATE"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert len(receiver.requests) == 1


@pytest.fixture
def messages(monkeypatch) -> list[tuple[Any, ...]]:
    """The arguments of every webhook task message the code would send."""
    sent: list[tuple[Any, ...]] = []
    delivery_tests.record_webhook_messages(monkeypatch, lambda args, _: sent.append(args))
    return sent


def _queued_past_the_limit(receiver, committed) -> WebhookDelivery:
    with slots_full("127.0.0.1"):
        pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())
        delivery = committed(send_here, pair, *EVENT)
    assert delivery is not None
    return delivery


def test_a_first_attempt_sent_to_the_queue_takes_its_lease_along_and_is_made_once(
    receiver, messages, committed
):
    delivery = _queued_past_the_limit(receiver, committed)
    assert messages == [(delivery.pk, 1)]

    deliver(*messages[0])  # the webhooks worker, at once: the lease is its own
    deliver(*messages[0])  # the same message again (redelivered): the attempt is recorded

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert [request.headers["webhook-id"] for request in receiver.requests] == [delivery.event_id]


def test_a_leased_message_that_arrives_after_the_sweeper_started_the_next_attempt_does_nothing(
    receiver, messages, committed
):
    delivery = _queued_past_the_limit(receiver, committed)
    leased = messages.pop()
    assert delivery.next_attempt_at is not None
    with time_machine.travel(delivery.next_attempt_at + SWEEP_GRACE + timedelta(seconds=1)):
        assert sweep_due() == 1  # the queue held the message past the lease and its grace
        deliver(*messages.pop())  # the sweeper's message: attempt 2
        deliver(*leased)  # the first message, late

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert len(receiver.requests) == 1


def test_an_event_sent_here_is_the_same_bytes_as_its_retry_read_back_from_the_database(
    receiver, scheduled, committed
):
    # Sent here from the payload in memory, retried from the row: one event, one body.
    receiver.answer(500, 200)
    pair = pair_of_client(webhook_url=receiver.url, secret=generate_secret())
    data = {"score": 87.25, "reasons": ["a", "b"], "nested": {"z": 1, "a": None}, "name": "Zoë"}

    delivery = committed(send_here, pair, "pair.approved", data)
    assert delivery is not None
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is not None
    with time_machine.travel(delivery.next_attempt_at):
        deliver(delivery.pk)

    first, retry = receiver.requests
    assert first.body == retry.body
    assert json.loads(first.body)["data"] == data
