"""The API's guard against guessed keys, per address (the staff sign-in's is lockout.py).

After `KYC_API_KEY_FAILURE_LIMIT` unknown or revoked keys from one address within
`KYC_API_KEY_FAILURE_WINDOW_SECONDS`, that address may present no key at all, valid or not, for
`KYC_API_KEY_COOLOFF_SECONDS`: refusing only the bad ones would tell a guesser which key was
right. The counters live in the shared cache (CACHE_URL), so every web process counts together.
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)


def _failures_key(address: str) -> str:
    return f"kyc:api-key-failures:{address}"


def _blocked_key(address: str) -> str:
    return f"kyc:api-key-blocked:{address}"


def blocked_for(address: str) -> int:
    """Whole seconds until `address` may present keys again; 0 when it may now."""
    until: float | None = cache.get(_blocked_key(address))
    if until is None:
        return 0
    return max(math.ceil(until - timezone.now().timestamp()), 0)


def record_failure(address: str) -> None:
    """Count one unknown or revoked key from `address`; the last one allowed starts the block."""
    window = settings.KYC_API_KEY_FAILURE_WINDOW_SECONDS
    key = _failures_key(address)
    cache.add(key, 0, timeout=window)  # the window starts at the first failure
    try:
        failures = cache.incr(key)
    except ValueError:  # the window ended between the two calls
        cache.set(key, 1, timeout=window)
        failures = 1
    if failures < settings.KYC_API_KEY_FAILURE_LIMIT:
        return
    cool_off = settings.KYC_API_KEY_COOLOFF_SECONDS
    cache.set(_blocked_key(address), timezone.now().timestamp() + cool_off, timeout=cool_off)
    cache.delete(key)
    logger.warning(
        "API keys refused from %s for %d s after %d unknown keys.", address, cool_off, failures
    )
