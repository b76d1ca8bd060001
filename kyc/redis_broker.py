"""kombu's Redis transport, with one Redis client per channel instead of one per message.

kombu (5.7) makes a new `redis.Redis` each time a channel needs one for a pipeline: when a
message is received (recorded as unacknowledged) and when it is acknowledged, and when a task is
sent. With redis-py 8 building one costs ~50 µs (it copies ~200 response callbacks and makes an
event dispatcher), and under a busy comparisons worker those constructions were 10 % of the
samples holding the GIL (py-spy --gil, bench/pipeline.py). A `redis.Redis` is safe to share
between threads (each command borrows a connection from the pool), so the channel keeps one per
connection pool. Nothing else changes: the same pool, the same commands. Used for `redis://`
brokers (kyc/settings.py); the blocking client that waits for messages is kombu's own.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _kept_client: tuple[Any, Any] | None = None  # (pool, client made for that pool)

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)  # type: ignore[misc]
        pool = self.pool  # a channel drops its pools after a fork or when it closes
        kept = self._kept_client
        if kept is None or kept[0] is not pool:
            kept = self._kept_client = (pool, super()._create_client())  # type: ignore[misc]
        return kept[1]


class Transport(kombu_redis.Transport):
    Channel = Channel
