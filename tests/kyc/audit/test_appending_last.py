"""Audit events are linked and written when their block ends, right before COMMIT (issue 19,
"store first"): the chain's lock is held for that one statement and the commit, not for the
whole transaction, and the chain stays one unbroken, verifiable line."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from psycopg.pq import TransactionStatus

from kyc.audit.chain import (
    _ADVISORY_LOCK_ID,
    Actor,
    append,
    appending_together,
    audited_atomic,
    canonical_json,
    canonical_json_around_seq,
    compute_hash,
    verify_chain,
)
from kyc.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
T = TypeVar("T")

#: Text whose canonical JSON is not plain ASCII: the database hashes the same UTF-8 bytes.
AWKWARD = {
    "label": "Zoë Ñúñez 山田 😀",
    "quote": 'say "seq":1, then \\ and \n and \t',
    "control": "\x01\x1f",
    "float": 61.5,
    "nested": {"b": [1, 2.25, None, True], "a": {"seq": 3}},
}


class Undone(Exception):
    """The work the events record failed."""


def _fail_after_appending(*numbers: int) -> None:
    for n in numbers:
        _event(n)
    raise Undone


def _event(n: int, params: dict | None = None) -> AuditEvent:
    return append(
        actor=Actor(type="system", id="", label="Zoë's job"),
        event_type="test.event",
        subject_type="thing",
        subject_id=str(n),
        params={"n": n} if params is None else params,
    )


def test_the_text_around_the_seq_is_the_canonical_json_with_the_seq_left_out():
    event = AuditEvent(
        seq=1234567,
        created_at=datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=UTC),
        actor_type="system",
        actor_id="",
        actor_label="Zoë",
        event_type="test.event",
        subject_type="thing",
        subject_id="x",
        params=AWKWARD,
    )
    before, after = canonical_json_around_seq(event)
    assert before + "1234567" + after == canonical_json(event)


def test_events_written_by_the_database_hash_like_compute_hash_and_verify():
    _event(0)
    with transaction.atomic(), appending_together():
        events = [_event(n, {**AWKWARD, "n": n}) for n in (1, 2, 3)]
    _event(4, AWKWARD)
    for stored in AuditEvent.objects.order_by("seq"):
        assert stored.hash == compute_hash(stored.prev_hash, stored)
    assert [e.hash for e in events] == list(
        AuditEvent.objects.filter(seq__in=(2, 3, 4)).order_by("seq").values_list("hash", flat=True)
    )
    status = verify_chain()
    assert status.ok and status.events == 5, status.describe()


def test_an_event_has_no_place_in_the_chain_until_its_block_ends():
    with transaction.atomic(), appending_together():
        event = _event(1)
        assert (event.pk, event.seq, event.hash) == (None, None, "")
        assert not AuditEvent.objects.exists()
    assert event.pk is not None and event.seq == 1 and AuditEvent.objects.get(seq=1).pk == event.pk


def test_a_block_that_raises_writes_none_of_its_events():
    _event(0)
    with pytest.raises(Undone), transaction.atomic(), appending_together():
        _fail_after_appending(1, 2)
    assert list(AuditEvent.objects.values_list("subject_id", flat=True)) == ["0"]
    assert verify_chain().ok


def test_an_event_in_a_savepoint_rolled_back_inside_the_block_is_not_written():
    with transaction.atomic(), appending_together():
        _event(1)
        try:
            with transaction.atomic():  # a savepoint the block outlives
                _fail_after_appending(2)
        except Undone:
            pass
        with transaction.atomic():  # a savepoint that is released: its event stays
            _event(3)
        _event(4)
    rows = list(AuditEvent.objects.order_by("seq").values_list("seq", "subject_id"))
    assert rows == [(1, "1"), (2, "3"), (3, "4")]
    assert verify_chain().ok


def test_audited_atomic_writes_its_events_and_commits_them_with_its_work():
    with audited_atomic():
        first, second = _event(1), _event(2)
    assert (first.seq, second.seq) == (1, 2) and second.prev_hash == first.hash
    with pytest.raises(Undone), audited_atomic():
        _fail_after_appending(3)
    assert AuditEvent.objects.count() == 2


@pytest.mark.postgres
def test_a_block_writes_all_its_events_in_one_statement_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement append is PostgreSQL's")
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), appending_together():
        for n in range(3):
            _event(n)
    statements = [q["sql"] for q in queries.captured_queries if "audit" in q["sql"]]
    assert len(statements) == 1 and "audit_append" in statements[0]
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2, 3]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_chain_lock_is_not_held_while_the_block_runs_only_from_its_end():
    if connection.vendor != "postgresql":
        pytest.skip("the chain's advisory lock is PostgreSQL's")
    appended, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with audited_atomic():
                _event(1)
                appended.set()
                release.wait(30)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert appended.wait(30)
        # Another connection writes and commits while the first transaction is still open.
        assert _held_chain_locks() == 0
        other = _event(2)
    finally:
        release.set()
        thread.join()
    assert errors == []
    assert other.seq == 1  # the open block had not taken a place in the chain
    assert list(AuditEvent.objects.order_by("seq").values_list("subject_id", flat=True)) == [
        "2",
        "1",
    ]
    assert verify_chain().ok


def _held_chain_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND ((classid::bigint << 32) | objid::bigint) = %s",
            [_ADVISORY_LOCK_ID],
        )
        (count,) = cursor.fetchone()
    return int(count)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_blocks_each_take_consecutive_places_and_the_chain_verifies():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency of the chain is tested on PostgreSQL")
    writers, blocks, per_block = 8, 10, 3
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            barrier.wait()
            for block in range(blocks):
                with audited_atomic():
                    for n in range(per_block):
                        _event(n, {"block": f"{writer}-{block}", "n": n})
                        AuditEvent.objects.exists()  # other work between the appends
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs: dict[str, list[int]] = {}
    for seq, params in AuditEvent.objects.order_by("seq").values_list("seq", "params"):
        seqs.setdefault(params["block"], []).append(seq)
    assert len(seqs) == writers * blocks
    for places in seqs.values():
        assert places == list(range(places[0], places[0] + per_block))
    status = verify_chain()
    assert status.ok and status.events == writers * blocks * per_block, status.describe()


def _committed_elsewhere(read: Callable[[], T]) -> T:
    """What `read()` returns on a connection of its own: only what was committed."""
    result: list[T] = []

    def run() -> None:
        try:
            result.append(read())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_outermost_audited_block_commits_in_the_same_round_trip_as_its_events():
    """The COMMIT rides with audit_append, so the chain's lock is never held while the thread
    waits for the GIL to send it; Django's own COMMIT then has nothing to do."""
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement append is PostgreSQL's")
    from kyc.models import ApiClient

    committed: list[int] = []
    with CaptureQueriesContext(connection) as queries, audited_atomic():
        client = ApiClient.objects.create(name="work the events record")
        _event(1)
        transaction.on_commit(lambda: committed.append(client.pk))
    audit_statements = [q["sql"] for q in queries.captured_queries if "audit_append" in q["sql"]]
    assert len(audit_statements) == 1 and audit_statements[0].endswith("; COMMIT")
    assert committed == [client.pk]  # on-commit callbacks ran, once
    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    assert _held_chain_locks() == 0
    assert _committed_elsewhere(
        lambda: (
            ApiClient.objects.filter(pk=client.pk).exists(),
            list(AuditEvent.objects.values_list("subject_id", flat=True)),
        )
    ) == (True, ["1"])
    assert verify_chain().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_audited_block_inside_another_transaction_commits_only_with_it():
    """Committing early there would make the outer transaction's later work its own: a failure
    after the inner block must still undo the inner block's work and events."""
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement append is PostgreSQL's")
    from kyc.models import ApiClient

    def inner_block_then_a_failure() -> None:
        with audited_atomic():
            ApiClient.objects.create(name="inner work")
            _event(1)
        raise Undone

    with CaptureQueriesContext(connection) as queries, pytest.raises(Undone), transaction.atomic():
        inner_block_then_a_failure()
    audit_statements = [q["sql"] for q in queries.captured_queries if "audit_append" in q["sql"]]
    assert len(audit_statements) == 1 and not audit_statements[0].endswith("COMMIT")
    assert _committed_elsewhere(
        lambda: (ApiClient.objects.exists(), AuditEvent.objects.exists())
    ) == (False, False)
