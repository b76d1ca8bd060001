"""Row locks cover only the row being changed, so they cannot deadlock with the audit chain lock.

A plain `FOR UPDATE` on a pair joined to its client also locks the client row, and every insert
that references that client (its next pair, an audit event, a webhook delivery) waits on it. Two
workers recording results for one client then deadlocked in the pipeline benchmark: one held the
client row and waited for the audit chain's advisory lock, the other held the advisory lock and
waited for the client row. `FOR NO KEY UPDATE OF <pair>` leaves foreign-key checks free.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.audit.models import AuditEvent
from kyc.models import ApiClient, AttemptStatus, ImagePair, PairStatus, WebhookDelivery
from kyc.services import api_clients as clients
from kyc.services import pipeline
from tests.factories import AttemptFactory, ImagePairFactory
from tests.kyc.pipeline.harness import record_result
from vendors.base import CompareResult, ErrorCode, ResultStatus, VendorError
from vendors.models import VendorConfig

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def started_in_another_connection(
    work: Callable[[], object],
) -> tuple[threading.Thread, list[BaseException]]:
    """`work` running in a thread of its own, so on a connection of its own; what it raises is
    collected for the main thread to assert on."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported to the main thread
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def insert_while_locked(lock: Callable[[], object], insert: Callable[[], object]) -> None:
    """Run `insert` in another connection while this one holds `lock`; fail if it has to wait."""

    def insert_without_waiting() -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            insert()

    with transaction.atomic():
        lock()
        thread, errors = started_in_another_connection(insert_without_waiting)
        thread.join()
    assert errors == []


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are tested on PostgreSQL")


def test_recording_a_result_leaves_the_client_applicant_and_pair_keys_free() -> None:
    pair = ImagePairFactory()
    insert_while_locked(
        lambda: ImagePair.objects.lock_for_change(pair.pk),
        lambda: (
            ImagePairFactory(applicant=pair.applicant),
            AttemptFactory(pair=pair),
        ),
    )
    assert ImagePair.objects.filter(client=pair.client).count() == 2


def test_editing_a_client_leaves_its_key_free_for_new_pairs() -> None:
    pair = ImagePairFactory()
    client = ApiClient.objects.get(pk=pair.client_id)
    insert_while_locked(
        lambda: clients.update_client(client, {"throttle_rate": "90/min"}, Actor.system("test")),
        lambda: ImagePairFactory(applicant=pair.applicant),
    )
    assert ApiClient.objects.get(pk=client.pk).throttle_rate == "90/min"


def test_a_failed_attempt_takes_the_pair_lock_before_the_audit_chain_lock(default_rows) -> None:
    """A reviewer's decision locks the pair, then appends to the chain; recording a failure must
    take the two locks in the same order, or the two wait on each other until PostgreSQL kills
    one of them."""
    attempt = AttemptFactory(status=AttemptStatus.RUNNING)
    config = VendorConfig.objects.get(backend="advance")
    error = VendorError(ErrorCode.VENDOR_ERROR, "down", retryable=False)

    with transaction.atomic():
        ImagePair.objects.lock_for_change(attempt.pair_id)  # a reviewer is deciding this pair
        recorder, errors = started_in_another_connection(
            lambda: pipeline._record_failure(attempt, error, config)
        )
        time.sleep(0.5)  # the recorder now waits for whichever lock it takes second
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
        events.pair_decided(attempt.pair, Actor.system("reviewer"))
    recorder.join()
    assert errors == []


def test_a_result_recorded_while_another_writer_holds_the_pair_decides_on_what_it_committed(
    default_rows,
) -> None:
    """Storing the outcome and locking the pair are one statement (kyc.services.
    attempt_outcomes): when it waits for the pair's lock, it must then read the pair as the
    other writer left it (here, erased and failed), not as it was when the statement began."""
    attempt = AttemptFactory(status=AttemptStatus.RUNNING, vendor="advance")
    config = VendorConfig.objects.get(backend="advance")
    answer = CompareResult(vendor="advance", status=ResultStatus.COMPLETED, score=97.0)

    with transaction.atomic():
        ImagePair.objects.lock_for_change(attempt.pair_id)  # the applicant is being erased
        recorder, errors = started_in_another_connection(
            lambda: record_result(attempt, answer, config)
        )
        time.sleep(0.5)  # the recorder has stored its outcome and waits for the pair
        ImagePair.objects.filter(pk=attempt.pair_id).update(
            status=PairStatus.FAILED, status_reason="images_erased"
        )
    recorder.join()
    assert errors == []
    pair = ImagePair.objects.get(pk=attempt.pair_id)
    assert (pair.status, pair.status_reason, pair.deciding_attempt_id) == (
        PairStatus.FAILED,
        "images_erased",
        None,
    )
    attempt.refresh_from_db()
    assert (attempt.status, attempt.score) == (AttemptStatus.COMPLETED, 97.0)
    assert attempt.pair.status == PairStatus.FAILED
    assert not AuditEvent.objects.filter(event_type="pair.decided").exists()
    assert not WebhookDelivery.objects.filter(pair_id=attempt.pair_id).exists()
