"""What a worker crash costs, and what a rolling deploy costs (PostgreSQL + Redis, real workers).

    python bench/crash.py [--burst 200] [--concurrency 50] [--latency-ms 1500] [--db-pool 20]
                          [--stop-after 0.3] [--signals KILL,TERM] [--redis-db 11]

For each signal: a burst of pairs is queued at once for the README's comparisons worker
(`-Q celery,webhooks`, a thread pool) beside a maintenance worker and beat; the FinAuth sandbox
answers after --latency-ms. Once --stop-after of the burst is decided, the comparisons worker
gets the signal (SIGKILL: a crash; SIGTERM: a rolling deploy, waited for), then a new one starts
and everything settles. Printed per signal:

- attempts in flight at the signal: claimed and not yet settled, and how many of those had
  their vendor's answer stored (committed first, settled by the next run without a call);
- attempts whose vendor was called twice or more (the sandbox's log names our attempt in
  FinAuth's `biz_no`), split into those whose first call the vendor had already answered before
  the signal (billed twice for certain: the answer was lost in our window) and those cut off
  while the vendor was still working (a vendor may or may not bill those); of the answered ones,
  those the sandbox had also finished sending (the rest were still being written by this
  process, which shares its CPU with the bench: a crash window a real vendor would not add);
- pairs settled, pairs decided more than once (the audit trail's `pair.decided`), and webhook
  events: pairs with more than one event id (must be 0), ids received more than once (a
  redelivery with the same id, which receivers deduplicate).

Attempt deadlines are shortened (vendor timeout 5 s, KYC_ATTEMPT_GRACE_SECONDS=2) and the
broker redelivers a dead worker's messages after 15 s, so a run settles in about a minute.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import json
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

import httpx
import redis
from django.db import transaction
from werkzeug.wsgi import ClosingIterator

from bench._env import PG, ROOT, bench_pair, vendor_only
from kyc import queues
from kyc.worker_process import QUIET, beat_command, stop_worker, worker_command

FINAL = ("approved", "rejected", "needs_review", "resubmit", "failed")


class Call(NamedTuple):
    attempt: str  # our attempt's public id
    arrived: float  # the request reached the sandbox's app
    answered: float  # the app returned the answer
    sent: float  # the HTTP server wrote its last byte: from here on, the answer is ours to lose


class VendorCalls:
    """Wraps the sandbox's WSGI app: when each call for each attempt arrived, was answered and
    was sent. The last two differ under load: the server writes the body after the app returns,
    and the sandbox shares this process's CPU with the bench; a real vendor's servers do not."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.calls: list[Call] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        arrived = time.time()
        response = self.app(environ, start_response)
        answered = time.time()
        request = environ.get("werkzeug.request")  # the sandbox's, its form already parsed
        biz_no = request.form.get("biz_no", "") if request is not None else ""
        if not biz_no:
            return response

        def sent() -> None:  # the server closes the response once it has written all of it
            with self.lock:
                self.calls.append(Call(biz_no, arrived, answered, time.time()))

        return ClosingIterator(response, sent)


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that records each (webhook-id, pair id) and answers 204."""

    received: list[tuple[str, str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        Receiver.received.append((self.headers["webhook-id"], body["data"]["id"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def wait(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} within {timeout:.0f} s")
        time.sleep(0.05)


def pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def decided_at_least(pairs: list[int], count: float) -> bool:
    from kyc.models import ImagePair

    return ImagePair.objects.filter(pk__in=pairs, decided_at__isnull=False).count() >= count


def settled(pairs: list[int]) -> bool:
    """Every pair final and every webhook delivered or given up."""
    from kyc.models import ImagePair, WebhookDelivery

    return (
        not ImagePair.objects.filter(pk__in=pairs).exclude(status__in=FINAL).exists()
        and not WebhookDelivery.objects.filter(pair__in=pairs, status="pending").exists()
    )


def latest_set(rows: Any, field: str) -> Any:
    """The row of `rows` whose `field` is latest, among those where it is set (PostgreSQL sorts
    NULL first, so `latest` alone would pick a row never claimed or never delivered)."""
    return rows.filter(**{f"{field}__isnull": False}).latest(field)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=1500)
    parser.add_argument("--stop-after", type=float, default=0.3)
    parser.add_argument("--signals", default="KILL,TERM")
    parser.add_argument("--db-pool", type=int, default=20, help="the worker's DB_POOL_MAX_SIZE")
    parser.add_argument(
        "--redis-db", type=int, default=11, help="broker and cache (flushed at start and end)"
    )
    args = parser.parse_args()

    sandbox, env = vendor_only(
        "finauth",
        # A database and broker of its own: bench/pipeline.py may be running on kyc_bench.
        DATABASE_URL=f"{PG}/kyc_bench_crash",
        CELERY_BROKER_URL=f"redis://127.0.0.1:6379/{args.redis_db}",
        CACHE_URL=f"redis://127.0.0.1:6379/{args.redis_db}",
        DB_POOL_MAX_SIZE=str(args.db_pool),
        KYC_ATTEMPT_GRACE_SECONDS="2",
        CELERY_VISIBILITY_TIMEOUT="15",
        CELERY_UNACKED_RESTORE_INTERVAL="1",
        CELERY_UNACKED_RESTORE_THROTTLE="1",
    )
    calls = VendorCalls(sandbox.server.app)
    sandbox.server.app = calls
    control = f"{sandbox.url}/__sandbox"
    httpx.post(f"{control}/config", json={"latency_ms": args.latency_ms})
    httpx.post(f"{control}/script", json={"responses": [{"score": 95, "repeat": 10**6}]})

    from kyc.audit.models import AuditEvent
    from kyc.models import ApiClient, ComparisonAttempt, ImagePair, WebhookDelivery
    from kyc.services.submissions import Submission, submit_pair
    from vendors.models import VendorConfig

    VendorConfig.objects.filter(backend="finauth").update(
        timeout_seconds=5, approve_at=90, reject_below=40
    )
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    client = ApiClient.objects.create(
        name="crash",
        throttle_rate="1000000/min",
        webhook_url=f"http://127.0.0.1:{receiver.server_port}/hook",
    )
    selfie, reference = bench_pair()
    var = Path(env["KYC_VAR_DIR"])

    def start(command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def comparisons_worker() -> subprocess.Popen[bytes]:
        return start(
            worker_command(args.concurrency, *QUIET, consume=(queues.COMPARISONS, queues.WEBHOOKS))
        )

    maintenance = [
        start(worker_command(4, *QUIET, consume=(queues.MAINTENANCE,))),
        start(beat_command(var / "celerybeat-schedule")),
    ]
    print(
        f"{args.burst} pairs queued at once, FinAuth sandbox at {args.latency_ms} ms, one "
        f"comparisons worker ({args.concurrency} threads) stopped once {args.stop_after:.0%} are "
        "decided, then a new one; maintenance worker and beat beside them.\n"
    )
    try:
        for name in args.signals.split(","):
            sig = signal.Signals[f"SIG{name}"]
            Receiver.received = []
            with calls.lock:
                calls.calls.clear()
            with transaction.atomic():
                pairs = [
                    submit_pair(
                        client,
                        Submission(applicant_ref=f"{name}-{n}", selfie=selfie, reference=reference),
                    )[0].pk
                    for n in range(args.burst)
                ]
            burst = ImagePair.objects.filter(pk__in=pairs)
            worker = comparisons_worker()
            wait(
                partial(decided_at_least, pairs, args.burst * args.stop_after),
                "the burst was not decided far enough",
                300,
            )
            running = ComparisonAttempt.objects.filter(pair__in=pairs, status="running")
            running_at_signal = running.count()
            stopped_at = time.time()
            worker.send_signal(sig)
            started = time.monotonic()
            worker.wait(timeout=120)
            exit_seconds = time.monotonic() - started
            left_running = running.count()  # what the stopped worker left unsettled
            left_answered = running.filter(answered_at__isnull=False).count()
            worker = comparisons_worker()
            try:
                wait(
                    partial(settled, pairs),
                    "the burst did not settle",
                    300,
                )
                settled_seconds = time.monotonic() - started
            finally:
                stop_worker(worker, timeout=60)

            per_attempt: dict[str, list[Call]] = {}
            with calls.lock:
                for call in calls.calls:
                    per_attempt.setdefault(call.attempt, []).append(call)
            ours = {
                str(public_id)
                for public_id in ComparisonAttempt.objects.filter(pair__in=pairs).values_list(
                    "public_id", flat=True
                )
            }
            twice = {a: sorted(c) for a, c in per_attempt.items() if a in ours and len(c) > 1}
            answered_before = sum(1 for c in twice.values() if c[0].answered <= stopped_at)
            sent_before = sum(1 for c in twice.values() if c[0].sent <= stopped_at)
            decided = Counter(
                AuditEvent.objects.filter(
                    event_type="pair.decided",
                    subject_id__in=[str(p) for p in burst.values_list("public_id", flat=True)],
                ).values_list("subject_id", flat=True)
            )
            ids_per_pair = Counter(
                WebhookDelivery.objects.filter(pair__in=pairs).values_list("pair_id", flat=True)
            )
            receipts = Counter(webhook_id for webhook_id, _ in Receiver.received)
            # The window a SIGKILL bills twice in: from the vendor's answer to its commit.
            answers = dict(
                ComparisonAttempt.objects.filter(pair__in=pairs, answered_at__isnull=False)
                .values_list("public_id", "answered_at")
                .iterator()
            )
            windows, from_sent = [], []
            for attempt, made in per_attempt.items():
                stored = answers.get(uuid.UUID(attempt))
                if len(made) == 1 and stored is not None:
                    windows.append((stored.timestamp() - made[0].answered) * 1000)
                    from_sent.append((stored.timestamp() - made[0].sent) * 1000)
            windows.sort()
            from_sent.sort()
            in_flight = left_running if sig == signal.SIGKILL else running_at_signal
            print(f"SIG{name}:")
            print(f"  attempts running at the signal           {running_at_signal}")
            print(f"  left running (unsettled) by the worker   {left_running}")
            print(f"    of which the answer was stored        {left_answered}")
            print(f"  worker exited after                      {exit_seconds:.1f} s")
            print(
                f"  vendor answer -> committed (ms)          p50 {pct(windows, 50):.0f}, "
                f"p95 {pct(windows, 95):.0f}, max {windows[-1]:.0f} ({len(windows)} attempts)"
            )
            print(
                f"  vendor answer sent -> committed (ms)     p50 {pct(from_sent, 50):.0f}, "
                f"p95 {pct(from_sent, 95):.0f}, max {from_sent[-1]:.0f}"
            )
            print(f"  attempts whose vendor was called twice+  {len(twice)}")
            print(
                f"    first call answered before the signal {answered_before} "
                f"({answered_before / max(in_flight, 1):.1%} of {in_flight} in flight): "
                "billed twice"
            )
            print(
                f"      of which sent before the signal     {sent_before} "
                f"({sent_before / max(in_flight, 1):.1%})"
            )
            print(f"    first call cut off mid-call           {len(twice) - answered_before}")
            print(
                f"  pairs settled                            "
                f"{burst.filter(status__in=FINAL).count()}/{args.burst} "
                f"({settled_seconds:.0f} s after the signal)"
            )
            # A message the broker lost is re-sent by the stuck-attempt sweeper once its attempt
            # is 2 minutes old (kyc.services.pipeline.sweep_stuck_attempts), not by redelivery.
            last = latest_set(ComparisonAttempt.objects.filter(pair__in=pairs), "started_at")
            print(
                f"  last attempt claimed                     "
                f"{last.started_at.timestamp() - stopped_at:.0f} s after the signal "
                f"({last.started_at.timestamp() - last.created_at.timestamp():.0f} s after it "
                "was queued)"
            )
            # A delivery whose worker died waits out its lease (30 s), then the 15 s sweep.
            late = latest_set(WebhookDelivery.objects.filter(pair__in=pairs), "delivered_at")
            print(
                f"  last webhook delivered                   "
                f"{late.delivered_at.timestamp() - stopped_at:.0f} s after the signal "
                f"(attempt {late.attempts})"
            )
            print(
                f"  pairs decided twice                      "
                f"{sum(1 for n in decided.values() if n > 1)}"
            )
            print(
                f"  pairs with a second webhook id           "
                f"{sum(1 for n in ids_per_pair.values() if n > 1)}"
            )
            print(
                f"  webhooks: {len(receipts)} ids received, "
                f"{sum(1 for n in receipts.values() if n > 1)} of them more than once\n"
            )
    finally:
        for process in maintenance:
            stop_worker(process, timeout=30)
        sandbox.stop()
        redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()


if __name__ == "__main__":
    main()
