"""ADVANCE.AI access tokens: the signature, the token request, and a shared token store.

ADVANCE authenticates every API call with a short-lived token from its token endpoint
(VENDOR-PROTOCOLS.md §2.2). Fetching one costs a round trip, so a token is kept in the Django cache
(shared by every web and worker process, each also keeping its own copy) until 60 s before its
`expiredTime`, and a per-key lock keeps the threads of one process from all refreshing at once.
The token is a bearer secret: it is never logged, put in an exception or kept in a raw response.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import httpx

from vendors.advance.consts import ACCESS_TOKEN_HEADER, TOKEN_REFRESH_MARGIN_SECONDS


def advance_signature(access_key: str, secret_key: str, timestamp_ms: int | str) -> str:
    """lowercase hex SHA-256 of accessKey + secretKey + timestamp, no separators (§2.2 step 2).

    The timestamp must be written exactly as it travels in the body, so it is formatted once here.
    """
    return hashlib.sha256(f"{access_key}{secret_key}{timestamp_ms}".encode()).hexdigest()


def token_request_body(
    access_key: str, secret_key: str, timestamp_ms: int, period_seconds: int
) -> dict[str, Any]:
    """The JSON body of the token request.

    The seed's table types `timestamp` as a string but its curl example sends numbers; we send
    numbers, as the example does (§2.2 step 3).
    """
    return {
        "accessKey": access_key,
        "signature": advance_signature(access_key, secret_key, timestamp_ms),
        "timestamp": timestamp_ms,
        "periodSecond": period_seconds,
    }


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)  # a bearer secret: never in a repr, log or exception
    expires_at: float  # Unix seconds, from the response's `expiredTime` in ms (§2.2 step 4)

    def usable_at(self, now: float) -> bool:
        """Still worth sending: not within the refresh margin of its expiry (§2.2 step 6)."""
        return now < self.expires_at - TOKEN_REFRESH_MARGIN_SECONDS


class _LocalCache:
    """The slice of Django's cache API we use, for an adapter built without a cache."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._data.get(key, default)

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        with self._lock:
            self._data[key] = value

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


class TokenStore:
    """One account's token in a (possibly shared) cache, refreshed at most once at a time.

    `fetch` performs the token request and returns a new token (or raises `VendorError`).
    """

    def __init__(
        self,
        *,
        cache: Any,
        base_url: str,
        access_key: str,
        secret_key: str,
        fetch: Callable[[], AccessToken],
        clock: Callable[[], float],
    ) -> None:
        self.cache = cache if cache is not None else _LocalCache()
        # Keyed by access key; the digest also covers the host and the secret, so a sandbox and
        # production, or a rotated secret, never pick up each other's tokens. No secret appears
        # in the key itself.
        digest = hashlib.sha256(f"{base_url}\n{access_key}\n{secret_key}".encode()).hexdigest()
        self.key = f"vendors:advance:token:{digest[:32]}"
        self._fetch = fetch
        self._clock = clock
        # This process's copy of the shared token: every call would otherwise be a cache round
        # trip. A copy another process has since replaced is refused by ADVANCE once, and
        # `replace` then finds the newer token in the shared cache.
        self._known: AccessToken | None = None

    def get(self) -> AccessToken:
        """A usable token: the one this process knows, the shared one, or a fresh one fetched by
        exactly one thread."""
        token = self._known
        if token is not None and token.usable_at(self._clock()):
            return token
        token = self._cached()
        if token is not None and token.usable_at(self._clock()):
            return token
        with _lock_for(self.key):
            # Another thread may have refreshed while this one waited for the lock.
            token = self._cached()
            if token is not None and token.usable_at(self._clock()):
                return token
            return self._refresh()

    def replace(self, rejected: AccessToken) -> AccessToken:
        """A new token after ADVANCE refused `rejected` (IAM_FAILED, §2.2 step 6).

        If another thread already replaced it, that newer token is used instead of fetching again.
        """
        with _lock_for(self.key):
            token = self._cached()
            if token is not None and token.value != rejected.value:
                return token
            self.cache.delete(self.key)
            self._known = None
            return self._refresh()

    def _refresh(self) -> AccessToken:
        token = self._fetch()
        ttl = token.expires_at - TOKEN_REFRESH_MARGIN_SECONDS - self._clock()
        if ttl >= 1:
            stored = {"token": token.value, "expires_at": token.expires_at}
            self.cache.set(self.key, stored, int(ttl))
        self._known = token
        return token

    def _cached(self) -> AccessToken | None:
        stored = self.cache.get(self.key)
        if not isinstance(stored, dict):
            return None
        try:
            token = AccessToken(str(stored["token"]), float(stored["expires_at"]))
        except (KeyError, TypeError, ValueError):
            return None
        self._known = token
        return token


class AccessTokenAuth(httpx.Auth):
    """Sends the token as `X-ACCESS-TOKEN` on an API call (§2.2 step 5)."""

    def __init__(self, token: AccessToken) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[ACCESS_TOKEN_HEADER] = self.token.value
        yield request
