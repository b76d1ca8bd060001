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
from django.db.models import Field
from django.db.models.functions import Now
from django.utils import timezone

from kyc import raw_rows
from kyc.models import ApiClient, Applicant, AttemptStatus, ComparisonAttempt, ImagePair


def store_answer(attempt: ComparisonAttempt, answer: dict[str, Any]) -> bool:
    """Write the vendor's `answer` and `answered_at` (the database's clock) to the attempt if
    this worker still holds its claim; False, and nothing written, if it does not. The attempt
    stays running until `store` settles it. Called outside any transaction, the UPDATE commits
    as it returns: that is the point."""
    stored = _wrote_a_row(*_held_update(attempt, answer, now_column="answered_at"))
    for name, value in answer.items():
        setattr(attempt, name, value)
    return stored


def store(attempt: ComparisonAttempt, fields: dict[str, Any], *, lock_pair: bool) -> bool:
    """Write `fields` (and `finished_at`) to the attempt if this worker still holds its claim;
    False, and nothing written, if it does not. With `lock_pair`, the stored attempt's `pair` is
    its pair's row, locked until the transaction ends."""
    fields = {**fields, "finished_at": timezone.now()}
    update_sql, params = _held_update(attempt, fields)
    if lock_pair and connection.vendor == "postgresql":
        pair = _store_and_lock_in_one_statement(update_sql, params)
        stored = pair is not None
    else:
        stored = _wrote_a_row(update_sql, params)
        pair = ImagePair.objects.lock_for_change(attempt.pair_id) if stored and lock_pair else None
    for name, value in fields.items():
        setattr(attempt, name, value)
    if pair is not None:
        attempt.pair = pair
    return stored


def _held_update(
    attempt: ComparisonAttempt, values: dict[str, Any], *, now_column: str = ""
) -> tuple[str, list[Any]]:
    """The UPDATE that writes `values` (and the database's clock to `now_column`) to the
    attempt while this worker's claim holds: running, since the start this worker gave it (a
    worker whose attempt ran past its deadline and was claimed again no longer holds it).
    Values are prepared for the database as `QuerySet.update` prepares them."""
    params = [
        *(_field(name).get_db_prep_save(value, connection) for name, value in values.items()),
        attempt.pk,
        AttemptStatus.RUNNING.value,
    ]
    started = attempt.started_at is not None
    if started:
        params.append(_field("started_at").get_db_prep_value(attempt.started_at, connection))
    return _held_update_sql(tuple(values), now_column, started), params


@functools.cache
def _held_update_sql(names: tuple[str, ...], now_column: str, started: bool) -> str:
    """`_held_update`'s statement, built once per process for each set of columns: compiling it
    with the ORM at every attempt cost more CPU than running it (bench/attempt_cost.py)."""
    q = connection.ops.quote_name

    def column(name: str) -> str:
        return q(_field(name).column)

    assignments = [f"{column(name)} = %s" for name in names]
    if now_column:
        compiler = ComparisonAttempt.objects.all().query.get_compiler(connection=connection)
        now_sql, _ = compiler.compile(Now())  # the database's own clock, as this backend reads it
        assignments.append(f"{column(now_column)} = {now_sql}")
    # Only table and column names from the model are formatted in; values are parameters.
    return (
        f"UPDATE {q(ComparisonAttempt._meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608
        f"WHERE {column('id')} = %s AND {column('status')} = %s "
        f"AND {column('started_at')} {'= %s' if started else 'IS NULL'}"
    )


def _wrote_a_row(sql: str, params: list[Any]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount > 0


def _field(name: str) -> Field[Any, Any]:
    return cast("Field[Any, Any]", ComparisonAttempt._meta.get_field(name))


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


def _store_and_lock_in_one_statement(update_sql: str, params: list[Any]) -> ImagePair | None:
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
