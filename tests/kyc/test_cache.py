"""The Redis cache backend (kyc/cache.py): Django's own, reusing one client per pool."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from kyc.cache import RedisCache

REDIS_URL = os.environ.get("KYC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.redis


@pytest.fixture
def cache() -> RedisCache:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    backend = RedisCache(REDIS_URL, {"KEY_PREFIX": "test-cache"})
    backend.delete_many(["breaker", "token"])  # not clear(): other tests share this database
    return backend


def test_every_call_shares_one_client(cache) -> None:
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client("any-key") is client


def test_it_behaves_as_djangos_redis_cache(cache) -> None:
    assert cache.add("breaker", 0, timeout=60) is True
    assert cache.add("breaker", 5, timeout=60) is False
    assert cache.incr("breaker") == 1
    cache.set("token", {"token": "t", "expires_at": 1.5}, 60)
    assert cache.get_many(["breaker", "token", "missing"]) == {
        "breaker": 1,
        "token": {"token": "t", "expires_at": 1.5},
    }
    cache.delete_many(["breaker", "token"])
    assert cache.get("token") is None


def test_a_redis_cache_url_selects_it() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.CACHES)"],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kyc.settings",
            "CACHE_URL": "redis://127.0.0.1:6379/3",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'BACKEND': 'kyc.cache.RedisCache'" in shown
    assert "'LOCATION': 'redis://127.0.0.1:6379/3'" in shown
