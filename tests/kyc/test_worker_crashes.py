"""Real worker processes on Redis, stopped the two ways production stops them, mid-burst.

- SIGKILL (a crash, the OOM killer): the attempts in flight are taken again once their deadline
  passes; every pair still ends in exactly one decision and one webhook event.
- SIGTERM (a rolling deploy): the warm shutdown finishes the vendor calls in flight and stores
  them, so no vendor is called twice for one attempt.

FinAuth's sandbox is the vendor: its request log carries our attempt id (`biz_no`), which is
how calls are counted per attempt. The fixtures are the end-to-end worker tests'.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from kyc import dispatch, queues
from kyc.audit.models import AuditEvent
from kyc.models import (
    AttemptStatus,
    ComparisonAttempt,
    DeliveryStatus,
    ImagePair,
    PairStatus,
    WebhookDelivery,
)
from kyc.webhooks.delivery import MAX_ATTEMPTS
from tests.kyc import test_end_to_end_worker as e2e_tests
from tests.kyc.test_end_to_end_worker import FINAL, Receiver, submit
from vendors.models import VendorConfig
from vendors.sandboxes.finauth import COMPARE_PATH

# The end-to-end tests' fixtures: a worker environment on Redis, and a webhook receiver.
e2e = e2e_tests.e2e
receiver = e2e_tests.receiver
media_dir = e2e_tests.media_dir
_isolated_media = e2e_tests._isolated_media

pytestmark = [pytest.mark.redis]

BURST = 12


def until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Wait for `condition` (polled), failing with `what` if it never holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def only_finauth(sandboxes, latency_ms: int) -> None:
    """FinAuth alone, answering 95 after `latency_ms`; 95 approves."""
    VendorConfig.objects.update(enabled=False)
    VendorConfig.objects.filter(backend="finauth").update(
        enabled=True, approve_at=90, reject_below=40, timeout_seconds=2
    )
    sandboxes["finauth"].configure(latency_ms=latency_ms)
    sandboxes["finauth"].script({"score": 95, "repeat": 1000})


def calls_per_attempt(sandboxes) -> Counter[str]:
    return Counter(
        entry["fields"]["biz_no"]
        for entry in sandboxes["finauth"].requests()
        if entry["path"].rstrip("/") == COMPARE_PATH
    )


def running(pairs: list[ImagePair]) -> int:
    return ComparisonAttempt.objects.filter(pair__in=pairs, status=AttemptStatus.RUNNING).count()


def all_settled(pairs: list[ImagePair]) -> bool:
    return (
        not ImagePair.objects.filter(pk__in=[p.pk for p in pairs])
        .exclude(status__in=FINAL)
        .exists()
    )


def test_a_worker_killed_mid_burst_leaves_every_pair_decided_once_with_one_webhook_event(
    e2e, sandboxes, receiver
):
    api, workers = e2e
    only_finauth(sandboxes, latency_ms=1000)
    pairs = [submit(api, f"kill-{n}", callback_url=receiver) for n in range(BURST)]
    first = workers.start(concurrency=6)
    until(lambda: running(pairs) >= 4, "the worker never had calls in flight")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = timezone.now()
    workers.start(concurrency=6)

    until(lambda: all_settled(pairs), "not every pair settled after the crash", timeout=90)
    for pair in pairs:
        pair.refresh_from_db()
        assert pair.status == PairStatus.APPROVED
        decided = AuditEvent.objects.filter(
            event_type="pair.decided", subject_id=str(pair.public_id)
        )
        assert decided.count() == 1
        assert list(WebhookDelivery.objects.filter(pair=pair).values_list("event_type")) == [
            ("pair.approved",)
        ]
    # The deliveries the second worker records and sends (those the first one recorded wait for
    # the sweeper, leased to it): every id received is its pair's one event id.
    until(
        lambda: (
            not WebhookDelivery.objects.filter(
                pair__in=pairs, status=DeliveryStatus.PENDING, created_at__gte=killed_at
            ).exists()
        ),
        "the deliveries were never sent",
    )
    until(lambda: len(Receiver.received) > 0, "no webhook arrived")
    event_ids = set(WebhookDelivery.objects.filter(pair__in=pairs).values_list("event_id"))
    assert {(webhook_id,) for webhook_id, _ in Receiver.received} <= event_ids
    assert {kind for _, kind in Receiver.received} == {"pair.approved"}


def test_a_worker_stopped_mid_burst_finishes_its_calls_so_no_vendor_is_called_twice(e2e, sandboxes):
    api, workers = e2e
    only_finauth(sandboxes, latency_ms=1000)
    pairs = [submit(api, f"term-{n}") for n in range(BURST)]
    first = workers.start(concurrency=4)
    until(lambda: running(pairs) >= 3, "the worker never had calls in flight")
    in_flight = set(
        ComparisonAttempt.objects.filter(pair__in=pairs, status=AttemptStatus.RUNNING).values_list(
            "public_id", flat=True
        )
    )
    first.send_signal(signal.SIGTERM)  # a rolling deploy
    assert first.wait(timeout=30) == 0
    # The warm shutdown stored every call it had in flight before the process ended.
    assert not ComparisonAttempt.objects.filter(
        public_id__in=in_flight, status=AttemptStatus.RUNNING
    ).exists()
    workers.start(concurrency=4)

    until(lambda: all_settled(pairs), "not every pair settled after the restart", timeout=90)
    attempts = ComparisonAttempt.objects.filter(pair__in=pairs)
    assert attempts.count() == BURST  # no attempt failed over or was retried
    calls = calls_per_attempt(sandboxes)
    assert {str(public_id) for public_id in attempts.values_list("public_id", flat=True)} == set(
        calls
    )
    assert [attempt for attempt, count in calls.items() if count > 1] == []


def test_maintenance_runs_while_the_comparisons_queue_has_a_backlog(e2e, sandboxes):
    """Workers as the README deploys them: one for comparisons, one for maintenance."""
    api, workers = e2e
    only_finauth(sandboxes, latency_ms=1500)
    pairs = [submit(api, f"backlog-{n}") for n in range(8)]  # 12 s for one comparison thread
    orphan = WebhookDelivery.objects.create(
        event_id="msg_orphan",
        client=pairs[0].client,
        pair=pairs[0],
        event_type="pair.approved",
        url="https://hooks.example.com/kyc",
        payload={},
        attempts=MAX_ATTEMPTS,
        next_attempt_at=timezone.now() - timedelta(hours=1),
    )
    workers.start(concurrency=1, consume=(queues.COMPARISONS,))
    workers.start(concurrency=2, consume=(queues.MAINTENANCE,))
    until(lambda: running(pairs) >= 1, "the comparisons worker never started")

    dispatch.send(dispatch.SWEEP_DUE_WEBHOOKS)  # routed as beat sends it

    until(
        lambda: WebhookDelivery.objects.filter(pk=orphan.pk, status=DeliveryStatus.FAILED).exists(),
        "the sweep never ran",
    )
    # It ran while the comparisons were still queued: it did not wait behind them.
    undecided = ImagePair.objects.filter(pk__in=[p.pk for p in pairs]).exclude(status__in=FINAL)
    assert undecided.count() >= 2


def test_every_beat_task_is_routed_to_the_maintenance_queue(settings):
    from kyc.celery import app

    routed = {
        entry["task"]: app.amqp.router.route({}, entry["task"])["queue"].name
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert set(routed.values()) == {queues.MAINTENANCE}
    # kyc's and reviews' own sweepers both, so the rule is not one app's table.
    assert {"kyc.sweep_due_webhooks", "reviews.release_expired_claims"} <= set(routed)


def test_the_one_worker_of_the_demo_and_the_tests_consumes_every_queue():
    from kyc.worker_process import worker_command

    command = worker_command(2)
    assert command[command.index("--queues") + 1].split(",") == [
        "celery",
        "webhooks",
        "faces",
        "maintenance",
    ]
