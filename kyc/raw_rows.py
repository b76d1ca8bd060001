"""Model instances from the columns of a hand-written statement.

The worker's hottest statements (claiming an attempt or a webhook delivery, storing an attempt's
outcome with its pair's lock) are written by hand so that one round trip does what the ORM would
do in several; their rows still become ordinary model instances, exactly as the ORM builds them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import connection
from django.db.models import Model

if TYPE_CHECKING:
    from django.db.models import Field


class Read(NamedTuple):
    """The columns one model contributes to a statement, and what turning them back into an
    instance needs, worked out once per process rather than for every row."""

    model: type[Model]
    #: Its fields in `from_db` order, the primary key first.
    fields: list[Field[Any, Any]]
    attnames: list[str]
    #: Each field's `from_db_value`, None for a field that has none.
    converters: list[Callable[[Any, Any, Any], Any] | None]


def read(model: type[Model], names: tuple[str, ...] | None = None) -> Read:
    """The model's concrete fields to read (all when `names` is None), in the order
    `Model.from_db` takes them, the primary key first."""
    fields = [
        field
        for field in model._meta.concrete_fields
        if names is None or field.primary_key or field.attname in names
    ]
    return Read(
        model,
        fields,
        [field.attname for field in fields],
        [getattr(field, "from_db_value", None) for field in fields],
    )


def select_list(reads: Sequence[tuple[str, Read]]) -> str:
    """`alias.column, …` for every field of every (table alias, read), in order."""
    q = connection.ops.quote_name
    return ", ".join(f"{alias}.{q(field.column)}" for alias, read in reads for field in read.fields)


def instances(reads: Sequence[Read], row: Sequence[Any]) -> list[Any]:
    """One instance per read, from consecutive stretches of `row`."""
    built, start, alias = [], 0, connection.alias
    for model, fields, attnames, converters in reads:
        stretch = row[start : start + len(fields)]
        values = [
            value if convert is None or value is None else convert(value, None, connection)
            for convert, value in zip(converters, stretch, strict=True)
        ]
        built.append(model.from_db(alias, attnames, values))
        start += len(fields)
    return built
