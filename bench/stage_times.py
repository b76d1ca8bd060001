"""A Celery worker whose pipeline stages are timed from outside, for bench/pipeline.py.

    python -m bench.stage_times OUT_FILE <the arguments `celery` takes>

The pipeline keeps no timings of its own: an attempt row holds what the vendor said, not how long
our code took. This launcher wraps the pipeline's stages in its own process, then runs the
worker as `celery` would, and appends one JSON line per attempt it runs to OUT_FILE:

    {"attempt": 12, "read_ms": 2.1, "prepare_ms": 9.8, "record_ms": 6.3, "webhook_ms": 0.9,
     "webhook_send_ms": 2.4, "claim_statements": 2, "record_statements": 9}

read: opening and decrypting both images; prepare: re-encoding them for the vendor; record: the
transaction that stores, judges and decides, its commit included; webhook: enqueueing the
webhook, inside record; webhook_send: the webhook's first attempt, made after the commit, also
inside record. Statements: every SQL statement the attempt's thread sent, before the vendor call
(claim_statements: reading and claiming the attempt) and after it (record_statements: the
recording transaction and the webhook's first attempt, BEGIN and COMMIT not counted). A Celery
task runs start to end on one pool thread, so a thread-local holds the stages of the attempt
that thread is running.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

_running = threading.local()
_write_lock = threading.Lock()


def _timed(stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            stages = getattr(_running, "stages", None)
            if stages is not None:  # called outside an attempt (a reviewer's decision): ignore
                stages[stage] = stages.get(stage, 0.0) + (time.perf_counter() - started) * 1000

    return timed


def install(out_file: str) -> None:
    """Wrap the pipeline's stages in this process (Django must be set up)."""
    from django.db import connection

    from kyc.services import pipeline
    from kyc.webhooks import delivery

    run_attempt = pipeline.run_attempt
    vendor_call = pipeline.vendor_call

    def count_statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        stages = getattr(_running, "stages", None)
        if stages is not None:
            key = "record_statements" if stages.get("called") else "claim_statements"
            stages[key] = stages.get(key, 0) + 1
        return execute(sql, params, many, context)

    def marked_vendor_call(*args: Any, **kwargs: Any) -> Any:
        # The call itself runs no statement; the answer is stored inside vendor_call.
        _running.stages["called"] = 1
        return vendor_call(*args, **kwargs)

    @functools.wraps(run_attempt)
    def timed_run_attempt(attempt_id: int) -> float | None:
        _running.stages = {}
        try:
            with connection.execute_wrapper(count_statement):
                return run_attempt(attempt_id)
        finally:
            stages, _running.stages = _running.stages, None
            if stages:  # nothing ran when the attempt was held elsewhere or postponed
                line = json.dumps({"attempt": attempt_id, **stages})
                with _write_lock, open(out_file, "a") as handle:
                    handle.write(line + "\n")

    # kyc.tasks and the pipeline look these names up when they call them, so replacing the
    # module attributes is enough (the pipeline calls each through its module's globals).
    pipeline.run_attempt = timed_run_attempt
    pipeline.vendor_call = marked_vendor_call
    pipeline._read_images = _timed("read_ms", pipeline._read_images)
    pipeline._build_request = _timed("prepare_ms", pipeline._build_request)
    pipeline._store_result = _timed("record_ms", pipeline._store_result)
    pipeline._settle_stored = _timed("record_ms", pipeline._settle_stored)
    pipeline.enqueue_pair_event = _timed("webhook_ms", pipeline.enqueue_pair_event)
    # The first attempt at the webhook, which this thread makes once the decision commits.
    delivery._send_here_or_queue = _timed("webhook_send_ms", delivery._send_here_or_queue)


def main() -> None:
    out_file, *celery_arguments = sys.argv[1:]
    import django

    django.setup()  # the worker's own set-up later finds it done
    install(out_file)
    from celery.__main__ import main as celery

    sys.argv = ["celery", *celery_arguments]
    celery()


if __name__ == "__main__":
    main()
