"""The audit hash chain: appending one link, and verifying the whole chain (DESIGN §8).

`hash = sha256(prev_hash + canonical JSON of the event)`. Appends are serialized: on PostgreSQL
by a transaction-scoped advisory lock, on SQLite by its IMMEDIATE transactions (settings), and
everywhere the unique `prev_hash` refuses a second link on the same parent, so concurrent writers
can never fork the chain.

On PostgreSQL the lock and the head are one round trip (`audit_chain_head`, migration 0003).
Several events appended in one transaction (a comparison recorded and the pair decided) take
the lock and read the head once inside `appending_together()`: the lock is held until the
transaction ends, so the head they leave is the head the next one needs.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from kyc.audit.models import ActorType, AuditEvent

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_ID = 0x4B594341  # "KYCA": one lock for the one chain
#: Inside `appending_together()`: the head this thread's transaction left, once it has one.
_together = threading.local()
_NO_HEAD_YET: tuple[int, str] = (-1, "")


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
    return json.dumps(
        hashed_fields(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical_json(event)).encode()).hexdigest()


@contextmanager
def appending_together() -> Iterator[None]:
    """Append the block's events with one lock and one read of the head.

    For events written together in the caller's transaction: none of them may be rolled back to
    a savepoint while the others stay (the next would link to an event that is gone), so keep
    the block free of nested atomic blocks that write events and swallow their errors.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("appending_together() needs the transaction the events belong to")
    if getattr(_together, "head", None) is not None:  # nested: the outer block keeps the head
        yield
        return
    _together.head = _NO_HEAD_YET
    try:
        yield
    finally:
        _together.head = None


def append(
    *, actor: Actor, event_type: str, subject_type: str, subject_id: str, params: dict[str, Any]
) -> AuditEvent:
    """Add one event at the head of the chain, inside the caller's transaction."""
    # No savepoint: the event belongs to the caller's transaction and fails with it.
    with transaction.atomic(savepoint=False):
        together: tuple[int, str] | None = getattr(_together, "head", None)
        if together is None or together == _NO_HEAD_YET:
            seq, prev_hash = _locked_head()
        else:
            seq, prev_hash = together
        event = AuditEvent(
            seq=seq + 1,
            created_at=timezone.now(),
            actor_type=actor.type,
            actor_id=actor.id,
            actor_label=actor.label[:150],
            event_type=event_type,
            subject_type=subject_type,
            subject_id=str(subject_id),
            params=_jsonable(params),
            prev_hash=prev_hash,
        )
        event.hash = compute_hash(event.prev_hash, event)
        event.save()
        if together is not None:
            _together.head = (event.seq, event.hash)
    return event


def _locked_head() -> tuple[int, str]:
    """(seq, hash) of the chain's head, with the right to extend it until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT head_seq, head_hash FROM audit_chain_head(%s)", [_ADVISORY_LOCK_ID]
            )
            seq, head_hash = cursor.fetchone()
        return (seq, head_hash) if seq is not None else (0, GENESIS_HASH)
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return head or (0, GENESIS_HASH)


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
