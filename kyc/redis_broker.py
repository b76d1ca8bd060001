"""kombu's Redis transport, with one Redis client per channel instead of one per message.

kombu (5.7) makes a new `redis.Redis` each time a channel needs one for a pipeline: when a
message is received (recorded as unacknowledged) and when it is acknowledged, and when a task is
sent. With redis-py 8 building one took 68–90 µs here (it copies ~200 response callbacks and
makes an event dispatcher). Keeping one took a no-op task's worker CPU from 0.64–0.81 ms to
0.48–0.67 ms in alternating runs (bench/celery_cost.py). A `redis.Redis` is safe to share
between threads (each command borrows a connection from the pool), so the channel keeps one per
connection pool. Nothing else changes: the same pool, the same commands. Used for `redis://`
brokers only (kyc/settings.py): given for a `rediss://` URL, a transport class turns off the TLS
that kombu reads from that scheme. The blocking client that waits for messages is kombu's own.
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
