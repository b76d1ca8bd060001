"""The audit hash chain: appending one link, and verifying the whole chain (DESIGN §8).

`hash = sha256(prev_hash + canonical JSON of the event)`. Appends are serialized: on PostgreSQL
by a transaction-scoped advisory lock, on SQLite by its IMMEDIATE transactions (settings), and
everywhere the unique `prev_hash` refuses a second link on the same parent, so concurrent writers
can never fork the chain.

The lock is held from the moment a transaction links its first event until it commits, so every
transaction that writes events waits for the one before it (issue 19, "store first"). Hence
events are linked as late as possible: inside `appending_together()` they are kept in memory and
linked and written when the block ends, all in one go; `audited_atomic()` is a transaction whose
block ends right before its COMMIT, so it holds the lock for one statement and the commit. On
PostgreSQL that one statement is `audit_append` (migration 0004): lock, head, seq, hash and
insert of the whole batch in the database, from canonical JSON Python prepared around the seq.
When `audited_atomic()` is the outermost transaction, its COMMIT goes in the same round trip:
one round trip fewer, and the lock is no longer held while the thread, on a busy worker, waits
for the GIL to send the COMMIT (every decision waits for that lock).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.utils import timezone

from kyc.audit.models import ActorType, AuditEvent

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_ID = 0x4B594341  # "KYCA": one lock for the one chain
_APPEND = (
    "SELECT event_id, event_seq, event_prev_hash, event_hash"
    " FROM audit_append(%s, %s::jsonb) ORDER BY event_seq"
)
_APPEND_AND_COMMIT = _APPEND + "; COMMIT"
#: Inside `appending_together()`: this thread's open block (`_Block`), else None.
_together = threading.local()


@dataclass(frozen=True)
class Actor:
    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(ActorType.SYSTEM, "", label)

    @classmethod
    def user(cls, user: AbstractBaseUser | AnonymousUser) -> Actor:
        return cls(ActorType.USER, str(user.pk), user.get_username())

    @classmethod
    def api_client(cls, client: Any) -> Actor:
        return cls(ActorType.API_CLIENT, str(client.public_id), client.name)


def hashed_fields(event: AuditEvent) -> dict[str, Any]:
    """The event's fields that its hash covers, as they are hashed."""
    return {
        "seq": event.seq,
        "created_at": _iso(event.created_at),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "event_type": event.event_type,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "params": event.params,
    }


def canonical_json(event: AuditEvent) -> str:
    return _canonical(hashed_fields(event))


def _canonical(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical_json(event)).encode()).hexdigest()


class _Undone:
    """Marks an event appended inside a savepoint nested in the block: Django drops the on-commit
    callbacks registered inside a savepoint it rolls back, so if this one is gone at the end of
    the block, so is the work the event records, and the event is not written."""

    def __call__(self) -> None:  # nothing to do once the transaction commits
        pass


@dataclass
class _Block:
    savepoint_depth: int
    events: list[tuple[AuditEvent, _Undone | None]] = field(default_factory=list)

    def add(self, event: AuditEvent) -> None:
        marker = None
        if any(connection.savepoint_ids[self.savepoint_depth :]):  # None: atomic(savepoint=False)
            marker = _Undone()
            transaction.on_commit(marker)
        self.events.append((event, marker))

    def kept(self) -> list[AuditEvent]:
        alive = {id(entry[1]) for entry in connection.run_on_commit}  # (savepoints, func, …)
        return [event for event, marker in self.events if marker is None or id(marker) in alive]


@contextmanager
def appending_together(*, commit_with_events: bool = False) -> Iterator[None]:
    """Link and write the block's events when it ends, all at once (one statement on PostgreSQL).

    Until then an appended event has no seq, hash or primary key: read those after the block.
    A block that raises writes none of its events; an event appended inside a savepoint that is
    rolled back while the block goes on is not written either, like the work it records.
    `commit_with_events` is `audited_atomic()`'s: see `_commits_with_events`.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("appending_together() needs the transaction the events belong to")
    if getattr(_together, "block", None) is not None:  # nested: the outer block writes them all
        yield
        return
    block = _Block(len(connection.savepoint_ids))
    _together.block = block
    try:
        yield
    finally:
        _together.block = None
    _write(block.kept(), commit=commit_with_events and _commits_with_events())


@contextmanager
def audited_atomic() -> Iterator[None]:
    """`transaction.atomic()` whose audit events are written right before its COMMIT, so the
    chain's lock is held for one statement and the commit, not for the whole transaction."""
    with transaction.atomic(), appending_together(commit_with_events=True):
        yield


def _commits_with_events() -> bool:
    """Whether the events' statement may end the transaction too (PostgreSQL only).

    Only when nothing runs between it and Django's COMMIT: the block is the outermost
    transaction (committing inside an outer one would make that one's later work its own
    transaction) and nothing in it failed (Django would roll back instead). Django's COMMIT then
    finds the transaction ended and sends nothing; its on-commit callbacks run as usual.
    """
    return (
        connection.vendor == "postgresql"
        and len(connection.atomic_blocks) == 1
        and not connection.savepoint_ids
        and not connection.needs_rollback
    )


def append(
    *, actor: Actor, event_type: str, subject_type: str, subject_id: str, params: dict[str, Any]
) -> AuditEvent:
    """Add one event at the head of the chain, inside the caller's transaction (at the end of
    the caller's `appending_together()` block, when there is one)."""
    event = AuditEvent(
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label[:150],
        event_type=event_type,
        subject_type=subject_type,
        subject_id=str(subject_id),
        params=_jsonable(params),
    )
    block: _Block | None = getattr(_together, "block", None)
    if block is not None:
        block.add(event)
    else:
        _write([event])
    return event


def _write(events: list[AuditEvent], *, commit: bool = False) -> None:
    """Link `events` at the head of the chain, in order, and insert them; with `commit`, end
    the transaction in the same round trip (PostgreSQL, `_commits_with_events`)."""
    if not events:
        return
    now = timezone.now()  # the time they join the chain
    for event in events:
        event.created_at = now
    if connection.vendor == "postgresql":
        _write_in_database(events, commit=commit)
        return
    # SQLite: its IMMEDIATE transaction serializes writers; no savepoint, the events belong to
    # the caller's transaction and fail with it.
    with transaction.atomic(savepoint=False):
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = head or (0, GENESIS_HASH)
        for event in events:
            seq += 1
            event.seq, event.prev_hash = seq, prev_hash
            event.hash = prev_hash = compute_hash(prev_hash, event)
        AuditEvent.objects.bulk_create(events)


def _client_binding_cursor() -> CursorWrapper:
    """A cursor whose parameters psycopg quotes into the SQL, as Django's is without
    `server_side_binding` (kyc/settings.py turns it on): only such a cursor may send the append
    and its COMMIT, two statements, in one execute. Wrapped as Django wraps its own, so it is
    logged and its errors are Django's."""
    from psycopg import ClientCursor  # imported here: SQLite deployments never need psycopg

    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    return wrapper(ClientCursor(connection.connection), connection)


def _write_in_database(events: list[AuditEvent], *, commit: bool) -> None:
    batch = []
    for event in events:
        before, after = canonical_json_around_seq(event)
        row = hashed_fields(event)  # the columns as hashed; the seq is the database's to give
        del row["seq"]
        batch.append({**row, "before": before, "after": after})
    with _client_binding_cursor() if commit else connection.cursor() as cursor:
        cursor.execute(
            _APPEND_AND_COMMIT if commit else _APPEND,
            [_ADVISORY_LOCK_ID, json.dumps(batch, ensure_ascii=False)],
        )
        rows = cursor.fetchall()
    for event, (pk, seq, prev_hash, event_hash) in zip(events, rows, strict=True):
        event.pk, event.seq, event.prev_hash, event.hash = pk, seq, prev_hash, event_hash
        event._state.adding = False
        event._state.db = connection.alias


def canonical_json_around_seq(event: AuditEvent) -> tuple[str, str]:
    """`canonical_json(event)` as the text before and after its seq's value, for the database to
    put the seq in once it holds the chain's lock. The keys are sorted: "seq" falls between
    "params" and "subject_id", at the top level."""
    fields = hashed_fields(event)
    del fields["seq"]
    before = _canonical({key: value for key, value in fields.items() if key < "seq"})
    after = _canonical({key: value for key, value in fields.items() if key > "seq"})
    return before[:-1] + ',"seq":', "," + after[1:]


@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"Audit chain intact: {self.events} events, head {self.head_hash[:16]}."
        return (
            f"Audit chain broken at event #{self.first_bad_seq} (id {self.first_bad_id}): "
            f"{self.problem}"
        )


def verify_chain(batch_size: int = 2000) -> ChainStatus:
    """Walk every event in order, recomputing each hash and checking each link."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        problem = ""
        if event.seq != expected_seq:
            problem = f"sequence jumps from {expected_seq - 1} to {event.seq} (an event is missing)"
        elif event.prev_hash != prev_hash:
            problem = "its prev_hash does not match the previous event's hash"
        elif compute_hash(event.prev_hash, event) != event.hash:
            problem = "its contents no longer match its hash (altered after it was written)"
        if problem:
            return ChainStatus(False, count, prev_hash, event.seq, event.pk, problem)
        prev_hash = event.hash
        expected_seq += 1
        count += 1
    return ChainStatus(True, count, prev_hash)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """Params exactly as they will read back from a JSON column."""
    result: dict[str, Any] = json.loads(json.dumps(params, default=str))
    return result
