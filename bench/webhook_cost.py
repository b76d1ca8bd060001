"""What one webhook delivery costs the worker, without threads: CPU per delivery.

    python bench/webhook_cost.py [--deliveries 300] [--tls] [--profile OUT_FILE]

Runs `kyc.webhooks.delivery.deliver` in a loop in this one thread, on PostgreSQL, against a
receiver in a thread of this process that answers 204, for deliveries recorded as the pipeline
records them (`enqueue_pair_event`, one per pair). It prints the loop thread's CPU per delivery
(claim, signing, the POST, the outcome). The receiver keeps its connections open, as real ones
do; with `--tls` it speaks https, with a certificate for 127.0.0.1 made for the run and trusted
by the deliveries' TLS context. With `--profile`, cProfile runs around the loop and the
script prints where the time went (read its shares, not its seconds). Every automatic decision
of a client with a webhook URL costs one of these on top of its attempt (bench/attempt_cost.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse

from bench._env import advance_only, bench_pair, cost_in_this_thread
from bench.keep_alive import serve_webhook_receiver

WARM_UP = 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--tls", action="store_true", help="the receiver speaks https")
    parser.add_argument("--profile", metavar="OUT_FILE", help="cProfile the loop into OUT_FILE")
    args = parser.parse_args()

    # The comparisons the submissions queue are never run (an in-memory broker drops them), so
    # the vendor's sandbox is not needed either.
    sandbox, _ = advance_only(DB_POOL_MAX_SIZE="4", CELERY_BROKER_URL="memory://localhost/")
    sandbox.stop()

    from kyc.models import ApiClient, WebhookDelivery
    from kyc.services.submissions import Submission, submit_pair
    from kyc.webhooks.delivery import deliver, enqueue_pair_event, tls_context
    from kyc.webhooks.signing import generate_secret

    client = ApiClient.objects.create(
        name="bench",
        throttle_rate="1000000/min",
        webhook_url=serve_webhook_receiver(tls_trusted_by=tls_context() if args.tls else None),
        webhook_secret=generate_secret(),
    )
    selfie, reference = bench_pair()
    deliveries = []
    for n in range(WARM_UP + args.deliveries):
        pair, _ = submit_pair(
            client, Submission(applicant_ref=f"u{n}", selfie=selfie, reference=reference)
        )
        delivery = enqueue_pair_event(pair, "pair.approved", {"id": str(pair.public_id)})
        assert delivery is not None
        deliveries.append(delivery.pk)
    for delivery_id in deliveries[:WARM_UP]:  # imports, connections
        deliver(delivery_id)

    cpu, wall, stats = cost_in_this_thread(
        lambda: [deliver(delivery_id) for delivery_id in deliveries[WARM_UP:]], args.profile
    )
    delivered = WebhookDelivery.objects.filter(pk__in=deliveries, status="delivered").count()
    print(
        f"{args.deliveries} deliveries, one thread: {cpu / args.deliveries * 1000:.2f} ms CPU "
        f"and {wall / args.deliveries * 1000:.2f} ms wall per delivery ({delivered} of "
        f"{len(deliveries)} delivered)"
    )
    if stats:
        stats.sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
