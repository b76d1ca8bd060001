"""How long a vendor's answer waits to be stored under load (issue 19 item 2), with ingest beside it.

    BENCH_DB=… BENCH_REDIS_DB=… python bench/load.py [--pairs 300] [--concurrency 60]
        [--latency-ms 1500] [--ingest-threads 4] [--db-pool 20]

One comparisons worker (`-Q celery,webhooks`, a thread pool of --concurrency threads) beside a
maintenance worker and beat; gunicorn takes the pairs through the API from --ingest-threads
client threads, so ingest runs beside the worker the whole time; the FinAuth sandbox answers
after --latency-ms (its log names our attempt). Printed: the distribution (p50/p95/p99/max) of
"vendor answer arrived -> answer committed", the window a crash bills twice in (the sandbox's
answer time to the attempt's answered_at, the database's clock when the answer's own statement,
committed on its own, ran), and of "-> settling transaction begun" (its finished_at, written by
that transaction's first statement; the decision commits after the rest of it), the worker's
CPU per decided pair, pairs decided per second, and the load average seen.
Statements per attempt are printed by bench/pipeline.py (this worker is not instrumented).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import os
import subprocess
import threading
import time
import uuid
from http.server import ThreadingHTTPServer

import httpx
import redis

from bench._env import BROKER_DB, bench_pair, free_port, start_web, vendor_only
from bench.crash import Receiver, VendorCalls, pct, settled, wait
from bench.pipeline import cpu_seconds
from kyc import queues
from kyc.worker_process import QUIET, beat_command, stop_worker, worker_command


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=60)
    parser.add_argument("--latency-ms", type=int, default=1500)
    parser.add_argument("--ingest-threads", type=int, default=4)
    parser.add_argument("--db-pool", type=int, default=20)
    args = parser.parse_args()

    sandbox, env = vendor_only("finauth", DB_POOL_MAX_SIZE=str(args.db_pool))
    calls = VendorCalls(sandbox.server.app)
    sandbox.server.app = calls
    control = f"{sandbox.url}/__sandbox"
    httpx.post(f"{control}/config", json={"latency_ms": args.latency_ms})
    httpx.post(f"{control}/script", json={"responses": [{"score": 95, "repeat": 10**6}]})

    from kyc.audit.chain import Actor
    from kyc.models import ApiClient, ComparisonAttempt, ImagePair
    from kyc.services.api_clients import create_api_key
    from vendors.models import VendorConfig

    VendorConfig.objects.filter(backend="finauth").update(approve_at=90, reject_below=40)
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    client = ApiClient.objects.create(
        name="load",
        throttle_rate="1000000/min",
        webhook_url=f"http://127.0.0.1:{receiver.server_port}/hook",
    )
    _, key = create_api_key(client, Actor.system("bench"))
    selfie, reference = bench_pair()
    var = Path(env["KYC_VAR_DIR"])

    def start(command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command, cwd=Path(__file__).resolve().parents[1], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    port = free_port()
    web = start_web(env, port)
    processes = [
        start(worker_command(4, *QUIET, consume=(queues.MAINTENANCE,))),
        start(beat_command(var / "celerybeat-schedule")),
    ]
    worker = start(
        worker_command(args.concurrency, *QUIET, consume=(queues.COMPARISONS, queues.WEBHOOKS))
    )
    submitted: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    counter = iter(range(args.pairs))

    def ingest() -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Api-Key {key}"},
            timeout=60,
        ) as http:
            for n in counter:
                response = http.post(
                    "/api/v1/image-pairs/",
                    data={"applicant_ref": f"load-{n}"},
                    files={"selfie": ("s.jpg", selfie), "reference": ("r.jpg", reference)},
                )
                with lock:
                    if response.status_code == 202:
                        submitted.append(response.json()["id"])
                    else:
                        failures.append(f"{response.status_code} {response.text[:200]}")

    try:
        time.sleep(4)  # the worker's start-up is not what is measured
        cpu_before = cpu_seconds(worker.pid)
        started = time.monotonic()
        threads = [threading.Thread(target=ingest) for _ in range(args.ingest_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ingest_seconds = time.monotonic() - started
        load_seen = os.getloadavg()[0]
        pairs = list(ImagePair.objects.filter(public_id__in=submitted).values_list("pk", flat=True))
        wait(lambda: settled(pairs), "the pairs did not settle", 600)
        worker_cpu = cpu_seconds(worker.pid) - cpu_before
        seconds = time.monotonic() - started
    finally:
        stop_worker(worker, timeout=60)
        for process in processes:
            stop_worker(process, timeout=30)
        web.terminate()
        web.wait(timeout=30)
        sandbox.stop()
        redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()

    stored = {
        public_id: (answered_at, finished_at)
        for public_id, answered_at, finished_at in ComparisonAttempt.objects.filter(
            pair__in=pairs, finished_at__isnull=False
        )
        .values_list("public_id", "answered_at", "finished_at")
        .iterator()
    }
    arrivals = [
        (stored[uuid.UUID(call.attempt)], call.answered)
        for call in calls.calls
        if uuid.UUID(call.attempt) in stored
    ]
    committed = sorted((times[0].timestamp() - at) * 1000 for times, at in arrivals if times[0])
    settling = sorted((times[1].timestamp() - at) * 1000 for times, at in arrivals)
    print(
        f"{len(pairs)} pairs through the API ({args.ingest_threads} client threads, "
        f"{ingest_seconds:.1f} s, {len(failures)} refused), FinAuth sandbox at "
        f"{args.latency_ms} ms, one comparisons worker with {args.concurrency} threads and "
        f"{args.db_pool} pooled connections (broker db {BROKER_DB}); load average "
        f"{load_seen:.1f} during ingest\n"
    )
    print(
        f"vendor answer -> answer committed (ms): {distribution(committed)} "
        f"({len(committed)} attempts; target p95 <= 100)"
    )
    print(f"vendor answer -> settling transaction begun (ms): {distribution(settling)}")
    print(
        f"worker CPU {worker_cpu:.1f} s: {worker_cpu / len(pairs) * 1000:.1f} ms per pair "
        f"(webhooks on); {len(pairs) / seconds:.1f} pairs/s from the first submission to "
        "the last settled"
    )
    for failure in failures[:5]:
        print("refused:", failure)


def distribution(ms: list[float]) -> str:
    return f"p50 {pct(ms, 50):.0f}, p95 {pct(ms, 95):.0f}, p99 {pct(ms, 99):.0f}, max {ms[-1]:.0f}"


if __name__ == "__main__":
    main()
