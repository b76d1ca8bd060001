"""Which backend handles a pair next: priority order, failover, circuit breakers, rate limits.

Breaker and rate-limit state lives in the Django cache, which every web and worker process shares
(Redis in production), so one worker's failures protect them all.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable

from django.core.cache import cache

from vendors.models import VendorConfig

BREAKER_THRESHOLD = 5  # consecutive failures that open a vendor's circuit
BREAKER_OPEN_SECONDS = 30  # how long an open circuit skips the vendor
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 120.0


def enabled_configs() -> list[VendorConfig]:
    return list(VendorConfig.objects.filter(enabled=True).order_by("priority", "backend"))


def first_backend(requested: str = "") -> VendorConfig | None:
    """The requested backend when it is enabled, else the first enabled one by priority."""
    configs = enabled_configs()
    if requested:
        return next((c for c in configs if c.backend == requested), None)
    open_now = open_breakers([c.backend for c in configs])
    available = [c for c in configs if c.backend not in open_now] or configs
    return available[0] if available else None


def next_backend(tried: Iterable[str]) -> VendorConfig | None:
    """Failover: the next enabled backend not tried yet whose circuit is closed."""
    skip = set(tried)
    candidates = [c for c in enabled_configs() if c.backend not in skip]
    open_now = open_breakers([c.backend for c in candidates])
    return next((c for c in candidates if c.backend not in open_now), None)


def backoff_seconds(retry_number: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never sooner than the vendor's Retry-After."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, retry_number - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


# --- circuit breaker -------------------------------------------------------------------------


def _failures_key(vendor: str) -> str:
    return f"kyc:breaker:{vendor}:failures"


def _open_key(vendor: str) -> str:
    return f"kyc:breaker:{vendor}:open_until"


def breaker_open(vendor: str) -> bool:
    return vendor in open_breakers([vendor])


def open_breakers(vendors: list[str]) -> set[str]:
    """Which of these vendors' circuits are open, in one cache round trip."""
    values = cache.get_many([_open_key(vendor) for vendor in vendors])
    now = time.time()
    return {vendor for vendor in vendors if float(values.get(_open_key(vendor), 0)) > now}


def record_success(vendor: str) -> None:
    cache.delete_many([_failures_key(vendor), _open_key(vendor)])


def record_failure(vendor: str) -> None:
    key = _failures_key(vendor)
    cache.add(key, 0, timeout=BREAKER_OPEN_SECONDS * 10)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=BREAKER_OPEN_SECONDS * 10)
        failures = 1
    if failures >= BREAKER_THRESHOLD:
        cache.set(
            _open_key(vendor), time.time() + BREAKER_OPEN_SECONDS, timeout=BREAKER_OPEN_SECONDS
        )
        cache.set(key, 0, timeout=BREAKER_OPEN_SECONDS * 10)


# --- per-vendor rate limit ----------------------------------------------------------------------


def rate_limit_delay(config: VendorConfig) -> float:
    """Seconds to wait before calling this vendor, 0 when under its per-minute limit."""
    if not config.rate_limit_per_minute:
        return 0.0
    window = int(time.time() // 60)
    key = f"kyc:rate:{config.backend}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        used = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=120)
        used = 1
    if used <= config.rate_limit_per_minute:
        return 0.0
    return (window + 1) * 60 - time.time() + random.uniform(0, 2)
