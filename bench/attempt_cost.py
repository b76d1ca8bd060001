"""What one comparison attempt costs the worker, without threads: CPU and instructions.

    python bench/attempt_cost.py [--attempts 300] [--profile OUT_FILE]
    valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes \
        --callgrind-out-file=cg.%p .venv/bin/python bench/attempt_cost.py --callgrind cg.%p

Runs `pipeline.run_attempt` in a loop in this one thread, against the ADVANCE sandbox (0 ms
latency, in a thread of this process) on PostgreSQL and Redis, for pairs like bench/pipeline.py's.
It prints the loop thread's CPU per attempt. Under callgrind (`--callgrind`), counting is switched
on only around the loop and the script prints the instructions this thread executed per attempt:
unlike seconds on a shared VM, that count repeats from run to run, so it shows what a change to
the pipeline saves. With `--profile`, cProfile runs around the loop (one thread, so it sees
every call) and the script prints where the time went and saves the stats for `pstats`; the
profiler's own overhead inflates small Python calls, so read its shares, not its seconds.
The per-pair CPU of a threaded worker is higher (Celery, GIL hand-offs):
bench/pipeline.py measures that.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import os
import subprocess

from bench._env import advance_only, bench_pair, cost_in_this_thread
from bench.keep_alive import serve_webhook_receiver

WARM_UP = 20


def callgrind(switch: str) -> None:
    subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], check=True)


def loop_thread_instructions(out_file: str) -> int:
    """Instructions of this process's main thread in the dump taken after the loop.

    callgrind names that dump `<out file>.1-01`: the first dump, first thread.
    """
    dump = Path(out_file.replace("%p", str(os.getpid())) + ".1-01")
    if not dump.exists():
        raise SystemExit(f"no callgrind dump at {dump}: is --callgrind-out the valgrind one?")
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise SystemExit(f"{dump} has no totals line")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=300)
    parser.add_argument(
        "--callgrind",
        metavar="OUT_FILE",
        help="running under callgrind, whose --callgrind-out-file is OUT_FILE (with its %%p)",
    )
    parser.add_argument("--profile", metavar="OUT_FILE", help="cProfile the loop into OUT_FILE")
    args = parser.parse_args()

    # The tasks the submissions queue are never consumed (this loop runs the attempts itself):
    # an in-memory broker lets them vanish with the process.
    sandbox, _ = advance_only(DB_POOL_MAX_SIZE="4", CELERY_BROKER_URL="memory://localhost/")

    from kyc.models import ApiClient, ComparisonAttempt
    from kyc.services import pipeline
    from kyc.services.submissions import Submission, submit_pair

    # A webhook receiver, as bench/pipeline.py's clients have: the thread that decides a pair
    # records its event and sends it once the decision commits (kyc.webhooks, `send_here`).
    client = ApiClient.objects.create(
        name="bench", throttle_rate="1000000/min", webhook_url=serve_webhook_receiver()
    )
    selfie, reference = bench_pair()
    pairs = [
        submit_pair(client, Submission(applicant_ref=f"u{n}", selfie=selfie, reference=reference))[
            0
        ]
        for n in range(WARM_UP + args.attempts)
    ]
    attempt_ids = list(
        ComparisonAttempt.objects.filter(pair__in=pairs).order_by("pk").values_list("pk", flat=True)
    )
    for attempt_id in attempt_ids[:WARM_UP]:  # imports, connections, the vendor's token
        pipeline.run_attempt(attempt_id)

    if args.callgrind:
        callgrind("on")
    # CPU time, not wall time: waits on the sandbox and the database are not our cost.
    cpu, wall, stats = cost_in_this_thread(
        lambda: [pipeline.run_attempt(attempt_id) for attempt_id in attempt_ids[WARM_UP:]],
        args.profile,
    )
    if args.callgrind:
        callgrind("off")
        subprocess.run(["callgrind_control", "-d", str(os.getpid())], check=True)
    sandbox.stop()
    completed = ComparisonAttempt.objects.filter(pk__in=attempt_ids, status="completed").count()
    print(
        f"{args.attempts} attempts, one thread: {cpu / args.attempts * 1000:.2f} ms CPU and "
        f"{wall / args.attempts * 1000:.2f} ms wall per attempt ({completed} of "
        f"{len(attempt_ids)} completed)"
    )
    if stats:
        stats.sort_stats("cumulative").print_stats(45)
    if args.callgrind:
        instructions = loop_thread_instructions(args.callgrind)
        print(f"instructions per attempt in this thread: {instructions / args.attempts:,.0f}")


if __name__ == "__main__":
    main()
