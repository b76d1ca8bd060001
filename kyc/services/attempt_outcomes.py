"""Storing a comparison attempt's outcome (DESIGN §5 step 3): one statement on PostgreSQL.

A vendor's answer is stored first, on its own (`store_answer`): one conditional UPDATE committed
at once, which waits for no other row's lock. Settling it (`store`) comes after, in the
transaction that decides the pair.

A conditional UPDATE writes the outcome only while this worker still holds the attempt's claim,
identified by its start time: a worker whose attempt ran past its deadline and was claimed by
another cannot record over the new claim. The UPDATE also row-locks the attempt until the
transaction ends. An outcome that changes the pair needs the pair's row locked and read in
full, with its client and applicant (`ImagePair.objects.lock_for_change`); on PostgreSQL that
is the same statement, a data-modifying CTE, so the recording transaction spends one round trip
fewer holding its connection and locks. Elsewhere (SQLite) it is the same two steps one by one.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from django.db import connection
from django.db.models import QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from kyc import raw_rows
from kyc.models import ApiClient, Applicant, AttemptStatus, ComparisonAttempt, ImagePair


def store_answer(attempt: ComparisonAttempt, answer: dict[str, Any]) -> bool:
    """Write the vendor's `answer` and `answered_at` (the database's clock) to the attempt if
    this worker still holds its claim; False, and nothing written, if it does not. The attempt
    stays running until `store` settles it. Called outside any transaction, the UPDATE commits
    as it returns: that is the point."""
    stored = bool(_held(attempt).update(**answer, answered_at=Now()))
    for name, value in answer.items():
        setattr(attempt, name, value)
    return stored


def store(attempt: ComparisonAttempt, fields: dict[str, Any], *, lock_pair: bool) -> bool:
    """Write `fields` (and `finished_at`) to the attempt if this worker still holds its claim;
    False, and nothing written, if it does not. With `lock_pair`, the stored attempt's `pair` is
    its pair's row, locked until the transaction ends."""
    fields = {**fields, "finished_at": timezone.now()}
    claim = _held(attempt)
    if lock_pair and connection.vendor == "postgresql":
        pair = _store_and_lock_in_one_statement(claim, fields)
        stored = pair is not None
    else:
        stored = bool(claim.update(**fields))
        pair = ImagePair.objects.lock_for_change(attempt.pair_id) if stored and lock_pair else None
    for name, value in fields.items():
        setattr(attempt, name, value)
    if pair is not None:
        attempt.pair = pair
    return stored


def _held(attempt: ComparisonAttempt) -> QuerySet[ComparisonAttempt]:
    """The attempt while this worker's claim holds: running, since the start this worker gave it
    (a worker whose attempt ran past its deadline and was claimed again no longer holds it)."""
    return ComparisonAttempt.objects.filter(
        pk=attempt.pk, status=AttemptStatus.RUNNING, started_at=attempt.started_at
    )


@functools.cache
def _locked_pair_sql() -> tuple[str, list[raw_rows.Read]]:
    """What follows the UPDATE: the stored attempt's pair, client and applicant, the pair's row
    locked as `lock_for_change` locks it (FOR NO KEY UPDATE, the pair's row only)."""
    q = connection.ops.quote_name
    reads = [
        ("p", raw_rows.read(ImagePair)),
        ("cl", raw_rows.read(ApiClient)),
        ("ap", raw_rows.read(Applicant)),
    ]
    # Only table and column names from the models are formatted in; values are parameters.
    sql = f"""
        SELECT {raw_rows.select_list(reads)}
        FROM {q(ImagePair._meta.db_table)} AS p
        JOIN stored ON stored.pair_id = p.id
        JOIN {q(ApiClient._meta.db_table)} AS cl ON cl.id = p.client_id
        JOIN {q(Applicant._meta.db_table)} AS ap ON ap.id = p.applicant_id
        FOR NO KEY UPDATE OF p
    """  # noqa: S608
    return sql, [read for _, read in reads]


def _store_and_lock_in_one_statement(
    claim: QuerySet[ComparisonAttempt], fields: dict[str, Any]
) -> ImagePair | None:
    update_sql, params = raw_rows.update_sql(claim, fields)
    select_sql, reads = _locked_pair_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"WITH stored AS ({update_sql} RETURNING pair_id) {select_sql}", params)
        row = cursor.fetchone()
    if row is None:  # the claim is no longer ours: nothing was written
        return None
    pair, client, applicant = raw_rows.instances(reads, row)
    ImagePair._meta.get_field("client").set_cached_value(pair, client)
    ImagePair._meta.get_field("applicant").set_cached_value(pair, applicant)
    return cast(ImagePair, pair)
