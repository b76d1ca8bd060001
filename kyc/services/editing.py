"""Editing one row the way every audited "change" service does: refuse fields that are not
editable, lock the row, apply the changes, validate, and say what changed.

The caller saves and writes its own `<thing>.changed` audit event when `before != after`, in the
same transaction (DESIGN §8, §11.4).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model

M = TypeVar("M", bound=Model)


def _full_clean(row: Model, before: dict[str, Any]) -> None:
    row.full_clean()


def edit_locked(
    model: type[M],
    pk: Any,
    changes: Mapping[str, Any],
    *,
    editable: Collection[str],
    snapshot: Callable[[M], dict[str, Any]],
    validate: Callable[[M, dict[str, Any]], None] = _full_clean,
    not_editable: str = "Not editable here: {}.",
) -> tuple[M, dict[str, Any], dict[str, Any]]:
    """The locked row with `changes` applied and validated, and its snapshots before and after.

    Raises ValidationError (and changes nothing) for a field outside `editable` or a value that
    does not validate. `validate` gets the row and the snapshot from before the changes.
    """
    unknown = sorted(set(changes) - set(editable))
    if unknown:
        raise ValidationError(not_editable.format(", ".join(unknown)))
    row = model._default_manager.select_for_update(no_key=True).get(pk=pk)
    before = snapshot(row)
    for name, value in changes.items():
        setattr(row, name, value)
    validate(row, before)
    return row, before, snapshot(row)
