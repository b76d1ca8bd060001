"""What Celery itself costs the comparisons worker per task: CPU per task that does nothing.

    BENCH_DB=… BENCH_REDIS_DB=… python bench/celery_cost.py [--tasks 3000] [--rounds 3]
                                                            [--concurrency 150]

The worker bench/pipeline.py runs (the README's command: a thread pool of --concurrency threads,
Redis as the broker, late acknowledgement) is sent --tasks messages of `kyc.tasks.ping` at once,
a task that returns its argument and touches no database. Its CPU from the first message to the
last acknowledgement, per task, is what receiving, running and acknowledging one task costs
before any of our work: the floor under bench/pipeline.py's CPU per pair, which is one task per
pair (its throughput phase has no webhooks). Printed per round, with the share of system time.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import statistics
import time

import redis

from bench._env import advance_only
from bench.crash import wait
from bench.pipeline import cpu_split, running_worker
from kyc import queues

PING = "kyc.tasks.ping"


def drained(broker: redis.Redis) -> bool:
    """No message waiting in the comparisons queue and none delivered but unacknowledged."""
    return not broker.llen(queues.COMPARISONS) and not broker.hlen("unacked")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=150)
    args = parser.parse_args()

    sandbox, env = advance_only()
    from celery import current_app

    broker = redis.Redis.from_url(env["CELERY_BROKER_URL"])
    per_task = []
    try:
        with running_worker(env, args.concurrency) as worker:
            for _ in range(50):  # warm: the worker is up and its threads have started
                current_app.send_task(PING, queue=queues.COMPARISONS)
            wait(lambda: drained(broker), "the worker did not start", 120)
            time.sleep(1)
            for _ in range(args.rounds):
                user, system = cpu_split(worker.pid)
                started = time.monotonic()
                for _ in range(args.tasks):
                    current_app.send_task(PING, queue=queues.COMPARISONS)
                wait(lambda: drained(broker), "the tasks were not consumed", 600)
                seconds = time.monotonic() - started
                user_after, system_after = cpu_split(worker.pid)
                cpu = (user_after - user) + (system_after - system)
                per_task.append(cpu / args.tasks * 1000)
                print(
                    f"{args.tasks} no-op tasks in {seconds:.1f} s: worker CPU {cpu:.2f} s, "
                    f"{per_task[-1]:.2f} ms per task, "
                    f"{(system_after - system) / max(cpu, 1e-9):.0%} of it system time"
                )
    finally:
        sandbox.stop()
        broker.flushdb()
    print(
        f"\nCelery's CPU per task, {args.concurrency} threads: median "
        f"{statistics.median(per_task):.2f} ms (lowest {min(per_task):.2f})"
    )


if __name__ == "__main__":
    main()
