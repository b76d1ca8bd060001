"""Inserting a row that a unique constraint may already hold, in one statement."""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection
from django.db.models import Field, Model
from django.db.models.constants import OnConflict


def insert_unless_present(instance: Model) -> bool:
    """INSERT … ON CONFLICT DO NOTHING (INSERT OR IGNORE on SQLite) RETURNING its key.

    True, with the instance saved, when the row went in; False when a unique constraint already
    held one like it. One statement where `get_or_create` takes four inside a transaction (read,
    savepoint, insert, release) on the paths that run once per pair. Django's own
    bulk_create(ignore_conflicts=True) returns no keys. Values are prepared as the ORM's insert
    prepares them (each field's `pre_save`, so `auto_now_add` takes the time); the statement is
    built once per model, not compiled again for every row (bench/attempt_cost.py).
    """
    model = type(instance)
    sql, fields = _insert(model)
    params = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchone()
    if inserted is None:
        return False
    instance.pk = inserted[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return True


@functools.cache
def _insert(model: type[Model]) -> tuple[str, list[Field[Any, Any]]]:
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    ops = connection.ops
    returning, _ = ops.return_insert_columns([meta.pk])
    # Only table and column names from the model are formatted in; values are parameters.
    sql = " ".join(
        part
        for part in (
            ops.insert_statement(on_conflict=OnConflict.IGNORE),
            ops.quote_name(meta.db_table),
            f"({', '.join(ops.quote_name(field.column) for field in fields)})",
            f"VALUES ({', '.join(['%s'] * len(fields))})",
            ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None),
            returning,
        )
        if part
    )
    return sql, fields
