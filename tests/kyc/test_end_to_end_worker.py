"""Submit through the API; a real Celery worker process on Redis calls the sandboxes and decides.

The worker is a separate process with its own settings, sharing the test database, the
encrypted image folder and the broker, exactly as a deployment would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from kyc import queues
from kyc.audit.models import AuditEvent
from kyc.celery import app
from kyc.crypto import generate_master_key_entry
from kyc.models import AttemptStatus, ComparisonAttempt, ImagePair, PairStatus, WebhookDelivery
from kyc.services import pipeline
from kyc.worker_process import QUIET, stop_worker, worker_command
from tests.conftest import REPO, database_url, face_bytes, store_images_in
from tests.factories import client_with_key
from vendors.models import VendorConfig
from vendors.registry import COMMERCIAL_BACKENDS
from vendors.sandboxes.advance import CHECK_PATH

# The run's own Redis database when it names one (runs side by side must not share a broker:
# one run's worker would take the other's tasks); db 14 otherwise.
REDIS_URL = os.environ.get("KYC_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
KEY = generate_master_key_entry("e2e")
pytestmark = [pytest.mark.redis]

NO_FACE = {
    "finauth": {"error": "NO_FACE_FOUND:image"},
    "advance": {"error": "NO_FACE_DETECTED_FROM_FIRST_IMAGE"},
    "zoloz": {"error": "UNABLE_GET_IMAGE", "no_face": "face1"},
    "alibaba": {"error": "NoFaceDetected"},
}


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e-media")


@pytest.fixture(autouse=True)
def _isolated_media(settings, media_dir):
    """Overrides the suite-wide fixture: the worker process must read the same folder. The
    webhook receiver is on loopback, so this process (which checks callback URLs) allows it too."""
    settings.KYC_ENCRYPTION_KEYS = KEY
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = True
    store_images_in(settings, media_dir)


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.headers["webhook-id"], json.loads(body)["type"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks"
    server.shutdown()


class Workers:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(
        self, concurrency: int = 4, consume: tuple[str, ...] = queues.ALL, **env: str
    ) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            worker_command(concurrency, *QUIET, consume=consume),
            cwd=REPO,
            env={**self.env, **env},
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            stop_worker(process)


@pytest.fixture
def e2e(
    default_rows, sandboxes, media_dir, tmp_path, settings
) -> Iterator[tuple[APIClient, Workers]]:
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on loopback (.ci/run starts it)")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
        "KYC_ATTEMPT_GRACE_SECONDS": "1",
        "KYC_ENCRYPTION_KEYS": KEY,
        "MEDIA_ROOT": str(media_dir),
        "KYC_VAR_DIR": str(tmp_path / "worker-var"),
        "KYC_WEBHOOKS_ALLOW_PRIVATE": "true",
    }
    for handle in sandboxes.values():
        env.update(handle.settings)
        handle.configure(engine=False)
    old = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.update(broker_url=REDIS_URL, broker_transport_options={"visibility_timeout": 4})
    reset_producer_pool()
    workers = Workers(env)
    _, key = client_with_key()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    try:
        yield api, workers
    finally:
        workers.stop_all()
        app.conf.update(broker_url=old[0], broker_transport_options=old[1])
        reset_producer_pool()


def reset_producer_pool() -> None:
    """The app caches its broker connections: forget them when the broker URL changes.

    (Not force-closed: kombu keeps producer pools in a global registry keyed by broker URL, and a
    closed one would be handed back the next time the same URL is used.)
    """
    app._pool = None
    app.amqp._producer_pool = None


def submit(api: APIClient, ref: str, callback_url: str = "") -> ImagePair:
    response = api.post(
        "/api/v1/image-pairs/",
        {
            "applicant_ref": ref,
            "selfie": SimpleUploadedFile("s.jpg", face_bytes("df_img1.jpg")),
            "reference": SimpleUploadedFile("r.jpg", face_bytes("df_img2.jpg")),
            "callback_url": callback_url,
        },
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    return ImagePair.objects.get(public_id=response.json()["id"])


def wait_for(pair: ImagePair, statuses: set[str], timeout: float = 60) -> ImagePair:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pair.refresh_from_db()
        if pair.status in statuses:
            return pair
        time.sleep(0.2)
    raise AssertionError(
        f"pair stayed {pair.status}; attempts: {list(pair.attempts.values('status', 'error_code'))}"
    )


FINAL = {"approved", "rejected", "needs_review", "resubmit", "failed"}


@pytest.mark.parametrize("vendor", COMMERCIAL_BACKENDS)
def test_every_outcome_through_a_real_worker(e2e, sandboxes, vendor):
    api, workers = e2e
    VendorConfig.objects.update(enabled=False)
    VendorConfig.objects.filter(backend=vendor).update(enabled=True, approve_at=90, reject_below=40)
    workers.start()
    cases = [
        ({"score": 97, "risk_tags": []}, PairStatus.APPROVED),
        ({"score": 5, "risk_tags": []}, PairStatus.REJECTED),
        ({"score": 66 if vendor == "finauth" else 60, "risk_tags": []}, PairStatus.NEEDS_REVIEW),
        (NO_FACE[vendor], PairStatus.RESUBMIT),
    ]
    if vendor == "finauth":
        cases.append(({"score": 97, "risk_tags": ["is_age_risk"]}, PairStatus.NEEDS_REVIEW))
    for number, (entry, expected) in enumerate(cases):
        sandboxes[vendor].script(entry)
        pair = wait_for(submit(api, f"{vendor}-{number}"), FINAL)
        assert pair.status == expected, (entry, pair.status_reason)
        assert pair.deciding_attempt.vendor == vendor


def test_a_pair_sent_to_review_has_its_faces_located_by_a_worker_of_the_faces_queue(e2e, sandboxes):
    """ZOLOZ sends no face boxes: the boxes come from our engine, run by the worker that
    consumes the faces queue (the one `worker_command` starts takes every queue)."""
    api, workers = e2e
    VendorConfig.objects.update(enabled=False)
    VendorConfig.objects.filter(backend="zoloz").update(
        enabled=True, approve_at=90, reject_below=40
    )
    sandboxes["zoloz"].script({"score": 60})
    workers.start()
    pair = wait_for(submit(api, "faces"), FINAL)
    assert pair.status == PairStatus.NEEDS_REVIEW
    deadline = time.monotonic() + 60
    while not pair.face_geometry:
        assert time.monotonic() < deadline, "no worker located the faces"
        time.sleep(0.2)
        pair.refresh_from_db()
    assert [pair.face_geometry[which]["source"] for which in ("selfie", "reference")] == [
        "ours",
        "ours",
    ]


def test_a_worker_killed_mid_call_still_ends_in_exactly_one_decision(e2e, sandboxes, receiver):
    api, workers = e2e
    VendorConfig.objects.update(enabled=False)
    VendorConfig.objects.filter(backend="advance").update(enabled=True, timeout_seconds=2)
    sandboxes["advance"].script({"score": 95, "latency_ms": 1500}, {"score": 95})
    first = workers.start()
    pair = submit(api, "crash", callback_url=receiver)
    deadline = time.monotonic() + 30
    while not ComparisonAttempt.objects.filter(pair=pair, status=AttemptStatus.RUNNING).exists():
        assert time.monotonic() < deadline, "the worker never took the attempt"
        time.sleep(0.05)
    time.sleep(0.3)
    first.send_signal(signal.SIGKILL)  # mid-call: the vendor is still answering
    first.wait(timeout=10)
    workers.start()
    pair = wait_for(pair, FINAL, timeout=90)
    assert pair.status == PairStatus.APPROVED
    assert (
        AuditEvent.objects.filter(event_type="pair.decided", subject_id=str(pair.public_id)).count()
        == 1
    )
    assert WebhookDelivery.objects.filter(pair=pair).count() == 1
    deadline = time.monotonic() + 30
    while not Receiver.received and time.monotonic() < deadline:
        time.sleep(0.1)
    ids = [webhook_id for webhook_id, _ in Receiver.received]
    assert ids, "the webhook was never delivered"
    assert len(ids) == len(set(ids)), "an event id was delivered twice"
    assert Receiver.received[0][1] == "pair.approved"


def test_a_pooled_worker_keeps_more_vendor_calls_in_flight_than_it_has_connections(e2e, sandboxes):
    """Threads give their database connection back while the vendor answers (DESIGN §5).

    Were a connection held through the call, a pool of two would let only two calls be in flight:
    the third would reach the vendor only after the first answer.
    """
    if connection.vendor != "postgresql":
        pytest.skip("connection pooling is a PostgreSQL feature")
    api, workers = e2e
    VendorConfig.objects.update(enabled=False)
    VendorConfig.objects.filter(backend="advance").update(enabled=True)
    sandboxes["advance"].configure(latency_ms=1500)
    pairs = [submit(api, f"pooled-{n}") for n in range(8)]
    workers.start(concurrency=8, DB_POOL_MAX_SIZE="2")
    for pair in pairs:
        wait_for(pair, FINAL)
    arrivals = [
        entry["time"]
        for entry in sandboxes["advance"].requests()
        if entry["path"].rstrip("/") == CHECK_PATH
    ]
    first_answer = min(
        ComparisonAttempt.objects.filter(pair__in=pairs).values_list("finished_at", flat=True)
    )
    assert len(arrivals) == 8
    assert max(arrivals) < first_answer.timestamp()


def test_after_the_database_drops_the_pooled_connections_every_pair_is_still_decided(
    e2e, sandboxes
):
    """A pooled connection is not checked each time a thread borrows it (kyc/settings.py): after
    a database restart each stale one fails the task that borrows it, the pool replaces it, and
    the stuck-attempt sweeper (beat runs it every minute; here the test) re-runs those tasks."""
    if connection.vendor != "postgresql":
        pytest.skip("connection pooling is a PostgreSQL feature")
    api, workers = e2e
    VendorConfig.objects.update(enabled=False)
    VendorConfig.objects.filter(backend="advance").update(
        enabled=True, timeout_seconds=1, approve_at=90, reject_below=40
    )
    sandboxes["advance"].script({"score": 97, "repeat": 100})
    workers.start(concurrency=4, DB_POOL_MAX_SIZE="2")
    assert wait_for(submit(api, "warm"), FINAL).status == PairStatus.APPROVED
    with connection.cursor() as cursor:  # what a restart does to the worker's pooled connections
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 2
    pairs = [submit(api, f"after-restart-{n}") for n in range(4)]
    deadline = time.monotonic() + 90
    while {pair.status for pair in pairs} - FINAL:
        assert time.monotonic() < deadline, [pair.status for pair in pairs]
        pipeline.sweep_stuck_attempts(older_than=timedelta(0))
        time.sleep(1)
        for pair in pairs:
            pair.refresh_from_db()
    assert {pair.status for pair in pairs} == {PairStatus.APPROVED}
    decided = AuditEvent.objects.filter(
        event_type="pair.decided", subject_id__in=[str(pair.public_id) for pair in pairs]
    )
    assert decided.count() == 4
