"""kyc.redis_broker: kombu's Redis transport keeping one Redis client per channel."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis
from kombu import Connection

from kyc.redis_broker import Transport
from tests.conftest import REPO

REDIS_URL = os.environ.get("KYC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.redis


@pytest.fixture
def connection() -> Iterator[Connection]:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on loopback (.ci/run starts it)")
    redis.Redis.from_url(REDIS_URL).flushdb()
    with Connection(REDIS_URL, transport=Transport) as connection:
        yield connection
    redis.Redis.from_url(REDIS_URL).flushdb()


def test_a_message_is_received_and_acknowledged_through_one_kept_client(
    connection: Connection,
) -> None:
    queue = connection.SimpleQueue("kyc-test-redis-broker")
    channel = queue.channel
    assert isinstance(channel, Transport.Channel)
    client = channel._create_client()
    queue.put({"attempt": 1})
    message = queue.get(timeout=5)
    # Received: kombu recorded it as unacknowledged, to restore if this consumer died.
    assert redis.Redis.from_url(REDIS_URL).hlen(channel.unacked_key) == 1
    message.ack()
    assert message.payload == {"attempt": 1}
    assert redis.Redis.from_url(REDIS_URL).hlen(channel.unacked_key) == 0
    assert channel._create_client() is client
    queue.close()


def test_a_channel_that_dropped_its_pool_makes_a_client_for_the_new_one(
    connection: Connection,
) -> None:
    channel = connection.default_channel
    assert isinstance(channel, Transport.Channel)
    before = channel._create_client()
    channel._disconnect_pools()  # what kombu does in a forked child
    after = channel._create_client()
    assert after is not before
    assert after.connection_pool is channel.pool
    assert after.ping()


@pytest.mark.parametrize(
    ("broker_url", "transport"),
    [
        ("redis://127.0.0.1:6379/15", "kyc.redis_broker:Transport"),
        ("rediss://127.0.0.1:6379/15", "None"),  # ours would drop the TLS the scheme asks for
        ("amqp://guest:guest@127.0.0.1:5672//", "None"),
        ("filesystem://", "None"),
    ],
)
def test_the_settings_use_it_for_redis_brokers_only(broker_url: str, transport: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kyc.settings",
        "CELERY_BROKER_URL": broker_url,
    }
    shown = subprocess.run(
        [sys.executable, "-c", "from kyc.celery import app; print(app.conf.broker_transport)"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == transport
