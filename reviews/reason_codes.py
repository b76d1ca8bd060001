"""Reason codes as admins manage them: created and changed with an audit event.

A code's outcome and slug name it in decisions and in the audit trail, so they never change
after creation; retire a code by making it inactive (decisions keep pointing at it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from kyc.audit.chain import Actor
from reviews import events
from reviews.models import ReasonCode

EDITABLE_FIELDS = ("label", "position", "is_active")


def _values(reason_code: ReasonCode) -> dict[str, Any]:
    return {name: getattr(reason_code, name) for name in EDITABLE_FIELDS}


@transaction.atomic
def create_reason_code(reason_code: ReasonCode, actor: Actor) -> ReasonCode:
    """Save a new (unsaved) reason code."""
    reason_code.full_clean()
    reason_code.save()
    events.reason_code_created(reason_code, actor)
    return reason_code


@transaction.atomic
def update_reason_code(
    reason_code: ReasonCode, changes: Mapping[str, Any], actor: Actor
) -> ReasonCode:
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(unknown)} (create a new code instead).")
    locked = ReasonCode.objects.select_for_update(no_key=True).get(pk=reason_code.pk)
    before = _values(locked)
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.full_clean()
    after = _values(locked)
    if after != before:
        locked.save(update_fields=list(EDITABLE_FIELDS))
        events.reason_code_changed(locked, actor, before=before, after=after)
    for name in EDITABLE_FIELDS:
        setattr(reason_code, name, getattr(locked, name))
    return reason_code
