"""Inserting a row that a unique constraint may already hold, in one statement."""

from __future__ import annotations

from django.db.models import Model
from django.db.models.constants import OnConflict


def insert_unless_present(instance: Model) -> bool:
    """INSERT … ON CONFLICT DO NOTHING (INSERT OR IGNORE on SQLite) RETURNING its key.

    True, with the instance saved, when the row went in; False when a unique constraint already
    held one like it. One statement where `get_or_create` takes four inside a transaction (read,
    savepoint, insert, release) on the paths that run once per pair. Django's own
    bulk_create(ignore_conflicts=True) returns no keys, hence its insert primitive.
    """
    model = type(instance)
    meta = model._meta
    (inserted,) = model._default_manager._insert(  # type: ignore[attr-defined]
        [instance],
        fields=[field for field in meta.concrete_fields if not field.primary_key],
        returning_fields=[meta.pk],
        on_conflict=OnConflict.IGNORE,
    ) or [None]
    if not inserted:
        return False
    instance.pk = inserted[0]
    instance._state.adding = False
    instance._state.db = model._default_manager.db
    return True
