"""Model instances from the columns of a hand-written statement.

The worker's hottest statements (claiming an attempt or a webhook delivery, storing an attempt's
outcome with its pair's lock) are written by hand so that one round trip does what the ORM would
do in several; their rows still become ordinary model instances, exactly as the ORM builds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from django.db import connection
from django.db.models import Model

if TYPE_CHECKING:
    from django.db.models import Field

#: The columns one model contributes to a statement: (model, its fields in `from_db` order).
Read: TypeAlias = "tuple[type[Model], list[Field[Any, Any]]]"


def read(model: type[Model], names: tuple[str, ...] | None = None) -> Read:
    """The model's concrete fields to read (all when `names` is None), in the order
    `Model.from_db` takes them, the primary key first."""
    fields = [
        field
        for field in model._meta.concrete_fields
        if names is None or field.primary_key or field.attname in names
    ]
    return model, fields


def select_list(reads: Sequence[tuple[str, Read]]) -> str:
    """`alias.column, …` for every field of every (table alias, read), in order."""
    q = connection.ops.quote_name
    return ", ".join(
        f"{alias}.{q(field.column)}" for alias, (_, fields) in reads for field in fields
    )


def instances(reads: Sequence[Read], row: Sequence[Any]) -> list[Any]:
    """One instance per read, from consecutive stretches of `row`."""
    built, start = [], 0
    for model, fields in reads:
        values = [
            field.from_db_value(value, None, connection)
            if value is not None and hasattr(field, "from_db_value")
            else value
            for field, value in zip(fields, row[start : start + len(fields)], strict=True)
        ]
        built.append(model.from_db(connection.alias, [field.attname for field in fields], values))
        start += len(fields)
    return built
