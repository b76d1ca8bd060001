"""Pipeline overhead and throughput with one Celery worker process (PostgreSQL + Redis).

    python bench/pipeline.py [--pairs 200] [--burst 300] [--rounds 3] [--concurrency 150]
                             [--db-pool 20] [--processes 2] [--vendor-keeps-connections]
                             [--broker-url amqp://…]

1. Sandbox latency 0 ms (skipped with --pairs 0): pairs submitted one by one; our overhead per
   pair is the time from submission (committed and queued) until the decision can be read,
   minus the vendor's own time, broken down by stage: the worker of this phase times the
   pipeline's stages from outside (bench/stage_times.py), the queue wait comes from the
   attempt's created/started times (target p50 <= 50 ms). The bench polls every millisecond,
   which adds up to ~1 ms.
2. Sandbox latency 1,500 ms: ONE running worker process (thread pool), warmed by one pair as a
   production worker would be, gets a burst of pairs submitted in one transaction, so every
   task is queued at once when it commits; pairs decided per second from the first claim to the
   last decision (target >= 40/s; the default prefork pool manages about 1.3/s on two cores),
   and the worker's CPU over the same burst, until every decision's webhook is delivered too
   (the worker delivers them; --without-webhooks measures deciding alone). Repeated
   (--rounds): on a shared VM one run can differ from the next by a fifth. With --processes N,
   the same again with N worker processes side by side (N x --burst pairs per round), and the
   ratio of their pairs/s to one process's: how far adding processes scales on this machine (the
   target is 1.7x for two on two cores). Each round also prints the CPU that PostgreSQL and
   Redis used and how busy the whole machine was: on two cores they, the sandbox and the
   workers all share the same two, which bounds what a second process can add.

The worker runs as the README advises: a thread pool and a PostgreSQL connection pool
(DB_POOL_MAX_SIZE), so threads waiting on the vendor hold no database connection.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from django.db import transaction

from bench._env import ROOT, advance_only, bench_pair
from bench.keep_alive import serve_keeping_connections, serve_webhook_receiver
from kyc.worker_process import QUIET, stop_worker, worker_command


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@contextlib.contextmanager
def running_worker(
    env: dict[str, str], concurrency: int, stage_times: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """One Celery worker process, stopped however the phase ends (a stray one would keep
    consuming the next run's queue and holding its database connections). With `stage_times`,
    the same worker with its pipeline stages timed into that file (bench/stage_times.py)."""
    command = worker_command(concurrency, *QUIET, "--prefetch-multiplier", "4")
    if stage_times is not None:
        assert command[1:3] == ["-m", "celery"], command
        command[1:3] = ["-m", "bench.stage_times", str(stage_times)]
    worker = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield worker
    finally:
        stop_worker(worker, timeout=60)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds a process has used so far (Linux /proc). System time in a
    worker is mostly its threads handing the GIL to each other and its socket calls."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick  # utime, stime


def services_cpu_seconds() -> float:
    """CPU seconds used so far by every PostgreSQL and Redis server process on the machine: they
    share its cores with the workers (and other users of those servers count too)."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):  # a process that ended since the glob
            if comm.read_text().strip() in {"postgres", "redis-server"}:
                total += cpu_seconds(int(comm.parent.name))
    return total


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (Linux /proc/stat)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / tick, sum(ticks) / tick


def context_switches(pid: int) -> tuple[int, int]:
    """Times the threads of a process have given up the CPU so far: (of their own accord, mostly
    waiting for the GIL or a socket; or preempted by the kernel for another process), from
    Linux /proc. Counted per pair, it shows how often a pair's work stops to hand the GIL over,
    which seconds on a shared VM are too noisy to show."""
    waited = preempted = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        with contextlib.suppress(FileNotFoundError):  # a thread that ended since the glob
            for line in status.read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    waited += int(line.split(":")[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    preempted += int(line.split(":")[1])
    return waited, preempted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=150)
    parser.add_argument("--db-pool", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--without-webhooks",
        action="store_true",
        help="phase 2 without webhooks: deciding only, as this bench measured before",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="also measure this many worker processes side by side (--burst pairs each)",
    )
    parser.add_argument(
        "--vendor-keeps-connections",
        action="store_true",
        help="the worker calls the sandbox over HTTP/1.1 kept alive, as a real vendor's API "
        "(bench/keep_alive.py); by default every call opens a connection",
    )
    parser.add_argument(
        "--broker-url",
        default="",
        help="another broker than the Redis database of BENCH_REDIS_DB for the workers, e.g. "
        "amqp://guest:guest@127.0.0.1:5672// (its queues are purged first)",
    )
    args = parser.parse_args()

    broker = {"CELERY_BROKER_URL": args.broker_url} if args.broker_url else {}
    sandbox, env = advance_only(DB_POOL_MAX_SIZE=str(args.db_pool), **broker)
    control = f"{sandbox.url}/__sandbox"
    if args.vendor_keeps_connections:
        vendor_url, _ = serve_keeping_connections(sandbox.app)
        env.update(sandbox.app.client_settings(vendor_url))

    from kyc.models import ApiClient, ImagePair
    from kyc.services.submissions import Submission, submit_pair

    # Phase 1 clients have a webhook target, so its enqueue is part of the measured path.
    client = ApiClient.objects.create(
        name="bench",
        throttle_rate="1000000/min",
        webhook_url=serve_webhook_receiver(),
    )
    selfie, reference = bench_pair()

    def submit(n: int) -> ImagePair:
        pair, _ = submit_pair(
            client, Submission(applicant_ref=f"user-{n}", selfie=selfie, reference=reference)
        )
        return pair

    # --- 1. overhead per pair at 0 ms vendor latency ---------------------------------------------
    def overhead_one_at_a_time() -> None:
        # pair -> ms from submitted to its decision being readable
        seen_after: dict[int, float] = {}
        stage_file = Path(env["KYC_VAR_DIR"]) / "stage_times.jsonl"
        with running_worker(env, args.concurrency, stage_file):
            time.sleep(3)
            submit(-1)  # warm the worker (imports, connections)
            time.sleep(2)
            for n in range(args.pairs):
                pair = submit(n)
                submitted = time.monotonic()
                while not ImagePair.objects.filter(pk=pair.pk, decided_at__isnull=False).exists():
                    if time.monotonic() > submitted + 30:
                        raise SystemExit(f"pair {n} was not decided in 30 s")
                    time.sleep(0.001)
                seen_after[pair.pk] = (time.monotonic() - submitted) * 1000

        timed = {
            line["attempt"]: line for line in map(json.loads, stage_file.read_text().splitlines())
        }
        rows = []
        statements: dict[str, list[int]] = {"claim": [], "record": []}
        for pair in ImagePair.objects.filter(pk__in=seen_after).select_related("deciding_attempt"):
            attempt = pair.deciding_attempt
            measured = timed.get(attempt.pk, {})
            queue_wait = attempt.started_at - attempt.created_at
            stages = {
                "queue wait (commit -> claim)": queue_wait.total_seconds() * 1000,
                "read + decrypt images": measured.get("read_ms", 0),
                "image preparation": measured.get("prepare_ms", 0),
                "database (store, decide, audit, commit)": measured.get("record_ms", 0)
                - measured.get("webhook_ms", 0)
                - measured.get("webhook_send_ms", 0),
                "webhook enqueue": measured.get("webhook_ms", 0),
            }
            overhead = seen_after[pair.pk] - (attempt.latency_ms or 0)
            for phase in statements:
                statements[phase].append(measured.get(f"{phase}_statements", 0))
            rows.append(
                {
                    "overhead": overhead,
                    **stages,
                    "the rest (claim, call set-up, polling)": overhead - sum(stages.values()),
                    "vendor call (excluded)": attempt.latency_ms or 0,
                    # After the commit: the decision is readable while it is sent.
                    "webhook sent (after commit, excluded)": measured.get("webhook_send_ms", 0),
                }
            )
        print(
            f"\n1. Overhead per pair, sandbox latency 0 ms, {len(rows)} pairs one at a time, "
            f"1 worker process ({args.concurrency} threads, {args.db_pool} pooled connections), "
            "PostgreSQL + Redis\n"
        )
        print(f"{'stage':40} {'p50 ms':>8} {'p99 ms':>8}")
        for key in rows[0]:
            values = [row[key] for row in rows]
            print(f"{key:40} {pct(values, 50):8.1f} {pct(values, 99):8.1f}")
        print(
            "\nSQL statements per attempt (webhooks on; BEGIN/COMMIT not counted): claim (read and "
            f"claim, before the vendor call) median {statistics.median(statements['claim']):.0f} "
            f"max {max(statements['claim'])}; record (store, judge, decide, audit, webhook and its "
            "first attempt) median "
            f"{statistics.median(statements['record']):.0f} max {max(statements['record'])}"
        )

    if args.pairs:  # --pairs 0: throughput only
        overhead_one_at_a_time()

    # --- 2. throughput at 1,500 ms vendor latency: one worker process, then (--processes) more ---
    # With webhooks, as deployed: the worker's CPU per pair includes recording each decision's
    # event and delivering it (the worker consumes the webhooks queue too).
    if args.without_webhooks:
        ApiClient.objects.filter(pk=client.pk).update(webhook_url="")
        client.refresh_from_db()
    httpx.post(f"{control}/config", json={"latency_ms": 1500})
    medians = {}
    for processes in sorted({1, args.processes}):
        burst = args.burst * processes
        print(
            f"\n2. Throughput, sandbox latency 1,500 ms, {burst} pairs queued at once, {processes} "
            f"worker process(es) with {args.concurrency} threads and {args.db_pool} pooled "
            f"connections each, {args.rounds} rounds, webhooks "
            f"{'off' if args.without_webhooks else 'on'}, vendor connections "
            f"{'kept' if args.vendor_keeps_connections else 'closed after each call'}\n"
        )
        rates = []
        with contextlib.ExitStack() as stack:
            workers = [
                stack.enter_context(running_worker(env, args.concurrency)) for _ in range(processes)
            ]
            time.sleep(3)
            for _ in workers:  # warm the workers (imports, connections), as in production
                submit(-2)
            time.sleep(2)
            for round_number in range(1, args.rounds + 1):
                rate = burst_round(
                    submit, burst, 100_000 * processes + 10_000 * round_number, workers
                )
                rates.append(rate)
        medians[processes] = statistics.median(rates)
        print(
            f"\npairs/s with {processes} process(es): median {medians[processes]:.1f}, lowest "
            f"{min(rates):.1f}, highest {max(rates):.1f} (target: one process >= 100/s)"
        )
    sandbox.stop()
    if args.processes > 1:
        print(
            f"\n{args.processes} processes / 1 process: {medians[args.processes] / medians[1]:.2f}x "
            f"({medians[args.processes]:.1f} / {medians[1]:.1f} pairs/s; target >= 1.7x for 2)"
        )


def burst_round(
    submit: Callable[[int], Any], burst: int, first: int, workers: list[subprocess.Popen[bytes]]
) -> float:
    """Queue `burst` pairs in one transaction, wait until all are decided; print and return
    pairs/s from the first claim to the last decision, with the workers' CPU over the burst."""
    from kyc.models import ComparisonAttempt, DeliveryStatus, ImagePair, WebhookDelivery

    cpu_before = [cpu_split(worker.pid) for worker in workers]
    switches_before = [context_switches(worker.pid) for worker in workers]
    with transaction.atomic():  # every task is sent at once, when this commits
        pairs = [submit(first + n).pk for n in range(burst)]
    sandbox_before = cpu_seconds(os.getpid())  # after the submissions, which this process made
    services_before, machine_before = services_cpu_seconds(), machine_busy_seconds()
    deadline = time.monotonic() + 300
    while ImagePair.objects.filter(pk__in=pairs, decided_at__isnull=True).exists():
        if time.monotonic() > deadline:
            raise SystemExit("the burst was not decided within 300 s")
        time.sleep(0.2)
    # The workers' CPU is read once every decision's webhook (if any) has been delivered too.
    deliveries = WebhookDelivery.objects.filter(pair_id__in=pairs)
    while deliveries.exclude(status=DeliveryStatus.DELIVERED).exists():
        if time.monotonic() > deadline:
            raise SystemExit("the burst's webhooks were not delivered within 300 s")
        time.sleep(0.2)
    # The vendor sandbox answers from a thread of this process: if this reaches the burst's
    # seconds, the sandbox, not the worker, set the pace.
    sandbox_cpu = cpu_seconds(os.getpid()) - sandbox_before
    services_cpu = services_cpu_seconds() - services_before
    machine_after = machine_busy_seconds()
    machine_busy = (machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1])
    split = [
        (after[0] - before[0], after[1] - before[1])
        for after, before in zip(map(cpu_split, (w.pid for w in workers)), cpu_before, strict=True)
    ]
    switches_after = [context_switches(worker.pid) for worker in workers]
    waited, preempted = (
        sum(
            after[n] - before[n]
            for after, before in zip(switches_after, switches_before, strict=True)
        )
        for n in (0, 1)
    )
    cpu = [user + system for user, system in split]
    worker_cpu = sum(cpu)
    system_share = sum(system for _, system in split) / worker_cpu
    first_claim = min(
        ComparisonAttempt.objects.filter(pair_id__in=pairs).values_list("started_at", flat=True)
    )
    decided = sorted(ImagePair.objects.filter(pk__in=pairs).values_list("decided_at", flat=True))
    seconds = (decided[-1] - first_claim).total_seconds()
    # Every decision appends to the one audit chain under its lock, so decisions commit one
    # after another: the median gap between consecutive ones is about the time each holds that
    # lock, and 1000 / gap the most that any number of worker processes can decide per second.
    gap_ms = statistics.median(
        (later - earlier).total_seconds() * 1000 for earlier, later in itertools.pairwise(decided)
    )
    statuses = statistics.multimode(
        ImagePair.objects.filter(pk__in=pairs).values_list("status", flat=True)
    )
    print(
        f"{burst} pairs decided in {seconds:.1f} s from the first claim: {burst / seconds:.1f} "
        f"pairs/s; {deliveries.count()} webhooks delivered; worker CPU {worker_cpu:.1f} s ({' + '.join(f'{c:.1f}' for c in cpu)}), "
        f"{worker_cpu / burst * 1000:.1f} ms per pair, {system_share:.0%} of it system time, "
        f"{(waited + preempted) / burst:.0f} context switches per pair ({waited / burst:.0f} "
        f"waiting, {preempted / burst:.0f} preempted) "
        f"(at most {burst / worker_cpu:.0f}/s per core); sandbox + bench CPU {sandbox_cpu:.1f} s; "
        f"PostgreSQL + Redis CPU {services_cpu:.1f} s; machine {machine_busy:.0%} busy "
        f"({os.cpu_count()} cores); "
        f"median gap between consecutive decisions {gap_ms:.1f} ms (at most {1000 / gap_ms:.0f}/s "
        f"one at a time); most common status: {statuses[0]}"
    )
    return burst / seconds


if __name__ == "__main__":
    main()
