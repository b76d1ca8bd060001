"""A real worker process consumes a real broker (not eager mode)."""

from __future__ import annotations

import gc
import os
import subprocess

import pytest
import redis
from celery import signals
from celery.backends.redis import RedisBackend
from celery.result import AsyncResult

from kyc.celery import YOUNG_COLLECTION_THRESHOLD, app, collect_garbage_less
from kyc.tasks import ping
from kyc.worker_process import QUIET, stop_worker, worker_command
from tests.conftest import REPO
from vendors.models import VendorConfig

REDIS_URL = os.environ.get("KYC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_celery_is_configured_for_crash_safety():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit
    assert app.conf.task_always_eager is False


def test_a_cold_shutdown_waits_for_two_vendor_calls_at_the_default_timeout():
    """A running attempt is at most a token call and the comparison (README, "Stopping a
    worker"); abandoned earlier, its vendor would be called, and paid, twice."""
    default_timeout = VendorConfig._meta.get_field("timeout_seconds").default
    assert app.conf.worker_soft_shutdown_timeout >= 2 * default_timeout + 5


def test_a_ready_worker_leaves_what_it_loaded_out_of_garbage_collection():
    """Issue 19: a ready worker's collections skip its modules and clients, and run less often."""
    assert any(key[0] == "kyc.gc" for key, _ in signals.worker_ready.receivers)
    threshold = gc.get_threshold()
    gc.unfreeze()
    try:
        collect_garbage_less()
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.redis
def test_a_real_worker_on_redis_completes_a_task(tmp_path):
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on loopback (.ci/run starts it)")
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        **os.environ,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "KYC_VAR_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        worker_command(2, *QUIET),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    old_broker = app.conf.broker_url
    app.conf.update(broker_url=REDIS_URL)
    # The app caches its producer pool and result backend per process: use fresh ones.
    app._pool = None
    app.amqp._producer_pool = None
    backend = RedisBackend(app=app, url=REDIS_URL)
    try:
        sent = ping.apply_async(args=("hello from the test",))
        assert (
            AsyncResult(sent.id, backend=backend, app=app).get(timeout=60) == "hello from the test"
        )
    finally:
        app.conf.update(broker_url=old_broker)
        app._pool = None
        app.amqp._producer_pool = None
        stop_worker(worker, timeout=30)
