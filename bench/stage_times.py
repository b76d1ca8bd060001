"""A Celery worker whose pipeline stages are timed from outside, for bench/pipeline.py.

    python -m bench.stage_times OUT_FILE <the arguments `celery` takes>

The pipeline keeps no timings of its own: an attempt row holds what the vendor said, not how long
our code took. This launcher wraps four pipeline functions in its own process, then runs the
worker as `celery` would, and appends one JSON line per attempt it runs to OUT_FILE:

    {"attempt": 12, "read_ms": 2.1, "prepare_ms": 9.8, "record_ms": 6.3, "webhook_ms": 0.9}

read: opening and decrypting both images; prepare: re-encoding them for the vendor; record: the
transaction that stores, judges and decides, its commit included; webhook: enqueueing the
webhook, inside record. A Celery task runs start to end on one pool thread, so a thread-local
holds the stages of the attempt that thread is running.
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
    from kyc.services import pipeline

    run_attempt = pipeline.run_attempt

    @functools.wraps(run_attempt)
    def timed_run_attempt(attempt_id: int) -> float | None:
        _running.stages = {}
        try:
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
    pipeline._read_images = _timed("read_ms", pipeline._read_images)
    pipeline._build_request = _timed("prepare_ms", pipeline._build_request)
    pipeline._record_result = _timed("record_ms", pipeline._record_result)
    pipeline.enqueue_pair_event = _timed("webhook_ms", pipeline.enqueue_pair_event)


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
